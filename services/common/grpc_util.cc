#include "services/common/grpc_util.h"

#include <chrono>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sheetsync {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view addresses,
                                           const GrpcTls& tls,
                                           RpcObserver* observer) {
  std::string target;
  if (absl::StrContains(addresses, ":///")) {
    target = std::string(addresses);
  } else {
    std::vector<absl::string_view> parts =
        absl::StrSplit(addresses, ',', absl::SkipWhitespace());
    target = absl::StrCat("ipv4:", absl::StrJoin(parts, ","));
  }
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  // Reconnect quickly after a replica restarts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  tls.SetTargetName(target, args);
  if (observer != nullptr) {
    return grpc::experimental::CreateCustomChannelWithInterceptors(
        target, tls.ChannelCredentials(), args, observer->ClientInterceptors());
  }
  return grpc::CreateCustomChannel(target, tls.ChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout,
                 const grpc::ServerContextBase* parent) {
  auto deadline = std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout);
  if (parent != nullptr && parent->deadline() < deadline) {
    deadline = parent->deadline();
  }
  context.set_deadline(deadline);
}

}  // namespace sheetsync
