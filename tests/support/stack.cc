#include "tests/support/stack.h"

#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/status_macros.h"
#include "tests/support/http_client.h"

#ifndef SHEETSYNC_BUILD_DIR
#error "SHEETSYNC_BUILD_DIR must name the CMake build directory"
#endif

namespace sheetsync::test {
namespace {

constexpr char kHost[] = "127.0.0.1";
constexpr Tier kTiers[] = {Tier::kWriter, Tier::kResolver, Tier::kIngest,
                           Tier::kGateway};

std::string RelativeBinaryPath(Tier tier) {
  switch (tier) {
    case Tier::kWriter:
      return "services/writer/sheetsync-writer";
    case Tier::kResolver:
      return "services/resolver/sheetsync-resolver";
    case Tier::kIngest:
      return "services/ingest/sheetsync-ingest";
    case Tier::kGateway:
      return "gateway/sheetsync-gateway";
  }
  return "";
}

std::string BuildDir(const StackOptions& options) {
  if (!options.build_dir.empty()) return options.build_dir;
  const char* env = std::getenv("SHEETSYNC_BUILD_DIR");
  if (env != nullptr && *env != '\0') return env;
  return SHEETSYNC_BUILD_DIR;
}

absl::Status CheckGrpcServing(::grpc::health::v1::Health::Stub& stub) {
  ::grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  context.set_wait_for_ready(true);
  ::grpc::health::v1::HealthCheckRequest request;
  ::grpc::health::v1::HealthCheckResponse response;
  const ::grpc::Status status = stub.Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("Health/Check: ", status.error_message()));
  }
  if (response.status() != ::grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat(
        "Health/Check: ",
        ::grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
            response.status())));
  }
  return absl::OkStatus();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::shared_ptr<::grpc::ChannelCredentials> GrpcCredentials(
    const StackTls& tls) {
  if (!tls.grpc) return ::grpc::InsecureChannelCredentials();
  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(tls.ca);
  ssl.pem_cert_chain = ReadFileOrEmpty(tls.cert);
  ssl.pem_private_key = ReadFileOrEmpty(tls.key);
  return ::grpc::SslCredentials(ssl);
}

// A channel that retries connecting quickly: the server may not listen yet.
std::shared_ptr<::grpc::Channel> HealthChannel(const std::string& addr,
                                               const StackTls& tls) {
  ::grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  return ::grpc::CreateCustomChannel(addr, GrpcCredentials(tls), args);
}

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "(no log)";
  const std::streamoff size = in.tellg();
  if (size <= 0) return "";
  const std::streamoff start = std::max<std::streamoff>(0, size - (64 << 10));
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n');
  if (!all.empty() && all.back().empty()) all.pop_back();
  const size_t first =
      all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + first, all.end(), "\n");
}

}  // namespace

absl::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kWriter:
      return "writer";
    case Tier::kResolver:
      return "resolver";
    case Tier::kIngest:
      return "ingest";
    case Tier::kGateway:
      return "gateway";
  }
  return "unknown";
}

absl::StatusOr<std::vector<int>> FreePorts(int n) {
  // Below the kernel's ephemeral range: no outgoing connection can take a
  // port while the server that owns it restarts.
  int low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> candidate(10000, std::max(10001, low - 1));
  std::vector<int> fds;
  std::vector<int> ports;
  absl::Status status;
  // Every socket stays bound until all are chosen, so the ports are distinct.
  for (int tries = 0; static_cast<int>(ports.size()) < n && status.ok(); ++tries) {
    if (tries == 1000 * n) {
      status = absl::InternalError(absl::StrCat("no ", n, " free ports below ", low));
      break;
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("free port: ", strerror(errno)));
      break;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(candidate(rng)));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);  // taken: draw again
      continue;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Start(StackOptions options) {
  std::unique_ptr<Stack> stack(new Stack(std::move(options)));
  absl::Status status = stack->Plan();
  const absl::Time deadline = absl::Now() + stack->options_.ready_timeout;
  // Tier by tier, each once the one it calls serves: a client that dials a
  // port nobody listens on yet backs off before dialling again, and a test's
  // first request would meet that back-off as a 503.
  for (size_t first = 0; status.ok() && first < stack->size();) {
    size_t end = first;
    while (end < stack->size() &&
           stack->process(end).tier == stack->process(first).tier) {
      status.Update(stack->Launch(end++));
    }
    for (size_t i = first; status.ok() && i < end; ++i) {
      status = stack->WaitHealthy(i, deadline - absl::Now());
    }
    first = end;
  }
  if (status.ok()) status = stack->WaitReady(deadline - absl::Now());
  if (status.ok()) return stack;
  stack->keep_logs_ = true;
  stack->Stop();
  std::string message =
      absl::StrCat("sheetsync stack did not start: ", status.message());
  if (!stack->log_dir_.empty()) {
    absl::StrAppend(&message, "\nlogs kept in ", stack->log_dir_, "\n",
                    stack->AllLogTails(20));
  }
  return absl::Status(status.code(), message);
}

absl::Status Stack::Plan() {
  if (options_.replicas < 1) {
    return absl::InvalidArgumentError("replicas must be >= 1");
  }
  if (options_.database.empty()) {
    return absl::InvalidArgumentError("database is required");
  }
  const std::string build_dir = BuildDir(options_);
  for (Tier tier : kTiers) {
    const std::string binary =
        absl::StrCat(build_dir, "/", RelativeBinaryPath(tier));
    if (access(binary.c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat("no executable ", binary, " (build it first)"));
    }
  }
  if (options_.log_dir.empty()) {
    ASSIGN_OR_RETURN(log_dir_, MakeTempDir("stack"));
    remove_log_dir_ = true;
  } else {
    log_dir_ = options_.log_dir;
    std::error_code ec;
    std::filesystem::create_directories(log_dir_, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("mkdir ", log_dir_, ": ", ec.message()));
    }
  }
  const int n = options_.replicas;
  ASSIGN_OR_RETURN(std::vector<int> ports, FreePorts(6 * n + 1));
  auto next = ports.begin();
  for (Tier tier : {Tier::kWriter, Tier::kResolver, Tier::kIngest}) {
    for (int r = 0; r < n; ++r, next += 2)
      AddProcess(tier, r, next[0], next[1]);
  }
  gateway_port_ = *next;
  AddProcess(Tier::kGateway, 0, gateway_port_, gateway_port_);

  for (auto& p : processes_) p->args = FlagsFor(*p);
  return absl::OkStatus();
}

std::vector<std::string> Stack::FlagsFor(const StackProcess& p) const {
  const std::string writers = absl::StrJoin(grpc_addrs(Tier::kWriter), ",");
  const std::string resolvers = absl::StrJoin(grpc_addrs(Tier::kResolver), ",");
  const std::string ingests = absl::StrJoin(grpc_addrs(Tier::kIngest), ",");
  std::vector<std::string> a = {absl::StrCat("--listen=", p.listen_addr)};
  if (p.tier != Tier::kGateway) {
    a.push_back(absl::StrCat("--metrics_listen=", p.metrics_addr));
  }
  const std::vector<std::string>* extra = nullptr;
  switch (p.tier) {
    case Tier::kWriter:
      a.insert(
          a.end(),
          {absl::StrCat("--mysql_host=", options_.mysql.host),
           absl::StrCat("--mysql_port=", options_.mysql.port),
           absl::StrCat("--mysql_user=", options_.mysql.user),
           absl::StrCat("--mysql_password=", options_.mysql.password),
           absl::StrCat("--mysql_database=", options_.database),
           absl::StrCat("--tables=", absl::StrJoin(options_.tables, ","))});
      extra = &options_.writer_flags;
      break;
    case Tier::kResolver:
      a.push_back(absl::StrCat("--writer_addr=", writers));
      extra = &options_.resolver_flags;
      break;
    case Tier::kIngest:
      a.insert(a.end(), {absl::StrCat("--resolver_addr=", resolvers),
                         absl::StrCat("--writer_addr=", writers)});
      extra = &options_.ingest_flags;
      break;
    case Tier::kGateway:
      a.insert(a.end(), {absl::StrCat("--ingest_addr=", ingests),
                         absl::StrCat("--writer_addr=", writers),
                         absl::StrCat("--ready_addrs=", ingests, ",", resolvers,
                                      ",", writers),
                         absl::StrCat("--token=", options_.token)});
      extra = &options_.gateway_flags;
      break;
  }
  const StackTls& tls = options_.tls;
  if (tls.grpc) {
    a.insert(a.end(), {absl::StrCat("--grpc_tls_cert=", tls.cert),
                       absl::StrCat("--grpc_tls_key=", tls.key),
                       absl::StrCat("--grpc_tls_ca=", tls.ca)});
  }
  if (tls.https && p.tier == Tier::kGateway) {
    a.insert(a.end(), {absl::StrCat("--tls_cert=", tls.cert),
                       absl::StrCat("--tls_key=", tls.key)});
  }
  a.insert(a.end(), extra->begin(), extra->end());
  return a;
}

void Stack::AddProcess(Tier tier, int replica, int port, int metrics_port) {
  auto p = std::make_unique<StackProcess>();
  p->tier = tier;
  p->replica = replica;
  p->name = tier == Tier::kGateway ? std::string(TierName(tier))
                                   : absl::StrCat(TierName(tier), "-", replica);
  p->binary = absl::StrCat(BuildDir(options_), "/", RelativeBinaryPath(tier));
  p->listen_addr = absl::StrCat(kHost, ":", port);
  p->metrics_addr = absl::StrCat(kHost, ":", metrics_port);
  p->metrics_url = absl::StrCat("http://", p->metrics_addr, "/metrics");
  p->log_file = absl::StrCat(log_dir_, "/", p->name, ".log");
  processes_.push_back(std::move(p));
}

absl::Status Stack::Launch(size_t i) {
  StackProcess& p = process(i);
  return p.child.Start(p.binary, p.args, options_.env, p.log_file);
}

Stack::~Stack() {
  Stop();
  const char* keep = std::getenv("SHEETSYNC_KEEP_TEST_LOGS");
  const bool failed = ::testing::Test::HasFailure();
  if (failed) std::cerr << AllLogTails(40) << "\n";
  if (log_dir_.empty()) return;
  if (failed || keep_logs_ || (keep != nullptr && std::string(keep) == "1")) {
    std::cerr << "sheetsync stack logs kept in " << log_dir_ << "\n";
  } else if (remove_log_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(log_dir_, ignored);
  }
}

std::string Stack::gateway_url() const {
  return absl::StrCat(options_.tls.https ? "https://" : "http://", kHost, ":",
                      gateway_port_);
}

std::vector<std::string> Stack::metrics_urls() const {
  std::vector<std::string> urls;
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
    urls.push_back((*it)->metrics_url);
  }
  return urls;
}

std::vector<std::string> Stack::grpc_addrs(Tier tier) const {
  std::vector<std::string> addrs;
  for (const auto& p : processes_) {
    if (p->tier == tier) addrs.push_back(p->listen_addr);
  }
  return addrs;
}

size_t Stack::index(Tier tier, int replica) const {
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i]->tier == tier && processes_[i]->replica == replica) {
      return i;
    }
  }
  std::cerr << "Stack::index: no " << TierName(tier) << " replica " << replica
            << "\n";
  std::abort();
}

absl::Status Stack::Restart(size_t i, absl::Duration timeout) {
  StackProcess& p = process(i);
  if (p.child.Running()) {
    absl::StatusOr<ExitStatus> exit = p.child.Terminate(absl::Seconds(10));
    if (!exit.ok()) return exit.status();
  }
  RETURN_IF_ERROR(Launch(i));
  return WaitHealthy(i, timeout);
}

absl::Status Stack::WaitHealthy(size_t i, absl::Duration timeout) {
  StackProcess& p = process(i);
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_ptr<::grpc::health::v1::Health::Stub> stub;
  if (p.tier != Tier::kGateway) {
    stub = ::grpc::health::v1::Health::NewStub(
        HealthChannel(p.listen_addr, options_.tls));
  }
  absl::Status last = absl::DeadlineExceededError("no attempt");
  while (true) {
    RETURN_IF_ERROR(CheckAlive(i));
    if (stub != nullptr) {
      last = CheckGrpcServing(*stub);
    } else {
      absl::StatusOr<HttpResponse> r =
          HttpRequest(gateway_url() + "/healthz", "GET", {}, "",
                      absl::Seconds(2), http_tls());
      last = !r.ok()            ? r.status()
             : r->status == 200 ? absl::OkStatus()
                                : absl::UnavailableError(absl::StrCat(
                                      "/healthz answered ", r->status));
    }
    if (last.ok()) return last;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  RETURN_IF_ERROR(CheckAlive(i));
  return absl::DeadlineExceededError(
      absl::StrCat(p.name, " (", p.listen_addr, ") not healthy after ",
                   absl::FormatDuration(timeout), ": ", last.message()));
}

absl::Status Stack::CheckAlive(size_t i) {
  StackProcess& p = process(i);
  std::optional<ExitStatus> exit;
  if (p.child.Running()) {
    ASSIGN_OR_RETURN(exit, p.child.Poll());
    if (!exit.has_value()) return absl::OkStatus();
  } else {
    exit = p.child.last_exit();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(p.name, " is not running (", exit->ToString(), "); tail of ",
                   p.log_file, ":\n", LogTail(i, 20)));
}

absl::Status Stack::WaitReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (true) {
    for (size_t i = 0; i < size(); ++i) RETURN_IF_ERROR(CheckAlive(i));
    absl::StatusOr<HttpResponse> r = HttpRequest(
        gateway_url() + "/readyz", "GET", {}, "", absl::Seconds(2), http_tls());
    if (r.ok() && r->status == 200) return absl::OkStatus();
    last = r.ok() ? absl::StrCat(r->status, " ", r->body)
                  : std::string(r.status().message());
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("gateway /readyz not 200 after ",
                   absl::FormatDuration(timeout), ": ", last));
}

void Stack::Stop() {
  for (auto tier = std::rbegin(kTiers); tier != std::rend(kTiers); ++tier) {
    std::vector<StackProcess*> stopping;
    for (auto& p : processes_) {
      if (p->tier == *tier && p->child.Running() &&
          p->child.Kill(SIGTERM).ok()) {
        stopping.push_back(p.get());
      }
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (StackProcess* p : stopping) {
      const absl::Duration left =
          std::max(deadline - absl::Now(), absl::ZeroDuration());
      if (p->child.Wait(left).ok()) continue;
      std::cerr << p->name << " ignored SIGTERM for 10 s; sending SIGKILL\n";
      if (p->child.Kill(SIGKILL).ok()) {
        p->child.Wait(absl::Seconds(30)).IgnoreError();
      }
    }
  }
}

std::string Stack::LogTail(size_t i, int lines) const {
  return TailOfFile(processes_.at(i)->log_file, lines);
}

std::string Stack::AllLogTails(int lines) const {
  std::string out;
  for (size_t i = 0; i < processes_.size(); ++i) {
    absl::StrAppend(&out, "===== ", processes_[i]->name, " (",
                    processes_[i]->log_file, ") =====\n", LogTail(i, lines),
                    "\n");
  }
  return out;
}

}  // namespace sheetsync::test
