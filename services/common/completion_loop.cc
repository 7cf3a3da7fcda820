#include "services/common/completion_loop.h"

namespace sheetsync {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The state of one Watch call, answered at once (see ServeHealth).
struct WatchCall {
  grpc::ServerContext context;
  HealthCheckRequest request;
  grpc::ServerAsyncWriter<HealthCheckResponse> writer{&context};
};

}  // namespace

CompletionLoop::~CompletionLoop() { Shutdown(); }

void CompletionLoop::Attach(grpc::ServerBuilder& builder) {
  builder.RegisterService(&health_);
  server_cq_ = builder.AddCompletionQueue();
}

void CompletionLoop::ServeHealth() {
  Serve(health_, &grpc::health::v1::Health::AsyncService::RequestCheck,
        "/grpc.health.v1.Health/Check",
        [this](grpc::ServerContext*, const HealthCheckRequest&, HealthCheckResponse* response,
               std::function<void(absl::Status)> done) {
          response->set_status(serving_ ? HealthCheckResponse::SERVING
                                        : HealthCheckResponse::NOT_SERVING);
          done(absl::OkStatus());
        });
  // Watch (health checking by gRPC clients, which this project does not
  // use) answers UNIMPLEMENTED, which such clients take as "no health
  // checking" — as the health protocol specifies.
  AwaitWatch();
}

void CompletionLoop::AwaitWatch() {
  auto* call = new WatchCall;
  health_.RequestWatch(&call->context, &call->request, &call->writer, server_cq_.get(),
                       server_cq_.get(), NewTag([this, call](bool ok) {
                         if (!ok || stopping_) {
                           delete call;
                           return;
                         }
                         AwaitWatch();
                         call->writer.Finish(
                             grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "use Check"),
                             NewTag([call](bool) { delete call; }));
                       }));
}

void CompletionLoop::Start() {
  if (server_cq_ != nullptr) {
    ServeHealth();
  } else {
    client_cq_ = std::make_unique<grpc::CompletionQueue>();
  }
  thread_ = std::thread([this] { Loop(); });
}

void CompletionLoop::At(absl::Time when, std::function<void()> run) {
  {
    absl::ReaderMutexLock lock(&stop_mu_);
    if (!stopping_) {
      // The alarm must live until it fires: its own tag owns it. Shutdown
      // cancels the alarms still set, so that none holds the queue open.
      auto alarm = std::make_shared<grpc::Alarm>();
      {
        absl::MutexLock lock(&mu_);
        alarms_.insert(alarm.get());
      }
      alarm->Set(&cq(), absl::ToChronoTime(when),
                 NewTag([this, alarm, run = std::move(run)](bool) {
                   {
                     absl::MutexLock lock(&mu_);
                     alarms_.erase(alarm.get());
                   }
                   run();
                 }));
      return;
    }
  }
  run();
}

void CompletionLoop::Track(grpc::ClientContext* context, bool add) {
  absl::MutexLock lock(&mu_);
  if (add) {
    calls_.insert(context);
  } else {
    calls_.erase(context);
  }
}

void CompletionLoop::Loop() {
  void* tag = nullptr;
  bool ok = false;
  while (cq().Next(&tag, &ok)) {
    std::unique_ptr<Tag> owned(static_cast<Tag*>(tag));
    owned->Run(ok);
  }
}

void CompletionLoop::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (!thread_.joinable()) {  // never started: drain what was queued here
    {
      absl::WriterMutexLock lock(&stop_mu_);
      stopping_ = true;
    }
    if (server_cq_ != nullptr) {
      server_cq_->Shutdown();
      Loop();
    }
    return;
  }
  // The queue is shut down on the loop's thread, between two handlers, so
  // that none can start an operation on it afterwards (gRPC forbids that).
  grpc::Alarm stop;
  stop.Set(&cq(), absl::ToChronoTime(absl::Now()), NewTag([this](bool) {
             absl::WriterMutexLock stop_lock(&stop_mu_);
             stopping_ = true;
             {
               absl::MutexLock lock(&mu_);
               for (grpc::ClientContext* context : calls_) context->TryCancel();
               for (grpc::Alarm* alarm : alarms_) alarm->Cancel();
             }
             cq().Shutdown();
           }));
  thread_.join();
}

}  // namespace sheetsync
