// Validation of the identifiers every change carries (contract section 1):
// the row's UUID `row_id` and the edit's `event_id`.
//
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_IDS_H_
#define SHEETSYNC_SERVICES_COMMON_IDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sheetsync {

// Returns `row_id` in lower case when it is a UUID in the 8-4-4-4-12 hex form
// (any case; no braces, no "urn:uuid:", no surrounding spaces). Otherwise
// returns Reject("invalid_row_id", ...).
absl::StatusOr<std::string> NormalizeRowId(absl::string_view row_id);

// Returns the row id of a key as MySQL stores it: NormalizeRowId, and, when
// the key column tells case apart (`case_sensitive`: a _bin or _cs
// collation), only a key already in lower case. There 'ABC…' and 'abc…' are
// two rows, and the sheet, whose ids are lower case, can only address the
// second: the first does not sync (Reject("invalid_row_id", ...)).
absl::StatusOr<std::string> RowIdOfStoredKey(absl::string_view key,
                                             bool case_sensitive);

// Returns OK when `event_id` is 1-128 bytes, each printable ASCII
// (0x21-0x7E). Otherwise returns Reject("invalid_event_id", ...). Event ids
// are compared byte for byte, so nothing is normalised.
absl::Status ValidateEventId(absl::string_view event_id);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_IDS_H_
