// Builds the contract's per-change result (section 2) from a merge outcome
// and the row as stored when the batch commits. Pure; thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_RESULTS_H_
#define SHEETSYNC_SERVICES_RESOLVER_RESULTS_H_

#include "services/common/merge.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Returns the result of `change`. `merged` is the row's merged state after
// the batch (for current_versions); `stored` is the user-table row read in
// the committing transaction, or null when it was not read.
v1::ChangeResult BuildResult(const v1::Change& change,
                             const ChangeOutcome& outcome,
                             const v1::RowState& merged,
                             const v1::StoredRow* stored,
                             const v1::TableSchema& schema);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_RESULTS_H_
