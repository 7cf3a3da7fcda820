#include "gateway/readiness.h"

#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"

namespace sheetsync::gateway {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

Readiness::Readiness(const std::vector<std::string>& addresses,
                     const GrpcTls& tls, absl::Duration interval)
    : interval_(interval) {
  for (const std::string& address : addresses) {
    backends_.push_back({address, grpc::health::v1::Health::NewStub(
                                      MakeChannel(address, tls))});
  }
  poller_ = std::thread([this] {
    do {
      Poll();
    } while (!stop_.WaitForNotificationWithTimeout(interval_));
  });
}

Readiness::~Readiness() {
  stop_.Notify();
  poller_.join();
}

void Readiness::Poll() {
  std::string why;
  for (const Backend& backend : backends_) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(1));
    // Waiting (rather than failing at once while the channel is in
    // TRANSIENT_FAILURE) keeps this thread polling, which is what moves a
    // reconnection forward in a process without a gRPC server: a TLS
    // handshake needs several polls, the 5 s backup poller is too slow.
    context.set_wait_for_ready(true);
    HealthCheckResponse response;
    grpc::Status status =
        backend.stub->Check(&context, HealthCheckRequest(), &response);
    if (!status.ok()) {
      why = absl::StrCat(backend.address, " unreachable: ",
                         status.error_message());
      break;
    }
    if (response.status() != HealthCheckResponse::SERVING) {
      why = absl::StrCat(backend.address, " is not serving");
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  ready_ = why.empty();
  why_ = std::move(why);
}

bool Readiness::Ready(std::string* why) const {
  absl::MutexLock lock(&mu_);
  if (why != nullptr) *why = why_;
  return ready_;
}

}  // namespace sheetsync::gateway
