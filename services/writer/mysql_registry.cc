#include "services/writer/mysql_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cppconn/resultset.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/process.h"
#include "services/common/status_macros.h"
#include "services/writer/mysql_error.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);

std::string ConfigJson(const v1::TableConfig& config) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(config, &json, options);
  return json;
}

}  // namespace

TableRegistration ToRegistration(const v1::TableConfig& config) {
  TableRegistration registration;
  registration.table = config.name();
  registration.key_column = config.key_column();
  registration.read_only_columns.assign(config.read_only_columns().begin(),
                                        config.read_only_columns().end());
  return registration;
}

absl::StatusOr<std::vector<v1::TableConfig>>
MysqlRegistryBackend::LoadStored() {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  std::vector<v1::TableConfig> configs;
  try {
    auto rs = Query(conn, "SELECT tbl, config FROM `_sheetsync_registry`");
    while (rs->next()) {
      const std::string table = std::string(rs->getString(1));
      v1::TableConfig config;
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = true;  // written by a newer version
      if (!google::protobuf::util::JsonStringToMessage(
               std::string(rs->getString(2)), &config, options)
               .ok() ||
          config.name() != table) {
        LogWarning("ignoring a stored registration that does not parse",
                   {{"table", table}});
        continue;
      }
      configs.push_back(std::move(config));
    }
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the stored registrations");
  }
  return configs;
}

absl::Status MysqlRegistryBackend::Store(const v1::TableConfig& config) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    Execute(
        conn,
        absl::StrCat("INSERT INTO `_sheetsync_registry` (tbl, config, "
                     "updated_at_us) VALUES (",
                     Literal(conn, config.name()), ",",
                     Literal(conn, ConfigJson(config)), ",", clock_.NowMicros(),
                     ") ON DUPLICATE KEY UPDATE config = VALUES(config), "
                     "updated_at_us = VALUES(updated_at_us)"));
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "storing the registration");
  }
  return absl::OkStatus();
}

absl::Status MysqlRegistryBackend::Unstore(const std::string& table) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  int deleted = 0;
  try {
    deleted = Execute(
        conn, absl::StrCat("DELETE FROM `_sheetsync_registry` WHERE tbl = ",
                           Literal(conn, table)));
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "removing the registration");
  }
  if (deleted == 0) {
    return absl::NotFoundError(absl::StrCat(
        "table `", table, "` is not registered through the admin API"));
  }
  return absl::OkStatus();
}

absl::Status MysqlRegistryBackend::CreateIfMissing(
    const v1::TableConfig& config) {
  std::vector<std::string> columns = {absl::StrCat(
      QuoteIdentifier(config.key_column()), " CHAR(36) NOT NULL PRIMARY KEY")};
  for (const std::string& header : config.headers()) {
    columns.push_back(absl::StrCat(QuoteIdentifier(header), " TEXT NULL"));
  }
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    Execute(conn, absl::StrCat("CREATE TABLE IF NOT EXISTS ",
                               QuoteIdentifier(config.name()), " (",
                               absl::StrJoin(columns, ", "),
                               ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                               "COLLATE=utf8mb4_unicode_ci"));
  } catch (const sql::SQLException& e) {
    absl::Status status = MysqlErrorStatus(
        e, conn, absl::StrCat("creating table `", config.name(), "`"));
    // Anything but an outage is a problem with the requested table.
    if (absl::IsUnavailable(status)) return status;
    return absl::InvalidArgumentError(status.message());
  }
  return absl::OkStatus();
}

absl::Status MysqlRegistryBackend::Activate(
    const std::vector<v1::TableConfig>& tables) {
  std::vector<TableRegistration> registrations;
  for (const v1::TableConfig& config : tables) {
    registrations.push_back(ToRegistration(config));
  }
  return store_.SetTables(std::move(registrations));
}

absl::StatusOr<v1::TableSchema> MysqlRegistryBackend::Inspect(
    const v1::TableConfig& config) {
  return store_.Inspect(ToRegistration(config));
}

absl::StatusOr<v1::TableSchema> MysqlRegistryBackend::Describe(
    const std::string& table) {
  return store_.DescribeTable(table);
}

}  // namespace sheetsync
