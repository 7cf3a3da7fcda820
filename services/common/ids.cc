#include "services/common/ids.h"

#include <cstddef>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/reject.h"

namespace sheetsync {
namespace {

constexpr size_t kUuidLength = 36;
constexpr size_t kMaxEventIdBytes = 128;

bool IsUuidHyphenPosition(size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

// Quotes at most the first 64 bytes of `s` for an error message, with
// control and non-ASCII bytes escaped so the message stays readable.
std::string Shown(absl::string_view s) {
  constexpr size_t kMax = 64;
  std::string shown = absl::CHexEscape(s.substr(0, kMax));
  return absl::StrCat("\"", shown, s.size() > kMax ? "...\"" : "\"");
}

}  // namespace

absl::StatusOr<std::string> NormalizeRowId(absl::string_view row_id) {
  bool ok = row_id.size() == kUuidLength;
  for (size_t i = 0; ok && i < row_id.size(); ++i) {
    ok = IsUuidHyphenPosition(i) ? row_id[i] == '-'
                                 : absl::ascii_isxdigit(row_id[i]);
  }
  if (!ok) {
    return Reject("invalid_row_id",
                  absl::StrCat("row_id must be a UUID like "
                               "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f; got ",
                               Shown(row_id)));
  }
  return absl::AsciiStrToLower(row_id);
}

absl::StatusOr<std::string> RowIdOfStoredKey(absl::string_view key,
                                             bool case_sensitive) {
  absl::StatusOr<std::string> id = NormalizeRowId(key);
  if (id.ok() && case_sensitive && *id != key) {
    return Reject(
        "invalid_row_id",
        absl::StrCat("key ", Shown(key),
                     " has upper-case letters in a key column that "
                     "tells case apart: the sheet cannot address it"));
  }
  return id;
}

absl::Status ValidateEventId(absl::string_view event_id) {
  if (event_id.empty()) {
    return Reject("invalid_event_id", "event_id is missing or empty");
  }
  if (event_id.size() > kMaxEventIdBytes) {
    return Reject("invalid_event_id",
                  absl::StrFormat("event_id must be at most %d bytes; got %d",
                                  kMaxEventIdBytes, event_id.size()));
  }
  for (size_t i = 0; i < event_id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(event_id[i]);
    if (c < 0x21 || c > 0x7E) {
      return Reject(
          "invalid_event_id",
          absl::StrFormat("event_id may hold only printable ASCII without "
                          "spaces (0x21-0x7E); byte 0x%02X at offset %d in %s",
                          c, i, Shown(event_id)));
    }
  }
  return absl::OkStatus();
}

}  // namespace sheetsync
