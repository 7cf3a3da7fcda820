// sheetsync-writer: the only process that touches MySQL.
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "services/common/grpc_server.h"
#include "services/common/metrics.h"
#include "services/common/process.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/writer_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7003", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9103",
          "Prometheus /metrics listen address");
ABSL_FLAG(std::string, mysql_host, "127.0.0.1", "MySQL host");
ABSL_FLAG(int, mysql_port, 3306, "MySQL port");
ABSL_FLAG(std::string, mysql_user, "sheetsync", "MySQL user");
ABSL_FLAG(std::string, mysql_password, "", "MySQL password");
ABSL_FLAG(std::string, mysql_database, "sheetsync", "MySQL database");
ABSL_FLAG(int, pool_size, 8, "MySQL connections in the pool");
ABSL_FLAG(std::string, tables, "users",
          "Comma-separated tables to sync (key column `uuid`)");
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

int Main() {
  MysqlConfig config;
  config.host = absl::GetFlag(FLAGS_mysql_host);
  config.port = absl::GetFlag(FLAGS_mysql_port);
  config.user = absl::GetFlag(FLAGS_mysql_user);
  config.password = absl::GetFlag(FLAGS_mysql_password);
  config.database = absl::GetFlag(FLAGS_mysql_database);
  config.pool_size = absl::GetFlag(FLAGS_pool_size);
  if (config.pool_size < 1) DieOnBadConfig("--pool_size must be at least 1");
  std::vector<TableRegistration> tables;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_tables), ',', absl::SkipWhitespace())) {
    tables.push_back(TableRegistration{std::string(name), "uuid"});
  }

  RealClock clock;
  MysqlPool pool(config);
  MysqlVersionStore store(pool, clock, std::move(tables));
  if (absl::Status migrated = store.Migrate(); !migrated.ok()) {
    DieOnBadConfig(migrated.ToString());
  }
  if (absl::GetFlag(FLAGS_migrate_only)) {
    LogInfo("migrated");
    return 0;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  auto exposer = StartMetricsExposer(absl::GetFlag(FLAGS_metrics_listen), registry);
  if (!exposer.ok()) DieOnBadConfig(exposer.status().ToString());

  WriterService service(store);
  auto server = GrpcServer::Start(absl::GetFlag(FLAGS_listen), {&service});
  if (!server.ok()) DieOnBadConfig(server.status().ToString());
  LogInfo("serving", {{"listen", absl::GetFlag(FLAGS_listen)}});

  // Readiness follows MySQL: NOT_SERVING while it cannot be reached.
  absl::Notification stopping;
  std::thread pinger([&] {
    bool serving = true;
    while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      absl::Status ping = store.Ping();
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
      absl::Status status = store.Maintain(absl::GetFlag(FLAGS_retention), prune);
      if (!status.ok()) LogWarning("maintenance failed", {{"status", status.ToString()}});
    }
  });

  const std::string signal = WaitForTermination();
  LogInfo("draining", {{"signal", signal}});
  stopping.Notify();
  pinger.join();
  maintainer.join();
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace sheetsync

int main(int argc, char** argv) {
  sheetsync::InitProcess("writer", argc, argv);
  return sheetsync::Main();
}
