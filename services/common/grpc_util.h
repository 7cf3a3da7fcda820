// Helpers at the gRPC edge: status conversion, channels and call deadlines.
// All functions are thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_GRPC_UTIL_H_
#define SHEETSYNC_SERVICES_COMMON_GRPC_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/grpc_tls.h"
#include "services/common/rpc_observer.h"

namespace sheetsync {

grpc::Status ToGrpcStatus(const absl::Status& status);

// How a FAILED_PRECONDITION's message starts when the change-feed cursor is
// older than the retention (HTTP 410); any other FAILED_PRECONDITION is a
// table that cannot sync as it now stands.
inline constexpr char kCursorExpired[] = "cursor_expired";

// Moves an OK `result` into `*response` and answers OK, or answers the
// result's status: the last line of every RPC adapter.
template <typename T>
grpc::Status AnswerWith(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}
absl::Status FromGrpcStatus(const grpc::Status& status);

// Creates a channel to `addresses`: one "host:port" or a comma-separated list
// of replicas, balanced round-robin per call. A "dns:///name:port" target is
// passed through (also round-robin, for Kubernetes headless services).
// `tls` secures the channel (or not). `observer` (may be null) instruments
// every call and must outlive the channel.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view addresses,
                                           const GrpcTls& tls,
                                           RpcObserver* observer = nullptr);

// Sets the deadline of an outgoing call: `timeout` from now, but never later
// than the deadline of the incoming call `parent` (when given) so that work
// stops once nobody waits for it.
void SetDeadline(grpc::ClientContext& context, absl::Duration timeout,
                 const grpc::ServerContextBase* parent = nullptr);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_GRPC_UTIL_H_
