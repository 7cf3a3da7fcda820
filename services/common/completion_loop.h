// CompletionLoop: one thread that serves a service's unary methods and makes
// the calls they need, all on one gRPC completion queue.
//
// Why: gRPC 1.51's callback API runs callbacks on two threads per process
// that take turns to poll, and each turn is a wake-up, which on a small VM
// costs tens of microseconds. Here one thread polls, and an incoming call,
// the call it makes to the next hop and both answers are handled where they
// arrive: about a third less CPU per relayed call at one call at a time
// (README, Performance, session 7). No other gRPC thread may poll in the
// process for that to hold, so the loop also answers the standard health
// service's Check itself (gRPC's default one runs on the callback threads).
//
// Handlers, call completions and timers run on the loop's thread, one at a
// time; they must not block for long (a blocking call in one holds up every
// other): a handler with blocking work hands it to threads of its own
// (WorkerPool), and those answer. Call(), At() and a handler's `done` may be
// used from any thread, also during and after Shutdown.
#ifndef SHEETSYNC_SERVICES_COMMON_COMPLETION_LOOP_H_
#define SHEETSYNC_SERVICES_COMMON_COMPLETION_LOOP_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/arena.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "services/common/grpc_util.h"
#include "services/common/rpc_observer.h"

namespace sheetsync {

class CompletionLoop {
 public:
  // Answers a unary call: fills `*response` (whose arena is the request's)
  // and calls `done` once, on any thread (in the handler, in a completion,
  // or on a thread of the handler's own, which then sends the answer
  // itself). `context` and the messages stay valid until then; once the
  // loop is shutting down, `done` drops the answer (the call is cancelled).
  template <typename Request, typename Response>
  using UnaryHandler =
      std::function<void(grpc::ServerContext* context, const Request& request,
                         Response* response, std::function<void(absl::Status)> done)>;

  // With an `observer` (which must outlive the loop), every call served is
  // counted, timed and logged with its trace id (RpcObserver::Served) and
  // its handler runs with that trace id current (ScopedTraceId); every call
  // made is counted and timed (RpcObserver::RecordClient) and carries the
  // current trace id. Its channels then need no interceptors of the
  // observer's (MakeChannel without one).
  explicit CompletionLoop(RpcObserver* observer = nullptr) : observer_(observer) {}
  // Stops the thread if it still runs (see Shutdown).
  ~CompletionLoop();
  CompletionLoop(const CompletionLoop&) = delete;
  CompletionLoop& operator=(const CompletionLoop&) = delete;

  // Registers the health service on `builder` and takes a completion queue
  // of it. Before BuildAndStart (GrpcServer::Start does it). Without it, the
  // loop only makes calls (Call, At) on a queue of its own.
  void Attach(grpc::ServerBuilder& builder);

  // After BuildAndStart, before Start: serves `method` (&Service::RequestX)
  // of `service` (an AsyncService registered on the same server, that must
  // outlive the loop) with `handler`. `name` is the method's full name
  // ("/package.Service/Method"), for the observer.
  // `handler` is callable as a UnaryHandler<Request, Response>.
  template <typename Service, typename Base, typename Request, typename Response,
            typename Handler>
  void Serve(Service& service,  // derives from Base, the generated WithAsyncMethod_X
             void (Base::*method)(grpc::ServerContext*, Request*,
                                  grpc::ServerAsyncResponseWriter<Response>*,
                                  grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*),
             std::string name, Handler handler);

  // Starts the thread: calls are taken from now on. Call() and At() only
  // after it.
  void Start();

  // Sets what the health service's Check answers, for every service name.
  void SetServing(bool serving) { serving_ = serving; }

  // Starts a unary call with `prepare` (&Stub::PrepareAsyncX), whose full
  // name is `method` ("/package.Service/Method", for the observer); `done`
  // gets its status on the loop's thread, with the trace id current when the
  // call was made current again. `context`, `request` and `response` must
  // stay valid until then.
  template <typename Stub, typename Request, typename Response>
  void Call(typename std::common_type<Stub>::type& stub,  // Stub: from `prepare` only
            std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<Response>> (Stub::*prepare)(
                grpc::ClientContext*, const Request&, grpc::CompletionQueue*),
            const char* method, grpc::ClientContext* context, const Request& request,
            Response* response, std::function<void(grpc::Status)> done);

  // Runs `run` on the loop's thread at `when` (or at once if past). Once
  // the loop is stopping, runs it at once, here: what it starts then fails;
  // one still waiting when the loop stops runs then, not at `when`.
  void At(absl::Time when, std::function<void()> run);

  // Once the server is shut down (grpc::Server::Shutdown has returned):
  // cancels the calls still in flight, finishes what is queued, then stops
  // the thread. Calls started after that fail at once with UNAVAILABLE.
  // Idempotent.
  void Shutdown();

 private:
  // What the queue hands back: run once with the operation's `ok`, then
  // deleted.
  class Tag {
   public:
    explicit Tag(std::function<void(bool)> run) : run_(std::move(run)) {}
    void Run(bool ok) { run_(ok); }

   private:
    std::function<void(bool)> run_;
  };
  static void* NewTag(std::function<void(bool)> run) { return new Tag(std::move(run)); }

  // The state of one served call; its messages live on its arena.
  template <typename Request, typename Response>
  struct ServerCall {
    google::protobuf::Arena arena;
    Request* request = google::protobuf::Arena::CreateMessage<Request>(&arena);
    Response* response = google::protobuf::Arena::CreateMessage<Response>(&arena);
    grpc::ServerContext context;
    grpc::ServerAsyncResponseWriter<Response> responder{&context};
    std::chrono::steady_clock::time_point arrived;  // with an observer
    std::string trace_id;                           // with an observer
  };

  // A served method: its full name and its handler.
  template <typename Request, typename Response>
  struct Method {
    std::string name;
    UnaryHandler<Request, Response> handler;
  };

  // Asks for the next call of `method`; its arrival asks for the one after.
  template <typename Service, typename Request, typename Response, typename RequestFn>
  void Await(Service& service, RequestFn request,
             std::shared_ptr<const Method<Request, Response>> method);
  // Sends a served call's answer, or drops it once the loop is stopping.
  template <typename Request, typename Response>
  void Answer(ServerCall<Request, Response>* call, const absl::Status& status);
  // Adds or removes a call in flight.
  void Track(grpc::ClientContext* context, bool add);
  void ServeHealth();
  void AwaitWatch();
  void Loop();

  // Calls of a method waited for at once: more than one thread's worth, so
  // that a burst finds one ready while the loop handles the first.
  static constexpr int kAwaited = 4;

  grpc::CompletionQueue& cq() { return server_cq_ ? *server_cq_ : *client_cq_; }

  std::unique_ptr<grpc::ServerCompletionQueue> server_cq_;  // with Attach
  std::unique_ptr<grpc::CompletionQueue> client_cq_;        // without, from Start
  grpc::health::v1::Health::AsyncService health_;
  RpcObserver* const observer_;  // may be null
  std::atomic<bool> serving_{true};
  // Set on the loop's thread as it shuts the queue down: no new operation
  // may start on the queue from then on. Threads other than the loop's
  // start operations under a reader lock of `stop_mu_`; it is set under its
  // writer lock.
  std::atomic<bool> stopping_{false};
  absl::Mutex stop_mu_;
  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);  // in flight
  absl::flat_hash_set<grpc::Alarm*> alarms_ ABSL_GUARDED_BY(mu_);         // set
  std::thread thread_;
  bool shut_down_ = false;
};

template <typename Service, typename Request, typename Response, typename RequestFn>
void CompletionLoop::Await(Service& service, RequestFn request,
                           std::shared_ptr<const Method<Request, Response>> method) {
  auto* call = new ServerCall<Request, Response>;
  (service.*request)(
      &call->context, call->request, &call->responder, server_cq_.get(), server_cq_.get(),
      NewTag([this, &service, request, method, call](bool ok) {
        if (!ok || stopping_) {  // the server is shutting down
          delete call;
          return;
        }
        Await(service, request, method);
        if (observer_ != nullptr) {
          call->arrived = std::chrono::steady_clock::now();
          call->trace_id = RpcObserver::TraceIdOf(call->context);
        }
        ScopedTraceId trace(call->trace_id);  // none without an observer
        method->handler(
            &call->context, *call->request, call->response,
            [this, call, method](absl::Status status) {
              if (observer_ != nullptr) {
                observer_->Served(method->name, static_cast<int>(status.code()),
                                  std::chrono::duration<double>(
                                      std::chrono::steady_clock::now() - call->arrived)
                                      .count(),
                                  call->trace_id);
              }
              Answer(call, status);
            });
      }));
}

template <typename Request, typename Response>
void CompletionLoop::Answer(ServerCall<Request, Response>* call, const absl::Status& status) {
  absl::ReaderMutexLock lock(&stop_mu_);
  if (stopping_) {  // cancelled by the server's shutdown already
    delete call;
    return;
  }
  call->responder.Finish(*call->response, ToGrpcStatus(status),
                         NewTag([call](bool) { delete call; }));
}

template <typename Service, typename Base, typename Request, typename Response,
          typename Handler>
void CompletionLoop::Serve(
    Service& service,
    void (Base::*method)(grpc::ServerContext*, Request*,
                         grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
                         grpc::ServerCompletionQueue*, void*),
    std::string name, Handler handler) {
  auto shared = std::make_shared<const Method<Request, Response>>(
      Method<Request, Response>{std::move(name), std::move(handler)});
  for (int i = 0; i < kAwaited; ++i) Await(service, method, shared);
}

template <typename Stub, typename Request, typename Response>
void CompletionLoop::Call(
    typename std::common_type<Stub>::type& stub,
    std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<Response>> (Stub::*prepare)(
        grpc::ClientContext*, const Request&, grpc::CompletionQueue*),
    const char* method, grpc::ClientContext* context, const Request& request,
    Response* response, std::function<void(grpc::Status)> done) {
  struct Pending {
    std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<Response>> reader;
    grpc::Status status;
    std::function<void(grpc::Status)> done;
    std::string trace_id;
    std::chrono::steady_clock::time_point started;
  };
  {
    absl::ReaderMutexLock lock(&stop_mu_);
    if (!stopping_) {
      Track(context, true);
      const std::string& trace_id = CurrentTraceId();
      if (observer_ != nullptr && !trace_id.empty()) {
        context->AddMetadata(kTraceMetadataKey, trace_id);
      }
      auto* pending = new Pending{(stub.*prepare)(context, request, &cq()), {}, std::move(done),
                                  trace_id, std::chrono::steady_clock::now()};
      pending->reader->StartCall();
      pending->reader->Finish(
          response, &pending->status, NewTag([this, method, context, pending](bool) {
            Track(context, false);
            std::unique_ptr<Pending> owned(pending);
            if (observer_ != nullptr) {
              observer_->RecordClient(method, owned->status.error_code(),
                                      std::chrono::duration<double>(
                                          std::chrono::steady_clock::now() - owned->started)
                                          .count());
            }
            ScopedTraceId trace(std::move(owned->trace_id));
            owned->done(std::move(owned->status));
          }));
      return;
    }
  }
  done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the process is shutting down"));
}

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_COMPLETION_LOOP_H_
