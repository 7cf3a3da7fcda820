// TableRegistry: checking a table's configuration and parsing the registry
// file.
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/status_macros.h"
#include "services/writer/registry.h"

namespace sheetsync {
namespace {

constexpr size_t kMaxIdentifierChars = 64;  // MySQL's limit, in characters
constexpr size_t kMaxSheetChars = 100;      // Google Sheets' limit
constexpr absl::string_view kReservedPrefix = "_sheetsync_";

// Returns the number of code points of valid UTF-8 `text`, or -1. With
// `bmp_only` (MySQL identifiers are utf8mb3) 4-byte sequences are invalid.
int64_t Utf8Length(absl::string_view text, bool bmp_only) {
  int64_t chars = 0;
  for (size_t i = 0; i < text.size(); ++chars) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80           ? 1
               : (c >> 5) == 0x6  ? 2
               : (c >> 4) == 0xE  ? 3
               : (c >> 3) == 0x1E ? 4
                                  : 0;
    if (n == 0 || i + n > text.size() || (bmp_only && n == 4)) return -1;
    uint32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min = n == 1 ? 0 : n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += n;
  }
  return chars;
}

// MySQL identifiers: 1-64 characters of the Basic Multilingual Plane, no NUL,
// no trailing space. Anything else is allowed (they are always quoted).
absl::Status CheckIdentifier(absl::string_view what, const std::string& name) {
  const int64_t chars = Utf8Length(name, /*bmp_only=*/true);
  const char* problem = nullptr;
  if (name.empty()) {
    problem = "must not be empty";
  } else if (chars < 0) {
    problem =
        "must be valid UTF-8 without 4-byte characters (MySQL identifiers "
        "are utf8mb3)";
  } else if (static_cast<size_t>(chars) > kMaxIdentifierChars) {
    problem = "is longer than 64 characters";
  } else if (absl::StrContains(name, absl::string_view("\0", 1))) {
    problem = "must not contain NUL";
  } else if (name.back() == ' ') {
    problem = "must not end with a space";
  }
  if (problem == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", name, "\" ", problem));
}

absl::Status CheckHeaders(const v1::TableConfig& config) {
  if (!config.create_if_missing()) {
    if (config.headers().empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("table `", config.name(),
                     "`: headers are only used with create_if_missing: true"));
  }
  if (config.headers().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table `", config.name(),
        "`: create_if_missing needs headers (the columns to create)"));
  }
  absl::flat_hash_set<std::string> seen = {
      absl::AsciiStrToLower(config.key_column())};
  for (const std::string& header : config.headers()) {
    RETURN_IF_ERROR(CheckIdentifier(
        absl::StrCat("table `", config.name(), "`: header"), header));
    // Column names are case-insensitive in MySQL.
    if (!seen.insert(absl::AsciiStrToLower(header)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("table `", config.name(), "`: header \"", header,
                       "\" appears twice (or is the key column)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::TableConfig> NormalizeTableConfig(v1::TableConfig config) {
  RETURN_IF_ERROR(CheckIdentifier("table name", config.name()));
  if (absl::StartsWithIgnoreCase(config.name(), kReservedPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("table name \"", config.name(),
                     "\" is reserved: names "
                     "starting with _sheetsync_ hold the engine's metadata"));
  }
  if (config.key_column().empty()) config.set_key_column("uuid");
  RETURN_IF_ERROR(
      CheckIdentifier(absl::StrCat("table `", config.name(), "`: key_column"),
                      config.key_column()));
  if (config.sheet().empty()) config.set_sheet(config.name());
  const int64_t sheet_chars = Utf8Length(config.sheet(), /*bmp_only=*/false);
  if (sheet_chars < 0 || static_cast<size_t>(sheet_chars) > kMaxSheetChars) {
    return absl::InvalidArgumentError(
        absl::StrCat("table `", config.name(),
                     "`: sheet must be valid UTF-8 of at most 100 characters"));
  }
  for (const std::string& column : config.read_only_columns()) {
    RETURN_IF_ERROR(CheckIdentifier(
        absl::StrCat("table `", config.name(), "`: read_only_columns entry"),
        column));
  }
  RETURN_IF_ERROR(CheckHeaders(config));
  return config;
}

absl::StatusOr<std::vector<v1::TableConfig>> ParseRegistryFile(
    absl::string_view json) {
  v1::RegistryFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a typo must not pass silently
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a registry file (JSON of sheetsync.v1.RegistryFile: "
                     "{\"tables\": [{\"name\": ...}]}): ",
                     parsed.message().as_string()));
  }
  std::vector<v1::TableConfig> tables;
  absl::flat_hash_set<std::string> names;
  for (v1::TableConfig& config : *file.mutable_tables()) {
    ASSIGN_OR_RETURN(v1::TableConfig table,
                     NormalizeTableConfig(std::move(config)));
    if (!names.insert(table.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("table `", table.name(), "` is listed twice"));
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

}  // namespace sheetsync
