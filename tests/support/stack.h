// Stack: the four sheetsync binaries running for an integration or e2e test.
//
// Starts N replicas each of writer, resolver and ingest plus one gateway on
// free loopback ports, wires the tiers with comma-separated replica lists
// (gateway → ingest → resolver → writer), waits until every gRPC process
// answers grpc.health.v1.Health/Check SERVING and the gateway's /readyz
// answers 200, and stops everything when destroyed (gateway first).
//
//   StackOptions options;
//   options.mysql = *config;           // from LoadMysqlTestConfig()
//   options.database = db.name();      // a ScratchDatabase
//   options.replicas = 2;
//   absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
//   ASSERT_TRUE(stack.ok()) << stack.status();   // the message has log tails
//   HttpRequest((*stack)->gateway_url() + "/v1/edits", "POST", ...);
//   (*stack)->process(Tier::kWriter, 0).child.Kill(SIGKILL);  // fault test
//   ASSERT_TRUE((*stack)->Restart((*stack)->index(Tier::kWriter, 0)).ok());
//
// Logs go to <log_dir>/<name>.log (name: "writer-0", …, "gateway"). When the
// test has failed (or SHEETSYNC_KEEP_TEST_LOGS=1) the destructor prints each
// log's tail to stderr and keeps the directory; else it deletes it.
//
// Not thread-safe: drive a Stack from the test's main thread.
#ifndef SHEETSYNC_TESTS_SUPPORT_STACK_H_
#define SHEETSYNC_TESTS_SUPPORT_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/http_client.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/process.h"

namespace sheetsync::test {

enum class Tier { kWriter, kResolver, kIngest, kGateway };
// Returns "writer", "resolver", "ingest" or "gateway".
absl::string_view TierName(Tier tier);

// TLS of a Stack: one certificate for every process, also presented by the
// Stack's own health checks.
struct StackTls {
  std::string ca;    // PEM CA certificate that issued `cert`
  std::string cert;  // PEM certificate naming 127.0.0.1 (e.g. TestPki::server)
  std::string key;
  bool grpc = false;   // mutual TLS between the gRPC processes (--grpc_tls_*)
  bool https = false;  // the gateway serves HTTPS only (--tls_cert, --tls_key)
};

struct StackOptions {
  int replicas = 1;      // of writer, resolver and ingest each; one gateway
  std::string database;  // MySQL database the writers sync (required)
  std::vector<std::string> tables = {"users"};
  std::string token = "test-token";  // the gateway's bearer token
  MysqlTestConfig mysql;             // writers log in as mysql.user over TCP
  // Appended after the Stack's own flags (the last occurrence wins).
  std::vector<std::string> writer_flags;
  std::vector<std::string> resolver_flags;
  std::vector<std::string> ingest_flags;
  std::vector<std::string> gateway_flags;
  EnvVars env;  // added to every process's environment
  StackTls tls;  // none by default
  // Build directory holding services/*/sheetsync-* and
  // gateway/sheetsync-gateway. Empty: $SHEETSYNC_BUILD_DIR, else the build dir
  // this library was built in.
  std::string build_dir;
  std::string log_dir;  // empty: a fresh directory under $TMPDIR or /tmp
  absl::Duration ready_timeout = absl::Seconds(60);
};

// One process of the stack.
struct StackProcess {
  Tier tier = Tier::kWriter;
  int replica = 0;
  std::string name;  // "writer-0", "ingest-1", "gateway"
  std::string binary;
  std::vector<std::string> args;
  std::string listen_addr;   // "127.0.0.1:PORT": gRPC, or HTTP for the gateway
  std::string metrics_addr;  // "127.0.0.1:PORT" (the gateway: its listen_addr)
  std::string metrics_url;   // "http://" + metrics_addr + "/metrics"
  std::string log_file;
  ChildProcess child;  // kill or signal it in fault tests
};

class Stack {
 public:
  // Starts the stack and waits until it is ready. On failure everything
  // started is stopped and the status message holds the logs' tails.
  static absl::StatusOr<std::unique_ptr<Stack>> Start(StackOptions options);

  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Returns "http://127.0.0.1:PORT" of the gateway ("https://" with
  // tls.https).
  std::string gateway_url() const;
  // Returns what a request to gateway_url() trusts.
  HttpTls http_tls() const { return HttpTls{options_.tls.ca}; }
  int gateway_port() const { return gateway_port_; }
  // Returns every process's /metrics URL (the gateway's first).
  std::vector<std::string> metrics_urls() const;
  // Returns the "host:port" of each replica of `tier`.
  std::vector<std::string> grpc_addrs(Tier tier) const;

  // Processes in start order: writers, resolvers, ingests, gateway.
  size_t size() const { return processes_.size(); }
  size_t index(Tier tier, int replica = 0) const;
  StackProcess& process(size_t i) { return *processes_.at(i); }
  StackProcess& process(Tier tier, int replica = 0) {
    return process(index(tier, replica));
  }

  // Starts process `i` again with the same flags and ports (after stopping it
  // with SIGTERM if it still runs) and waits until it is healthy.
  absl::Status Restart(size_t i, absl::Duration timeout = absl::Seconds(30));
  // Waits until process `i` answers its health check (gRPC SERVING, or the
  // gateway's /healthz 200). FailedPrecondition if it has exited.
  absl::Status WaitHealthy(size_t i, absl::Duration timeout);
  // Waits until the gateway's /readyz answers 200.
  absl::Status WaitReady(absl::Duration timeout);

  // Stops every process still running: gateway, ingests, resolvers, writers;
  // each tier with SIGTERM at once, SIGKILL after 10 s.
  void Stop();

  const std::string& log_dir() const { return log_dir_; }
  // Returns the last `lines` lines of process `i`'s log.
  std::string LogTail(size_t i, int lines = 40) const;
  // Returns the tails of every log, each under a "===== name =====" header.
  std::string AllLogTails(int lines = 40) const;
  const StackOptions& options() const { return options_; }

 private:
  explicit Stack(StackOptions options) : options_(std::move(options)) {}
  absl::Status Plan();
  absl::Status Launch(size_t i);
  // FailedPrecondition (with the log's tail) when process `i` has exited.
  absl::Status CheckAlive(size_t i);
  void AddProcess(Tier tier, int replica, int port, int metrics_port);
  std::vector<std::string> FlagsFor(const StackProcess& p) const;

  StackOptions options_;
  std::string log_dir_;
  bool remove_log_dir_ = false;
  bool keep_logs_ = false;
  int gateway_port_ = 0;
  std::vector<std::unique_ptr<StackProcess>> processes_;
};

// Returns `n` distinct TCP ports that are free on 127.0.0.1 right now, below
// the kernel's ephemeral port range.
absl::StatusOr<std::vector<int>> FreePorts(int n);

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_STACK_H_
