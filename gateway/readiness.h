// Readiness: polls grpc.health.v1.Health/Check of every backend in the
// background so that /readyz answers at once from the last result. A writer
// reports NOT_SERVING while MySQL is unreachable, so MySQL is covered too.
// Thread-safe.
#ifndef SHEETSYNC_GATEWAY_READINESS_H_
#define SHEETSYNC_GATEWAY_READINESS_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/grpc_tls.h"

namespace sheetsync::gateway {

class Readiness {
 public:
  // Starts polling each address (one gRPC process or a comma-separated list
  // of replicas, each list checked as one) every `interval`, over channels
  // secured by `tls` like every other call to the backends.
  Readiness(const std::vector<std::string>& addresses, const GrpcTls& tls,
            absl::Duration interval);
  ~Readiness();

  // Returns true when every backend answered SERVING at the last poll;
  // otherwise false and, in `why`, which one did not by its place in the
  // list ("backend 2 of 3"): /readyz is public, so its answer names no
  // address. The address and gRPC's detail go to the log when it changes.
  bool Ready(std::string* why) const;

 private:
  void Poll();

  struct Backend {
    std::string address;
    std::unique_ptr<grpc::health::v1::Health::Stub> stub;
  };
  std::vector<Backend> backends_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  std::string why_ ABSL_GUARDED_BY(mu_) = "not checked yet";
  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_READINESS_H_
