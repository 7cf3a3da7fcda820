// JSON <-> protobuf for POST /v1/edits (contract section 2): the body is
// checked against RFC 8259 (json_syntax.h), parsed with simdjson into a
// google.protobuf.Struct (numbers beyond a double become ±infinity, which
// coercion rejects for that change alone), its shape checked (the only reasons
// for 400), and each change is handed on as sent for ingest to validate.
// Responses are printed with protobuf's JSON support. Pure; thread-safe.
#ifndef SHEETSYNC_GATEWAY_EDITS_JSON_H_
#define SHEETSYNC_GATEWAY_EDITS_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync::gateway {

// Returns the request for ingest, or InvalidArgument with a message a person
// can act on when the body is not JSON (also: nested more than 32 deep, a
// name twice outside a change), not an object with a string `table` and an
// array `changes` of objects, or has a `spreadsheet_id` that is not a string
// of at most 255 characters. A change that names a field twice keeps the
// first value and is listed in `unreadable_changes`, for ingest to reject.
absl::StatusOr<v1::SubmitRequest> ParseEditsBody(absl::string_view body);
// The same, into `request` (empty; it may live on an arena). On an error
// `request` holds part of the body.
absl::Status ParseEditsBodyInto(absl::string_view body, v1::SubmitRequest& request);

// Returns {"results":[...]} with the contract's field names.
std::string RenderResults(const v1::SubmitResponse& response);

// Returns true when some change was committed: a result neither `rejected`
// nor `duplicate` (a `stale` change's event id is stored).
bool CommittedAny(const v1::SubmitResponse& response);

// Returns true when every result is `rejected` (and there is at least one).
bool AllRejected(const v1::SubmitResponse& response);

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_EDITS_JSON_H_
