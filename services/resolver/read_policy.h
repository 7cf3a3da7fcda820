// ReadPolicy: whether the resolver reads the stored state before planning a
// batch, or plans it against "nothing stored" and lets the writer's commit
// check settle it.
//
// A batch that only creates rows (a paste of new rows, an import) needs
// nothing read: planned against "nothing stored", its commit succeeds and
// saves a call to the writer and a MySQL round trip. When a row did exist or
// an event was known, the commit's rev check fails before anything is
// written and the writer answers with the fresh state, which a read would
// have fetched anyway: the batch costs one short rolled-back transaction
// more. So in `kAuto` each table keeps a moving average of how often such
// unread plans committed, and plans unread while that is at least one half;
// below it, every 16th batch still tries, to notice when the mix changes.
// This is only a cost model: correctness never depends on it.
//
// Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_READ_POLICY_H_
#define SHEETSYNC_SERVICES_RESOLVER_READ_POLICY_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace sheetsync {

class ReadPolicy {
 public:
  enum class Mode { kAuto, kAlways, kNever };  // kAlways: always read first

  // "auto", "always" or "never".
  static absl::StatusOr<Mode> ParseMode(const std::string& text);

  explicit ReadPolicy(Mode mode) : mode_(mode) {}

  // Returns true when the next batch for `table` should read the stored
  // state before planning.
  bool ReadFirst(const std::string& table);

  // Records whether a batch planned without reading committed as planned.
  void Record(const std::string& table, bool committed);

 private:
  struct Stats {
    double committed_rate = 1.0;  // moving average, 1/16 per batch
    unsigned skipped = 0;         // batches read first since the last try
  };

  const Mode mode_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Stats> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_READ_POLICY_H_
