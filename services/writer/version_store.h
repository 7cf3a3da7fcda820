// VersionStore: the writer's view of the database — table schemas, the
// per-cell version state, and atomic application of a merge plan. The gRPC
// adapter (writer_service) talks only to this interface.
#ifndef SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_
#define SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_

#include <string>

#include "absl/status/statusor.h"
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

  // Commits the plan in one transaction when every row's rev still equals
  // its expected_rev and no new event id is known yet; otherwise writes
  // nothing and answers conflict with the fresh state. UNAVAILABLE when
  // MySQL cannot be reached (nothing was committed).
  virtual absl::StatusOr<v1::ApplyResponse> Apply(
      const v1::ApplyRequest& request) = 0;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_VERSION_STORE_H_
