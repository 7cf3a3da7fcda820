// Validation and normalisation of one change as a client sent it (a JSON
// object, contract section 2) into a v1::Change: uuid form, event_id,
// timestamp grammar and future-skew limit, delete/cells shape, columns that
// exist and may be written, values coerced to their column. Pure;
// thread-safe.
#ifndef SHEETSYNC_SERVICES_INGEST_VALIDATE_H_
#define SHEETSYNC_SERVICES_INGEST_VALIDATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

struct ValidationLimits {
  int64_t now_us = 0;                   // the server clock
  int64_t max_future_skew_us = 300'000'000;  // contract default: 300 s
};

// Returns the normalised change, or a Reject() status (services/common/
// reject.h) whose code says why. The source and origin are set by the
// caller.
absl::StatusOr<v1::Change> ValidateChange(const google::protobuf::Struct& raw,
                                          const v1::TableSchema& schema,
                                          const ValidationLimits& limits);

// As ValidateChange, into `change` (empty; it may live on an arena). On an
// error `change` holds part of the change.
absl::Status ValidateChangeInto(const google::protobuf::Struct& raw,
                                const v1::TableSchema& schema,
                                const ValidationLimits& limits, v1::Change& change);

// Returns the change's "event_id" and "row_id" as sent, when they are
// strings (for the result of a rejected change).
std::string RawString(const google::protobuf::Struct& raw, const char* field);

// Returns true when a cell of `raw` names a column that `schema` lacks (the
// schema may be stale: a column was added since it was read).
bool NamesUnknownColumn(const google::protobuf::Struct& raw,
                        const v1::TableSchema& schema);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_INGEST_VALIDATE_H_
