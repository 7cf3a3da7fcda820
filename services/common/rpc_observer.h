// RpcObserver: gRPC interceptors that every process installs on its server
// and its channels. They count calls and time them per method and status
// code (sheetsync_grpc_{server,client}_handled_total and
// ..._handling_seconds), carry a trace id across the hops in the
// `x-sheetsync-trace` metadata, and log one JSON line per served call with
// that trace id, so one edit can be followed from the gateway to the commit.
// A server whose calls a CompletionLoop serves has no server interceptor:
// the loop observes its calls through Served(), at a fraction of the cost.
// Thread-safe; must outlive the server and channels that use it.
#ifndef SHEETSYNC_SERVICES_COMMON_RPC_OBSERVER_H_
#define SHEETSYNC_SERVICES_COMMON_RPC_OBSERVER_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/client_interceptor.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sheetsync {

// The metadata key of the trace id.
inline constexpr char kTraceMetadataKey[] = "x-sheetsync-trace";

// Returns the trace id of the call this thread is serving ("" when none).
// Synchronous handlers run on the thread of their interceptors, so calls
// they make carry the id on.
const std::string& CurrentTraceId();

// Returns a new random trace id (16 hex digits).
std::string NewTraceId();

// Makes `trace_id` the one CurrentTraceId() returns on this thread while it
// lives (calls started meanwhile carry it on), then restores the previous.
class ScopedTraceId {
 public:
  explicit ScopedTraceId(std::string trace_id);
  ~ScopedTraceId();
  ScopedTraceId(const ScopedTraceId&) = delete;
  ScopedTraceId& operator=(const ScopedTraceId&) = delete;

 private:
  std::string previous_;
};

class RpcObserver {
 public:
  // Registers the families on `registry`, which must outlive the observer.
  explicit RpcObserver(prometheus::Registry& registry);

  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  ServerInterceptors();
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
  ClientInterceptors();

  // Records one finished call (used by the interceptors).
  void RecordServer(const std::string& method, int code, double seconds);
  void RecordClient(const std::string& method, int code, double seconds);

  // Records one served call and logs its line (the server interceptor, and
  // a CompletionLoop, which observes its calls itself).
  void Served(const std::string& method, int code, double seconds,
              const std::string& trace_id);
  // Returns the trace id a served call's metadata carries, or a new one.
  static std::string TraceIdOf(const grpc::ServerContextBase& context);

 private:
  // The metrics of one direction (served or made calls). Each method's
  // children are looked up in their families once: a family's Add() builds
  // and hashes the label set under the family's lock, on every call.
  class Side {
   public:
    Side(prometheus::Family<prometheus::Counter>& handled,
         prometheus::Family<prometheus::Histogram>& seconds)
        : handled_(handled), seconds_(seconds) {}
    void Record(const std::string& method, int code, double seconds);

   private:
    struct Children {
      prometheus::Histogram* seconds = nullptr;
      std::array<prometheus::Counter*, 17> handled{};  // by status code
    };
    prometheus::Family<prometheus::Counter>& handled_;
    prometheus::Family<prometheus::Histogram>& seconds_;
    absl::Mutex mu_;
    absl::flat_hash_map<std::string, Children> methods_ ABSL_GUARDED_BY(mu_);
  };

  Side server_;
  Side client_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_RPC_OBSERVER_H_
