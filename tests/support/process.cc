#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace sheetsync::test {
namespace {

// Returns the test's environment with `extra` added or replacing entries.
std::vector<std::string> MergedEnvironment(const EnvVars& extra) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string kv = *entry;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [key, value] : extra) vars[key] = value;
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [key, value] : vars)
    out.push_back(absl::StrCat(key, "=", value));
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(err)));
}

// Owns posix_spawn's file actions (stdio redirection).
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;

  absl::Status Redirect(const std::string& log_file) {
    int rc = posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO,
                                              "/dev/null", O_RDONLY, 0);
    if (rc == 0 && !log_file.empty()) {
      rc = posix_spawn_file_actions_addopen(
          &actions_, STDOUT_FILENO, log_file.c_str(),
          O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (rc == 0) {
        rc = posix_spawn_file_actions_adddup2(&actions_, STDOUT_FILENO,
                                              STDERR_FILENO);
      }
    }
    // Keeps the test's other descriptors (listening sockets, MySQL
    // connections) out of the child.
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    return rc == 0 ? absl::OkStatus() : ErrnoStatus(rc, "posix_spawn actions");
  }
  const posix_spawn_file_actions_t* get() const { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

bool ExitStatus::Exited() const { return WIFEXITED(raw); }
int ExitStatus::ExitCode() const { return WEXITSTATUS(raw); }
bool ExitStatus::Signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::Signal() const { return WTERMSIG(raw); }

std::string ExitStatus::ToString() const {
  if (Exited()) return absl::StrCat("exit code ", ExitCode());
  if (Signaled()) {
    const char* name = sigabbrev_np(Signal());
    return absl::StrCat("killed by signal ", name ? absl::StrCat("SIG", name)
                                                  : absl::StrCat(Signal()));
  }
  return absl::StrCat("wait status ", raw);
}

ChildProcess::~ChildProcess() {
  if (Running()) Terminate().IgnoreError();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept {
  *this = std::move(other);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (Running()) Terminate().IgnoreError();
    pid_ = std::exchange(other.pid_, -1);
    last_exit_ = other.last_exit_;
    has_exited_ = other.has_exited_;
    path_ = std::move(other.path_);
    log_file_ = std::move(other.log_file_);
  }
  return *this;
}

absl::Status ChildProcess::Start(const std::string& path,
                                 const std::vector<std::string>& args,
                                 const EnvVars& env,
                                 const std::string& log_file) {
  if (Running()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " (pid ", pid_, ") is still running"));
  }
  FileActions actions;
  if (absl::Status s = actions.Redirect(log_file); !s.ok()) return s;
  std::vector<std::string> argv_strings = {path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  pid_t pid = -1;
  const bool search_path = path.find('/') == std::string::npos;
  // glibc reports a failed exec as posix_spawn's return value.
  const int rc = search_path ? posix_spawnp(&pid, path.c_str(), actions.get(),
                                            nullptr, argv.data(), envp.data())
                             : posix_spawn(&pid, path.c_str(), actions.get(),
                                           nullptr, argv.data(), envp.data());
  if (rc != 0) return ErrnoStatus(rc, absl::StrCat("cannot start ", path));
  pid_ = pid;
  has_exited_ = false;
  path_ = path;
  log_file_ = log_file;
  return absl::OkStatus();
}

absl::Status ChildProcess::Kill(int signal) {
  if (!Running()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " is not running"));
  }
  // The child is unreaped, so pid_ cannot have been recycled yet.
  if (kill(pid_, signal) != 0) return ErrnoStatus(errno, "kill");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ExitStatus>> ChildProcess::Poll() {
  if (!Running()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_.empty() ? "child" : path_, " is not running"));
  }
  int raw = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &raw, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ErrnoStatus(errno, absl::StrCat("waitpid ", pid_));
  if (r == 0) return std::nullopt;
  last_exit_.raw = raw;
  has_exited_ = true;
  pid_ = -1;
  return last_exit_;
}

absl::StatusOr<ExitStatus> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    absl::StatusOr<std::optional<ExitStatus>> exited = Poll();
    if (!exited.ok()) return exited.status();
    if (exited->has_value()) return **exited;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(path_, " (pid ", pid_, ") still running after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(std::min(pause, left));
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

absl::StatusOr<ExitStatus> ChildProcess::Terminate(absl::Duration timeout) {
  if (!Running()) {
    if (has_exited_) return last_exit_;
    return absl::FailedPreconditionError("no child was started");
  }
  if (absl::Status s = Kill(SIGTERM); !s.ok()) return s;
  absl::StatusOr<ExitStatus> exit = Wait(timeout);
  if (exit.ok() || !absl::IsDeadlineExceeded(exit.status())) return exit;
  if (absl::Status s = Kill(SIGKILL); !s.ok()) return s;
  return Wait(absl::Seconds(30));
}

absl::StatusOr<std::string> MakeTempDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/sheetsync-",
                   name, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", pattern, ": ", strerror(errno)));
  }
  return pattern;
}

}  // namespace sheetsync::test
