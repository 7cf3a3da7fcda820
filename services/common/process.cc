#include "services/common/process.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
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

// Appends "2026-11-26T08:30:01.123456Z" for now. The part up to the second
// is formatted once a second per thread: formatting is most of a line's cost.
void AppendNow(std::string& out) {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached_prefix;
  const int64_t micros = absl::ToUnixMicros(absl::Now());
  const int64_t second = micros / 1000000;
  if (second != cached_second) {
    cached_prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                                     absl::UTCTimeZone());
    cached_second = second;
  }
  char fraction[10];
  snprintf(fraction, sizeof(fraction), ".%06dZ", static_cast<int>(micros % 1000000));
  absl::StrAppend(&out, "\"", cached_prefix, fraction, "\"");
}

void WriteAll(absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stderr is gone: nothing better to do
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// The access lines not yet written, and the thread that writes them.
class AccessLog {
 public:
  static AccessLog& Get() {
    static AccessLog* const log = new AccessLog;  // never destroyed: see atexit
    return *log;
  }

  void Gather(const std::string& line) {
    absl::MutexLock lock(&mu_);
    pending_ += line;
    if (!flusher_started_) {
      flusher_started_ = true;
      std::atexit([] { Get().Flush(); });
      std::thread([this] {
        for (;;) {
          absl::SleepFor(absl::Milliseconds(kAccessLogDelayMs));
          Flush();
        }
      }).detach();
    }
    if (pending_.size() >= kFullBytes) WriteLocked();
  }

  // Writes what is gathered, then `line`, in order.
  void WriteAfterPending(const std::string& line) {
    absl::MutexLock lock(&mu_);
    pending_ += line;
    WriteLocked();
  }

  void Flush() {
    absl::MutexLock lock(&mu_);
    WriteLocked();
  }

 private:
  static constexpr size_t kFullBytes = 32 << 10;

  // Written under the lock, so that lines keep their order.
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pending_.empty()) return;
    WriteAll(pending_);
    pending_.clear();
  }

  absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool flusher_started_ ABSL_GUARDED_BY(mu_) = false;
};

void Log(absl::string_view level, absl::string_view message, LogFields fields,
         bool access = false) {
  std::string line = "{\"time\":";
  AppendNow(line);
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
  // Whole lines go to one write(2), so they stay whole across threads.
  if (access) {
    AccessLog::Get().Gather(line);
  } else {
    AccessLog::Get().WriteAfterPending(line);
  }
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
void LogAccess(absl::string_view message, LogFields fields) {
  Log("info", message, fields, /*access=*/true);
}
void FlushLogs() { AccessLog::Get().Flush(); }
void LogWarning(absl::string_view message, LogFields fields) {
  Log("warning", message, fields);
}
void LogError(absl::string_view message, LogFields fields) {
  Log("error", message, fields);
}

}  // namespace sheetsync
