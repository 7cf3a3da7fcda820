#include "gateway/readiness.h"

#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "services/common/process.h"

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
  // What /readyz says (public, so no addresses: "backend 2 of 3") and what
  // the log says (the address and gRPC's detail), once per change.
  std::string why;
  std::string detail;
  for (size_t i = 0; i < backends_.size(); ++i) {
    const Backend& backend = backends_[i];
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
    const std::string which =
        absl::StrCat("backend ", i + 1, " of ", backends_.size());
    if (!status.ok()) {
      why = absl::StrCat(which, " unreachable (see the gateway's log)");
      detail = absl::StrCat(backend.address,
                            " unreachable: ", status.error_message());
      break;
    }
    if (response.status() != HealthCheckResponse::SERVING) {
      why = absl::StrCat(which, " is not serving");
      detail = absl::StrCat(backend.address, " is not serving");
      break;
    }
  }
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = why != why_;
    ready_ = why.empty();
    why_ = why;
  }
  if (changed && !why.empty()) LogWarning("not ready", {{"backend", detail}});
  if (changed && why.empty()) LogInfo("ready");
}

bool Readiness::Ready(std::string* why) const {
  absl::MutexLock lock(&mu_);
  if (why != nullptr) *why = why_;
  return ready_;
}

}  // namespace sheetsync::gateway
