// Process-level wiring shared by every binary's main(): flags that also read
// SHEETSYNC_* environment variables, JSON-lines logging, termination signals.
// Call InitProcess() first thing in main(), before any thread starts.
#ifndef SHEETSYNC_SERVICES_COMMON_PROCESS_H_
#define SHEETSYNC_SERVICES_COMMON_PROCESS_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace sheetsync {

// Sets every flag from the environment variable SHEETSYNC_<FLAG_NAME> (upper
// case) when present, then parses the command line (which wins). Blocks
// SIGTERM and SIGINT in every thread so that WaitForTermination() receives
// them. Exits with a clear message on a bad flag or variable.
void InitProcess(absl::string_view service, int argc, char** argv);

// Blocks until SIGTERM or SIGINT arrives; returns the signal's name.
std::string WaitForTermination();

// Exits the process with status 2 after logging `message` (bad
// configuration at start-up).
[[noreturn]] void DieOnBadConfig(absl::string_view message);

using LogFields = std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

// Writes one JSON object per line to stderr: time, level, service, message
// and the given fields. Thread-safe.
void LogInfo(absl::string_view message, LogFields fields = {});
void LogWarning(absl::string_view message, LogFields fields = {});
void LogError(absl::string_view message, LogFields fields = {});

// Like LogInfo, for the lines written per request (one per served call):
// they are gathered and written together, at most kAccessLogDelayMs later, so
// that a busy process does not pay a write(2) per request. A warning, an
// error or FlushLogs() writes what is gathered first, so the order of lines
// holds; FlushLogs() also runs at exit().
void LogAccess(absl::string_view message, LogFields fields = {});
inline constexpr int kAccessLogDelayMs = 100;
void FlushLogs();

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_PROCESS_H_
