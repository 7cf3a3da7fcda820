#include "services/common/process.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sheetsync {
namespace {

// Set once in InitProcess before any thread starts; read-only afterwards.
char g_service[64] = "sheetsync";

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Log(absl::string_view level, absl::string_view message, LogFields fields) {
  std::string line = "{\"time\":";
  AppendJsonString(line, absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(),
                                          absl::UTCTimeZone()));
  absl::StrAppend(&line, ",\"level\":\"", level, "\",\"service\":");
  AppendJsonString(line, g_service);
  line += ",\"message\":";
  AppendJsonString(line, message);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  line += "}\n";
  // One write(2) per line keeps lines whole across threads.
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

void ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string variable =
        absl::StrCat("SHEETSYNC_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      DieOnBadConfig(absl::StrCat("bad value in ", variable, ": ", error));
    }
  }
}

}  // namespace

void InitProcess(absl::string_view service, int argc, char** argv) {
  absl::SNPrintF(g_service, sizeof(g_service), "%s", service);
  // glibc gives every thread that allocates an arena of its own (up to 8 per
  // core), and each keeps what was freed in it: with gRPC's thread pools the
  // writer's RSS under the batch-50 benchmark was ~58 MiB, with 2 arenas ~31
  // MiB, and no slower on these 2 cores.
  mallopt(M_ARENA_MAX, 2);
  // Debian builds Abseil with its debug deadlock detector on, and gRPC's own
  // locks are absl::Mutex: every lock then updated a lock-order graph (a few
  // percent of each service's CPU). Sanitizer and test builds keep it.
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  ApplyEnvironment();
  absl::ParseCommandLine(argc, argv);
}

std::string WaitForTermination() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
  return received == SIGTERM ? "SIGTERM" : "SIGINT";
}

void DieOnBadConfig(absl::string_view message) {
  LogError(absl::StrCat("bad configuration: ", message));
  std::exit(2);
}

void LogInfo(absl::string_view message, LogFields fields) {
  Log("info", message, fields);
}
void LogWarning(absl::string_view message, LogFields fields) {
  Log("warning", message, fields);
}
void LogError(absl::string_view message, LogFields fields) {
  Log("error", message, fields);
}

}  // namespace sheetsync
