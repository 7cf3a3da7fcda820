// CapturePoller: brings direct MySQL edits into the merge. In the background
// it claims the captured edits of every registered table from the writer
// (leased, so replicas of the resolver share the work without doubling it)
// and resolves them exactly like sheet edits, consuming them in the same
// transaction as their merge. A batch that fails stays captured and is
// claimed again when its lease ends. Thread-safe.
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

  // Merges what is captured now in every table; returns how many edits.
  absl::StatusOr<int> PollOnce();

  // Starts polling every `interval` in a background thread.
  void Start();
  void Stop();

 private:
  absl::StatusOr<int> PollTable(const std::string& table);

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
