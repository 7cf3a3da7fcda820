// sheetsync-writer: the only process that touches MySQL.
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/common/completion_loop.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_tls_flags.h"
#include "services/common/metrics.h"
#include "services/common/process.h"
#include "services/common/worker_pool.h"
#include "services/writer/admin_service.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/mysql_registry.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/registry.h"
#include "services/writer/writer_metrics.h"
#include "services/writer/writer_service.h"

namespace sheetsync {

// --mysql_ssl_mode, parsed by Abseil: a value it does not know fails like
// any bad flag value, also in `--helpfull` (which tests/k8s runs).
struct MysqlSslModeFlag {
  MysqlTls::Mode mode = MysqlTls::Mode::kDisabled;
};

constexpr std::pair<const char*, MysqlTls::Mode> kMysqlSslModes[] = {
    {"disabled", MysqlTls::Mode::kDisabled},
    {"required", MysqlTls::Mode::kRequired},
    {"verify_identity", MysqlTls::Mode::kVerifyIdentity},
};

bool AbslParseFlag(absl::string_view text, MysqlSslModeFlag* flag,
                   std::string* error) {
  for (const auto& [name, mode] : kMysqlSslModes) {
    if (text == name) {
      flag->mode = mode;
      return true;
    }
  }
  *error = "must be disabled, required or verify_identity";
  return false;
}

std::string AbslUnparseFlag(MysqlSslModeFlag flag) {
  for (const auto& [name, mode] : kMysqlSslModes) {
    if (flag.mode == mode) return name;
  }
  return "disabled";
}

}  // namespace sheetsync

ABSL_FLAG(std::string, listen, "127.0.0.1:7003", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9103",
          "Prometheus /metrics listen address");
ABSL_FLAG(std::string, mysql_host, "127.0.0.1", "MySQL host");
ABSL_FLAG(int, mysql_port, 3306, "MySQL port");
ABSL_FLAG(std::string, mysql_user, "sheetsync", "MySQL user");
ABSL_FLAG(std::string, mysql_password, "",
          "MySQL password (a line break at its end, as a file written by "
          "`echo` has, is not part of it)");
ABSL_FLAG(
    sheetsync::MysqlSslModeFlag, mysql_ssl_mode, {},
    "TLS to MySQL: disabled, required (encrypted, any server certificate) "
    "or verify_identity (the server's certificate must be issued by "
    "--mysql_ssl_ca and name --mysql_host)");
ABSL_FLAG(std::string, mysql_ssl_ca, "",
          "PEM file: the CA of MySQL's certificate");
ABSL_FLAG(
    std::string, mysql_ssl_cert, "",
    "PEM file: a client certificate for MySQL (users created REQUIRE X509)");
ABSL_FLAG(std::string, mysql_ssl_key, "",
          "PEM file: the key of --mysql_ssl_cert");
ABSL_FLAG(std::string, mysql_database, "sheetsync", "MySQL database");
ABSL_FLAG(int, pool_size, 8,
          "MySQL connections in the pool, and threads for the calls other than Apply");
ABSL_FLAG(int, max_waiting_calls, 1024,
          "Calls other than Apply that may wait for one of the --pool_size "
          "threads; more are refused with RESOURCE_EXHAUSTED (0: no limit)");
// 2: on 2 cores, batch 50 x 16, it beat 1 by 5-12 % in changes/s and 4 by
// its p99 (4 made more, smaller transactions; MariaDB's CPU per change rose).
ABSL_FLAG(int, group_commit_leaders, 2,
          "Apply transactions run at once; calls beyond wait and are committed "
          "together in one transaction (0: every call commits alone)");
ABSL_FLAG(int, group_commit_max_rows, 1000, "Most rows one grouped transaction writes");
ABSL_FLAG(std::string, tables, "",
          "Comma-separated tables to sync, key column `uuid` (a shortcut for "
          "a registry file; `users` when neither this nor --registry is set)");
ABSL_FLAG(std::string, registry, "",
          "Table registry file: the JSON of sheetsync.v1.RegistryFile "
          "(proto/sheetsync/v1/registry.proto), re-read when it changes");
ABSL_FLAG(absl::Duration, retention, absl::Hours(24 * 30),
          "How long event ids, tombstones and the change log are kept");
ABSL_FLAG(absl::Duration, maintenance_interval, absl::Seconds(2),
          "How often schemas and capture triggers are refreshed");
ABSL_FLAG(absl::Duration, prune_interval, absl::Minutes(10),
          "How often metadata older than --retention is pruned");
ABSL_FLAG(bool, migrate_only, false,
          "Create or upgrade the sync metadata tables and triggers, then exit");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "How long SIGTERM waits for calls in flight");

namespace sheetsync {
namespace {

RegistrySources Sources() {
  RegistrySources sources;
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_tables), ',',
                                               absl::SkipWhitespace())) {
    sources.flag_tables.emplace_back(absl::StripAsciiWhitespace(name));
  }
  sources.file = absl::GetFlag(FLAGS_registry);
  if (sources.flag_tables.empty() && sources.file.empty()) {
    sources.flag_tables.push_back("users");
  }
  for (const std::string& name : sources.flag_tables) {
    v1::TableConfig config;
    config.set_name(name);
    absl::StatusOr<v1::TableConfig> checked = NormalizeTableConfig(config);
    if (!checked.ok())
      DieOnBadConfig(absl::StrCat("--tables: ", checked.status().message()));
  }
  return sources;
}

// Reads the registry, activates it and checks that every table the flag or
// the file names can sync; exits on any problem (start-up).
void LoadRegistry(TableRegistry& registry, MysqlVersionStore& store) {
  if (absl::Status loaded = registry.Refresh(/*strict=*/true); !loaded.ok()) {
    DieOnBadConfig(loaded.ToString());
  }
  for (const std::string& table : registry.ConfiguredTables()) {
    absl::StatusOr<v1::TableSchema> schema = store.DescribeTable(table);
    // Replicas starting together install the same triggers: a deadlock
    // between them is not a configuration error.
    for (int attempt = 1; !schema.ok() && absl::IsAborted(schema.status()) && attempt < 5;
         ++attempt) {
      absl::SleepFor(absl::Milliseconds(50 * attempt));
      schema = store.DescribeTable(table);
    }
    if (!schema.ok()) {
      DieOnBadConfig(absl::StrCat("registered table `", table,
                                  "`: ", schema.status().message()));
    }
  }
  // A table registered through the Admin API by another replica: look
  // before answering NOT_FOUND.
  store.SetUnknownTableHook([&registry](const std::string& table) {
    absl::Status refreshed = registry.Refresh();
    if (!refreshed.ok()) {
      LogWarning("table registry refresh failed",
                 {{"status", refreshed.ToString()}});
    }
    return registry.Contains(table);
  });
}

// A Kubernetes Secret made `--from-file` of a file written by `echo` ends in
// a line break, which MySQL would take as part of the password.
std::string WithoutTrailingLineBreak(std::string password) {
  if (absl::EndsWith(password, "\n")) password.pop_back();
  if (absl::EndsWith(password, "\r")) password.pop_back();
  return password;
}

MysqlTls MysqlTlsFromFlags() {
  MysqlTls tls;
  tls.mode = absl::GetFlag(FLAGS_mysql_ssl_mode).mode;
  tls.ca = absl::GetFlag(FLAGS_mysql_ssl_ca);
  tls.cert = absl::GetFlag(FLAGS_mysql_ssl_cert);
  tls.key = absl::GetFlag(FLAGS_mysql_ssl_key);
  if (tls.mode == MysqlTls::Mode::kVerifyIdentity && tls.ca.empty()) {
    DieOnBadConfig("--mysql_ssl_mode=verify_identity needs --mysql_ssl_ca");
  }
  if (tls.cert.empty() != tls.key.empty()) {
    DieOnBadConfig("--mysql_ssl_cert and --mysql_ssl_key go together");
  }
  if (tls.mode == MysqlTls::Mode::kDisabled &&
      !(tls.ca.empty() && tls.cert.empty())) {
    DieOnBadConfig(
        "--mysql_ssl_ca/--mysql_ssl_cert need --mysql_ssl_mode "
        "required or verify_identity");
  }
  for (const std::string* file : {&tls.ca, &tls.cert, &tls.key}) {
    if (!file->empty() && access(file->c_str(), R_OK) != 0) {
      DieOnBadConfig(absl::StrCat("cannot read ", *file));
    }
  }
  return tls;
}

int Main() {
  MysqlConfig config;
  config.host = absl::GetFlag(FLAGS_mysql_host);
  config.port = absl::GetFlag(FLAGS_mysql_port);
  config.user = absl::GetFlag(FLAGS_mysql_user);
  config.password =
      WithoutTrailingLineBreak(absl::GetFlag(FLAGS_mysql_password));
  config.tls = MysqlTlsFromFlags();
  config.database = absl::GetFlag(FLAGS_mysql_database);
  config.pool_size = absl::GetFlag(FLAGS_pool_size);
  if (config.pool_size < 1) DieOnBadConfig("--pool_size must be at least 1");
  const RegistrySources sources = Sources();
  const GrpcTls tls = GrpcTlsFromFlags();

  RealClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  WriterMetrics writer_metrics(*registry);
  MysqlPool pool(config);
  pool.set_metrics(&writer_metrics);
  MysqlVersionStore store(pool, clock, /*tables=*/{});
  store.set_metrics(&writer_metrics);
  if (absl::Status migrated = store.Migrate(); !migrated.ok()) {
    DieOnBadConfig(migrated.ToString());
  }
  MysqlRegistryBackend registry_backend(pool, store, clock);
  TableRegistry table_registry(registry_backend, sources);
  LoadRegistry(table_registry, store);
  // Every gauge is there from the first scrape on, not after the first
  // maintenance pass.
  if (absl::Status reported = store.ReportCaptureBacklogs(); !reported.ok()) {
    LogWarning("reading the capture backlog failed",
               {{"status", reported.ToString()}});
  }
  if (absl::GetFlag(FLAGS_migrate_only)) {
    LogInfo("migrated");
    return 0;
  }

  RpcObserver observer(*registry);
  auto exposer =
      StartMetricsExposer(absl::GetFlag(FLAGS_metrics_listen), registry);
  if (!exposer.ok()) DieOnBadConfig(exposer.status().ToString());

  // Without group commit, as many threads as connections apply one plan
  // each. The other calls (reads, capture claims, the Admin API) run on as
  // many workers as connections.
  const bool grouping = absl::GetFlag(FLAGS_group_commit_leaders) > 0;
  auto grouper = std::make_unique<ApplyGrouper>(
      [&store](const v1::ApplyRequest& plan, ApplyGrouper::Deadline retry_until,
               bool combined) {
        return store.Apply(plan, {absl::FromChrono(retry_until), combined});
      },
      grouping ? absl::GetFlag(FLAGS_group_commit_leaders) : config.pool_size,
      grouping ? absl::GetFlag(FLAGS_group_commit_max_rows) : 0,
      [&writer_metrics](int plans) {
        writer_metrics.ObserveCommitGroup(plans);
      });
  const int max_waiting = absl::GetFlag(FLAGS_max_waiting_calls);
  if (max_waiting < 0) {
    DieOnBadConfig("--max_waiting_calls must not be negative");
  }
  auto workers = std::make_unique<WorkerPool>(config.pool_size,
                                              static_cast<size_t>(max_waiting));
  WriterService service(store, *grouper, *workers);
  AdminService admin(table_registry, *workers);
  CompletionLoop loop(&observer);
  auto server = GrpcServer::Start(absl::GetFlag(FLAGS_listen),
                                  {service.service(), admin.service()}, tls, &observer, &loop);
  if (!server.ok()) DieOnBadConfig(server.status().ToString());
  service.ServeOn(loop);
  admin.ServeOn(loop);
  loop.Start();
  LogInfo("serving", {{"listen", absl::GetFlag(FLAGS_listen)}});

  // Readiness follows MySQL: NOT_SERVING while it cannot be reached or is
  // read-only. Pings go on a connection of their own whose reads time out
  // after 2 s (the pool's take 10 s), so a MySQL that hangs turns the
  // writer not ready within ~3 s.
  MysqlConfig ping_config = config;
  ping_config.pool_size = 1;
  ping_config.io_timeout = absl::Seconds(2);
  ping_config.connect_timeout = absl::Seconds(2);
  MysqlPool ping_pool(ping_config);
  absl::Notification stopping;
  std::thread pinger([&] {
    bool serving = true;
    while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      absl::Status ping = MysqlVersionStore::Ping(ping_pool);
      if (ping.ok() != serving) {
        serving = ping.ok();
        (*server)->SetServing(serving);
        LogWarning(serving ? "MySQL reachable again" : "MySQL unreachable",
                   {{"status", ping.ToString()}});
      }
    }
  });
  std::thread maintainer([&] {
    const absl::Duration prune_every = absl::GetFlag(FLAGS_prune_interval);
    absl::Time next_prune = absl::Now() + prune_every;
    while (!stopping.WaitForNotificationWithTimeout(
        absl::GetFlag(FLAGS_maintenance_interval))) {
      const bool prune = absl::Now() >= next_prune;
      if (prune) next_prune = absl::Now() + prune_every;
      if (absl::Status refreshed = table_registry.Refresh(); !refreshed.ok()) {
        LogWarning("table registry refresh failed",
                   {{"status", refreshed.ToString()}});
      }
      absl::Status status =
          store.Maintain(absl::GetFlag(FLAGS_retention), prune);
      if (!status.ok())
        LogWarning("maintenance failed", {{"status", status.ToString()}});
    }
  });

  const std::string signal = WaitForTermination();
  LogInfo("draining", {{"signal", signal}});
  stopping.Notify();
  pinger.join();  // within ~4 s (a ping's connect or read timeout)
  // The drain starts before the maintainer is waited for: a prune in progress
  // (several statements of up to 10 s each) must not use up the grace period
  // Kubernetes gives the calls in flight.
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  maintainer.join();
  // What the grouper and the workers still hold past the drain is finished
  // now, and its answers dropped, while the server's objects still exist.
  workers.reset();
  grouper.reset();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace sheetsync

int main(int argc, char** argv) {
  sheetsync::InitProcess("writer", argc, argv);
  return sheetsync::Main();
}
