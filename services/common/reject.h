// Per-change rejection codes carried inside absl::Status.
//
// A change that cannot be accepted (bad row_id, a value that does not fit its
// column, ...) is answered `rejected` with a snake_case `code` (contract
// section 2; also the `reason` label of sheetsync_rejected_total) and a
// message a person can act on. Reject() builds such a status: code
// INVALID_ARGUMENT, the message, and the code as a payload, so it travels
// through RETURN_IF_ERROR unchanged. Codes in use: invalid_event_id,
// invalid_row_id, invalid_timestamp, future_timestamp, missing_cells,
// invalid_change, unknown_column, key_column, read_only_column, type_mismatch,
// out_of_range, value_too_long, null_not_allowed, invalid_value.
//
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_REJECT_H_
#define SHEETSYNC_SERVICES_COMMON_REJECT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sheetsync {

// The payload type URL under which Reject() stores the code.
inline constexpr absl::string_view kRejectCodeTypeUrl =
    "type.sheetsync/reject_code";

// The code RejectCode() answers for a status that carries none.
inline constexpr absl::string_view kDefaultRejectCode = "invalid_change";

// Returns an INVALID_ARGUMENT status with `message` that carries `code`.
absl::Status Reject(absl::string_view code, absl::string_view message);

// Returns the code stored by Reject(), or "invalid_change" when `status`
// carries none (including an OK status).
std::string RejectCode(const absl::Status& status);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_REJECT_H_
