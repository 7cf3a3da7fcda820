#include "services/writer/registry.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/process.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace {

constexpr char kFlag[] = "flag";
constexpr char kFile[] = "file";
constexpr char kAdmin[] = "admin";

v1::TableConfig FlagTable(const std::string& name) {
  v1::TableConfig config;
  config.set_name(name);
  config.set_key_column("uuid");
  config.set_sheet(name);
  return config;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

v1::ColumnInfo ColumnInfo(const v1::Column& column, bool key) {
  v1::ColumnInfo info;
  info.set_name(column.name());
  info.set_data_type(column.data_type());
  info.set_column_type(column.column_type());
  info.set_nullable(column.nullable());
  info.set_read_only(column.read_only() || column.generated());
  info.set_generated(column.generated());
  info.set_key(key);
  return info;
}

}  // namespace

TableRegistry::TableRegistry(RegistryBackend& backend, RegistrySources sources)
    : backend_(backend), sources_(std::move(sources)) {}

absl::Status TableRegistry::Refresh(bool strict) {
  absl::MutexLock lock(&mu_);
  const absl::Status file = ReloadFile(strict);
  if (strict && !file.ok()) return file;
  absl::Status merged = MergeAndActivate(strict);
  merged.Update(file);
  return merged;
}

absl::Status TableRegistry::ReloadFile(bool strict) {
  if (sources_.file.empty()) return absl::OkStatus();
  FileStamp stamp;
  struct stat st;
  if (stat(sources_.file.c_str(), &st) == 0) {
    stamp.mtime_ns =
        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    stamp.size = st.st_size;
    stamp.inode = st.st_ino;
  }
  if (file_loaded_ && stamp == file_stamp_ && !strict) return absl::OkStatus();
  file_stamp_ = stamp;  // a bad file is reported once, not on every refresh
  absl::StatusOr<std::string> text = ReadWholeFile(sources_.file);
  absl::StatusOr<std::vector<v1::TableConfig>> tables =
      text.ok() ? ParseRegistryFile(*text) : text.status();
  if (!tables.ok()) {
    if (!strict) file_loaded_ = true;
    return absl::Status(
        tables.status().code(),
        absl::StrCat(
            "registry file ", sources_.file, ": ", tables.status().message(),
            file_loaded_ && !strict ? " (keeping the last good one)" : ""));
  }
  file_tables_ = *std::move(tables);
  file_loaded_ = true;
  return absl::OkStatus();
}

absl::Status TableRegistry::MergeAndActivate(bool strict) {
  ASSIGN_OR_RETURN(std::vector<v1::TableConfig> stored, backend_.LoadStored());
  std::map<std::string, Entry> entries;
  for (const std::string& name : sources_.flag_tables) {
    entries[name] = Entry{FlagTable(name), kFlag};
  }
  for (const v1::TableConfig& config : file_tables_) {
    entries[config.name()] = Entry{config, kFile};
  }
  for (v1::TableConfig& config : stored) {
    const std::string name = config.name();
    entries.emplace(name, Entry{std::move(config), kAdmin});
  }
  std::vector<v1::TableConfig> tables;
  std::string signature;
  for (const auto& [name, entry] : entries) {
    tables.push_back(entry.config);
    absl::StrAppend(&signature, entry.config.SerializeAsString(), "\x1e");
  }
  entries_ = std::move(entries);
  if (ever_activated_ && signature == activated_) return absl::OkStatus();

  absl::Status status;
  for (const v1::TableConfig& config : tables) {
    if (config.create_if_missing()) {
      status.Update(backend_.CreateIfMissing(config));
    }
  }
  if (strict) {
    // Start-up: a table the configuration names must be able to sync, and
    // a bad configuration must not unregister the tables in force.
    for (const auto& [name, entry] : entries_) {
      if (entry.source == kAdmin) continue;
      absl::StatusOr<v1::TableSchema> schema = backend_.Inspect(entry.config);
      RETURN_IF_ERROR(schema.status());
    }
    RETURN_IF_ERROR(status);
  }
  const absl::Status activated = backend_.Activate(tables);
  if (activated.ok()) {
    activated_ = std::move(signature);
    ever_activated_ = true;
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    LogInfo("table registry in force", {{"tables", absl::StrJoin(names, ",")}});
  }
  status.Update(activated);
  return status;
}

bool TableRegistry::Contains(const std::string& table) {
  absl::MutexLock lock(&mu_);
  return entries_.count(table) > 0;
}

std::vector<std::string> TableRegistry::ConfiguredTables() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) {
    if (entry.source != kAdmin) names.push_back(name);
  }
  return names;
}

v1::RegisteredTable TableRegistry::Describe(const Entry& entry) {
  v1::RegisteredTable table;
  *table.mutable_config() = entry.config;
  table.set_source(entry.source);
  absl::StatusOr<v1::TableSchema> schema =
      backend_.Describe(entry.config.name());
  table.set_ready(schema.ok());
  if (!schema.ok()) {
    table.set_error(std::string(schema.status().message()));
    return table;
  }
  for (const v1::Column& column : schema->columns()) {
    *table.add_columns() =
        ColumnInfo(column, column.name() == schema->key_column());
  }
  return table;
}

std::vector<v1::RegisteredTable> TableRegistry::List() {
  std::vector<Entry> entries;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, entry] : entries_) entries.push_back(entry);
  }
  // Describing reads MySQL (and may re-read the registry): not under mu_.
  std::vector<v1::RegisteredTable> tables;
  for (const Entry& entry : entries) tables.push_back(Describe(entry));
  return tables;
}

absl::StatusOr<v1::RegisteredTable> TableRegistry::Get(
    const std::string& table) {
  Entry entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(table);
    if (it == entries_.end()) {
      return absl::NotFoundError(
          absl::StrCat("table `", table, "` is not registered"));
    }
    entry = it->second;
  }
  return Describe(entry);
}

absl::Status TableRegistry::CheckAdminOwned(const std::string& table) {
  auto it = entries_.find(table);
  if (it == entries_.end() || it->second.source == kAdmin) {
    return absl::OkStatus();
  }
  return absl::AlreadyExistsError(absl::StrCat(
      "table `", table, "` is registered by ",
      it->second.source == kFile ? "the registry file " + sources_.file
                                 : std::string("the --tables flag"),
      " of the writer; change it there"));
}

absl::StatusOr<v1::RegisteredTable> TableRegistry::Put(v1::TableConfig config) {
  ASSIGN_OR_RETURN(config, NormalizeTableConfig(std::move(config)));
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckAdminOwned(config.name()));
    if (config.create_if_missing()) {
      RETURN_IF_ERROR(backend_.CreateIfMissing(config));
    }
    absl::StatusOr<v1::TableSchema> schema = backend_.Inspect(config);
    if (absl::IsNotFound(schema.status())) {
      return absl::NotFoundError(absl::StrCat(
          schema.status().message(),
          "; create it first, or register it with create_if_missing: true "
          "and headers"));
    }
    RETURN_IF_ERROR(schema.status());
    RETURN_IF_ERROR(backend_.Store(config));
    RETURN_IF_ERROR(MergeAndActivate(/*strict=*/false));
  }
  return Get(config.name());
}

absl::Status TableRegistry::Delete(const std::string& table) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckAdminOwned(table));
  RETURN_IF_ERROR(backend_.Unstore(table));
  return MergeAndActivate(/*strict=*/false);
}

}  // namespace sheetsync
