// CapturePoller: brings direct MySQL edits into the merge. In the background
// it claims the captured edits of every registered table from the writer
// (leased, so replicas of the resolver share the work without doubling it)
// and resolves them exactly like sheet edits, consuming them in the same
// transaction as their merge. A batch that fails stays captured and is
// claimed again when its lease ends. A table that filled its batch is
// likely to have more waiting (a bulk UPDATE, a LOAD DATA): the next poll
// then starts at once instead of after the interval, so a backlog drains
// as fast as the merge goes. Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_CAPTURE_POLLER_H_
#define SHEETSYNC_SERVICES_RESOLVER_CAPTURE_POLLER_H_

#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/metrics.h"
#include "services/resolver/resolver.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

struct CapturePollerOptions {
  absl::Duration interval = absl::Milliseconds(200);
  int batch = 500;
  absl::Duration lease = absl::Seconds(30);
  absl::Duration timeout = absl::Seconds(10);
};

class CapturePoller {
 public:
  // Every reference must outlive the poller.
  CapturePoller(v1::Writer::StubInterface& writer, Resolver& resolver,
                SyncMetrics& metrics, const Clock& clock,
                CapturePollerOptions options);
  ~CapturePoller();  // stops the background thread

  struct Polled {
    int merged = 0;        // edits merged
    bool backlog = false;  // some table filled its batch: more may wait
    absl::Status failed;   // of the tables whose poll failed
  };
  // Merges up to a batch of what is captured now in every table. An error
  // only when the tables could not be listed; one table failing does not
  // keep the others from being polled, nor their backlog from being seen.
  absl::StatusOr<Polled> PollOnce();

  // Starts polling in a background thread: at once, then every `interval`,
  // or again at once after a poll that found a backlog.
  void Start();
  void Stop();

 private:
  // Merges up to a batch of `table`'s captured edits into `polled`.
  absl::Status PollTable(const std::string& table, Polled& polled);

  v1::Writer::StubInterface& writer_;
  Resolver& resolver_;
  SyncMetrics& metrics_;
  const Clock& clock_;
  const CapturePollerOptions options_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_CAPTURE_POLLER_H_
