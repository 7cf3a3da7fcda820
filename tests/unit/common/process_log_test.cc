// The JSON-lines log: line shape, and access lines gathered without losing
// their order against the lines written at once.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/process.h"

namespace sheetsync {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Sends stderr to a file for the test's life.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FlushLogs();  // what earlier tests gathered goes to the real stderr
    path_ = ::testing::TempDir() + "/process_log_test." + std::to_string(getpid());
    const int fd = open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    saved_ = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  void TearDown() override {
    FlushLogs();
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    std::remove(path_.c_str());
  }
  std::string Written() const {
    std::ifstream in(path_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  std::string path_;
  int saved_ = -1;
};

TEST_F(LogTest, LineIsOneJsonObjectWithMicrosecondUtcTime) {
  LogWarning("disk \"slow\"", {{"ms", "12"}});
  // gtest's POSIX extended regex (std::regex trips GCC 12's warnings under ASan).
  EXPECT_THAT(Written(),
              MatchesRegex("\\{\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                           "\\.[0-9]{6}Z\",\"level\":\"warning\",\"service\":\"[^\"]*\","
                           "\"message\":\"disk \\\\\"slow\\\\\"\",\"ms\":\"12\"\\}\n"));
}

TEST_F(LogTest, TimeIsNow) {
  const absl::Time before = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  LogError("now");
  const absl::Time after = absl::Now();
  const std::string line = Written();
  absl::Time logged;
  std::string error;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", line.substr(9, 27), &logged, &error))
      << line << ": " << error;
  EXPECT_GE(logged, before);
  EXPECT_LE(logged, after);
}

TEST_F(LogTest, AccessLinesComeBeforeALaterWarning) {
  LogAccess("rpc", {{"n", "1"}});
  LogAccess("rpc", {{"n", "2"}});
  LogWarning("after");
  const std::string written = Written();
  const size_t one = written.find("\"n\":\"1\"");
  const size_t two = written.find("\"n\":\"2\"");
  const size_t warning = written.find("\"message\":\"after\"");
  ASSERT_NE(one, std::string::npos) << written;
  ASSERT_NE(two, std::string::npos) << written;
  ASSERT_NE(warning, std::string::npos) << written;
  EXPECT_LT(one, two);
  EXPECT_LT(two, warning);
}

TEST_F(LogTest, AccessLinesAreWrittenWithoutAFlush) {
  LogAccess("rpc", {{"alone", "yes"}});
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Written().find("\"alone\":\"yes\"") == std::string::npos && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_THAT(Written(), HasSubstr("\"message\":\"rpc\",\"alone\":\"yes\""));
}

TEST_F(LogTest, ManyAccessLinesStayWholeAndInOrder) {
  constexpr int kLines = 5000;  // well past one gathered buffer
  for (int i = 0; i < kLines; ++i) LogAccess("rpc", {{"i", std::to_string(i)}});
  FlushLogs();
  std::ifstream in(path_);
  std::string line;
  int expected = 0;
  while (std::getline(in, line)) {
    ASSERT_THAT(line, HasSubstr(",\"i\":\"" + std::to_string(expected) + "\"}")) << line;
    ++expected;
  }
  EXPECT_EQ(expected, kLines);
}

}  // namespace
}  // namespace sheetsync
