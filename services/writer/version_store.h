// VersionStore: the writer's view of the database — table schemas, the
// per-cell version state, and atomic application of a merge plan. The gRPC
// adapter (writer_service) talks only to this interface.
#ifndef SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_
#define SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class VersionStore {
 public:
  virtual ~VersionStore() = default;

  // Returns the registered table's columns. NOT_FOUND when the table is not
  // registered or does not exist.
  virtual absl::StatusOr<v1::TableSchema> DescribeTable(
      const std::string& table) = 0;

  // Reads the stored state of the given rows and which event ids are known.
  virtual absl::StatusOr<v1::ReadStateResponse> ReadState(
      const v1::ReadStateRequest& request) = 0;

  // What Apply does with a plan it cannot commit at once.
  struct ApplyOptions {
    // After a deadlock or a lock wait timeout Apply tries again, but not
    // once this (the callers' deadline) has passed: a commit then would be
    // acknowledged to no one, and the caller's own retry (or the capture
    // lease) applies it.
    absl::Time retry_until = absl::InfiniteFuture();
    // The combined plan of several callers (group commit), tried once: a
    // conflict answers without the fresh state, a refused value without
    // finding its row, and neither counts as a retry, for the plans are then
    // applied one by one, and theirs are the conflicts that count.
    bool combined = false;
  };

  // Commits the plan in one transaction when every row's rev still equals
  // its expected_rev and no new event id is known yet; otherwise writes
  // nothing and answers conflict with the fresh state. UNAVAILABLE when
  // MySQL cannot be reached (nothing was committed).
  virtual absl::StatusOr<v1::ApplyResponse> Apply(
      const v1::ApplyRequest& request, const ApplyOptions& options) = 0;

  // Returns the registered tables.
  virtual std::vector<std::string> ListTables() = 0;

  // Reserves up to `limit` captured MySQL edits of the table (oldest first)
  // for `lease_us`, as changes; a batch that merges them deletes them
  // (ApplyRequest.consumed_capture_ids).
  virtual absl::StatusOr<v1::ClaimCaptureResponse> ClaimCapture(
      const v1::ClaimCaptureRequest& request) = 0;

  // Returns the feed after `since_seq`: one entry per changed row with its
  // merged state now. FAILED_PRECONDITION "cursor_expired" when the change
  // log after since_seq was pruned.
  virtual absl::StatusOr<v1::ReadFeedResponse> ReadFeed(
      const v1::ReadFeedRequest& request) = 0;

  // Returns live rows after `after` in key order, with the feed position to
  // resume from.
  virtual absl::StatusOr<v1::ReadRowsResponse> ReadRows(
      const v1::ReadRowsRequest& request) = 0;
};

// Fills `answer` with the rows `plan` asked to read back (current_row_ids),
// in that order; `find` returns the stored row of an id, or nullptr when it
// does not exist.
inline void AddCurrentRows(
    const v1::ApplyRequest& plan,
    absl::FunctionRef<const v1::StoredRow*(const std::string& row_id)> find,
    v1::ApplyResponse& answer) {
  for (const std::string& id : plan.current_row_ids()) {
    if (const v1::StoredRow* row = find(id)) {
      *answer.add_current_rows() = *row;
    } else {
      answer.add_current_rows()->set_row_id(id);
    }
  }
}

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_
