// ChildProcess: one child process started with posix_spawn, for tests that run
// real binaries (MariaDB clients, the sheetsync services, /bin/sleep).
//
// A ChildProcess only ever signals the PID it spawned, and only until it has
// reaped it (so a recycled PID is never hit). It is not thread-safe: use one
// from one thread at a time.
#ifndef SHEETSYNC_TESTS_SUPPORT_PROCESS_H_
#define SHEETSYNC_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sheetsync::test {

// How a child ended, decoded from a waitpid() status.
struct ExitStatus {
  int raw = 0;  // as returned by waitpid()

  bool Exited() const;    // returned from main / called exit()
  int ExitCode() const;   // valid when Exited()
  bool Signaled() const;  // killed by a signal
  int Signal() const;     // valid when Signaled()
  // Returns "exit code N" or "killed by signal NAME".
  std::string ToString() const;
};

// Environment variables added to (or replacing those of) the test's own.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  ChildProcess() = default;
  // Stops the child if it still runs (Terminate with a 10 s grace period).
  ~ChildProcess();

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts `path` (searched in PATH when it has no '/') with `args`
  // (argv[1..]), the test's environment plus `env`, stdin from /dev/null and
  // stdout+stderr appended to `log_file` (inherited from the test when empty).
  // Fails with FailedPrecondition if a child started before is still running.
  absl::Status Start(const std::string& path,
                     const std::vector<std::string>& args,
                     const EnvVars& env = {}, const std::string& log_file = "");

  // Returns the PID of the running child, or -1 once it has been reaped.
  pid_t Pid() const { return pid_; }
  // Returns true when a child was started and has not been reaped yet.
  bool Running() const { return pid_ > 0; }

  // Reaps the child if it has exited and returns how it ended; nullopt while
  // it still runs. FailedPrecondition if there is no child.
  absl::StatusOr<std::optional<ExitStatus>> Poll();

  // Sends `signal` to the child. FailedPrecondition if it has been reaped.
  absl::Status Kill(int signal);

  // Waits up to `timeout` for the child to exit and reaps it.
  // DeadlineExceeded if it is still running then; FailedPrecondition if there
  // is no child (never started, or reaped before: see last_exit()).
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout);

  // Sends SIGTERM, waits up to `timeout`, then SIGKILLs and waits. Returns the
  // exit status; when there is no running child, the last one (if any).
  absl::StatusOr<ExitStatus> Terminate(
      absl::Duration timeout = absl::Seconds(10));

  // Returns the exit status of the last child reaped (raw 0 before any).
  const ExitStatus& last_exit() const { return last_exit_; }
  const std::string& path() const { return path_; }
  const std::string& log_file() const { return log_file_; }

 private:
  pid_t pid_ = -1;
  ExitStatus last_exit_;
  bool has_exited_ = false;
  std::string path_;
  std::string log_file_;
};

// Makes a fresh directory $TMPDIR/sheetsync-<name>-XXXXXX (or under /tmp)
// and returns its path. The caller removes it.
absl::StatusOr<std::string> MakeTempDir(const std::string& name);

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_PROCESS_H_
