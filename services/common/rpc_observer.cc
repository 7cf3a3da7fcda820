#include "services/common/rpc_observer.h"

#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/process.h"

namespace sheetsync {
namespace {

using grpc::experimental::InterceptionHookPoints;
using Clock = std::chrono::steady_clock;

thread_local std::string current_trace_id;

const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

const char* CodeName(int code) {
  static const char* const kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
      "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class ServerObserver final : public grpc::experimental::Interceptor {
 public:
  ServerObserver(grpc::experimental::ServerRpcInfo* info, RpcObserver& observer)
      : method_(info->method()), observer_(observer), start_(Clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      auto it = metadata->find(kTraceMetadataKey);
      trace_id_ = it == metadata->end() ? NewTraceId()
                                        : std::string(it->second.data(), it->second.size());
      current_trace_id = trace_id_;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      observer_.Served(method_, methods->GetSendStatus().error_code(), Since(start_),
                       trace_id_);
      current_trace_id.clear();
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  RpcObserver& observer_;
  const Clock::time_point start_;
  std::string trace_id_;
};

class ClientObserver final : public grpc::experimental::Interceptor {
 public:
  ClientObserver(grpc::experimental::ClientRpcInfo* info, RpcObserver& observer)
      : method_(info->method()), observer_(observer), start_(Clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* metadata = methods->GetSendInitialMetadata();
      if (!current_trace_id.empty() && metadata->count(kTraceMetadataKey) == 0) {
        metadata->emplace(kTraceMetadataKey, current_trace_id);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      observer_.RecordClient(method_, methods->GetRecvStatus()->error_code(), Since(start_));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  RpcObserver& observer_;
  const Clock::time_point start_;
};

class ServerFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerFactory(RpcObserver& observer) : observer_(observer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ServerObserver(info, observer_);  // gRPC takes ownership
  }

 private:
  RpcObserver& observer_;
};

class ClientFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientFactory(RpcObserver& observer) : observer_(observer) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new ClientObserver(info, observer_);  // gRPC takes ownership
  }

 private:
  RpcObserver& observer_;
};

}  // namespace

const std::string& CurrentTraceId() { return current_trace_id; }

ScopedTraceId::ScopedTraceId(std::string trace_id)
    : previous_(std::exchange(current_trace_id, std::move(trace_id))) {}

ScopedTraceId::~ScopedTraceId() { current_trace_id = std::move(previous_); }

std::string NewTraceId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%016x", rng());
}

RpcObserver::RpcObserver(prometheus::Registry& registry)
    : server_(prometheus::BuildCounter()
                  .Name("sheetsync_grpc_server_handled_total")
                  .Help("gRPC calls served, by method and status code.")
                  .Register(registry),
              prometheus::BuildHistogram()
                  .Name("sheetsync_grpc_server_handling_seconds")
                  .Help("Time to serve a gRPC call, by method.")
                  .Register(registry)),
      client_(prometheus::BuildCounter()
                  .Name("sheetsync_grpc_client_handled_total")
                  .Help("gRPC calls made, by method and status code.")
                  .Register(registry),
              prometheus::BuildHistogram()
                  .Name("sheetsync_grpc_client_handling_seconds")
                  .Help("Time of an outgoing gRPC call, by method.")
                  .Register(registry)) {}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcObserver::ServerInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> list;
  list.push_back(std::make_unique<ServerFactory>(*this));
  return list;
}

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
RpcObserver::ClientInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> list;
  list.push_back(std::make_unique<ClientFactory>(*this));
  return list;
}

void RpcObserver::Side::Record(const std::string& method, int code, double seconds) {
  if (code < 0 || code > 16) code = 2;  // UNKNOWN, as CodeName() says
  prometheus::Histogram* histogram;
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    Children& children = methods_[method];
    if (children.seconds == nullptr) {
      children.seconds = &seconds_.Add({{"method", method}}, Buckets());
    }
    if (children.handled[code] == nullptr) {
      children.handled[code] = &handled_.Add({{"method", method}, {"code", CodeName(code)}});
    }
    histogram = children.seconds;
    counter = children.handled[code];
  }
  counter->Increment();
  histogram->Observe(seconds);
}

void RpcObserver::RecordServer(const std::string& method, int code, double seconds) {
  server_.Record(method, code, seconds);
}

void RpcObserver::Served(const std::string& method, int code, double seconds,
                         const std::string& trace_id) {
  RecordServer(method, code, seconds);
  LogAccess("rpc", {{"method", method},
                    {"code", CodeName(code)},
                    {"ms", absl::StrFormat("%.3f", seconds * 1000)},
                    {"trace_id", trace_id}});
}

std::string RpcObserver::TraceIdOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTraceMetadataKey);
  if (it == metadata.end()) return NewTraceId();
  return std::string(it->second.data(), it->second.size());
}

void RpcObserver::RecordClient(const std::string& method, int code, double seconds) {
  client_.Record(method, code, seconds);
}

}  // namespace sheetsync
