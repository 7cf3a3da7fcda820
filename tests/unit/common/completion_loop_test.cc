// CompletionLoop over real gRPC servers on 127.0.0.1: a relay whose handler
// calls a second server, all on the loop's one thread; handlers whose work
// runs, and answers, on a WorkerPool; the health service it answers itself;
// timers; and shutting down with calls in flight.
#include "services/common/completion_loop.h"

#include <memory>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_util.h"
#include "services/common/rpc_observer.h"
#include "services/common/worker_pool.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "tests/support/registry_samples.h"

namespace sheetsync {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// A Resolver service on a loop; `answer` handles each call.
class LoopServer {
 public:
  using Handler = CompletionLoop::UnaryHandler<v1::ResolveRequest, v1::ResolveResponse>;

  // With an `observer`, the loop observes the calls it serves and makes.
  explicit LoopServer(Handler answer, RpcObserver* observer = nullptr) : loop_(observer) {
    auto server = GrpcServer::Start("127.0.0.1:0", {&service_}, GrpcTls(), nullptr, &loop_);
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    loop_.Serve(service_, &v1::Resolver::AsyncService::RequestResolve,
                "/sheetsync.v1.Resolver/Resolve", std::move(answer));
    loop_.Start();
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  CompletionLoop& loop() { return loop_; }
  GrpcServer& server() { return *server_; }

 private:
  v1::Resolver::AsyncService service_;
  CompletionLoop loop_;  // outlives the server, as GrpcServer::Start requires
  std::unique_ptr<GrpcServer> server_;
};

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

grpc::Status Resolve(const std::string& address, const std::string& table,
                     v1::ResolveResponse* response,
                     absl::Duration timeout = absl::Seconds(10)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ResolveRequest request;
  request.set_table(table);
  return v1::Resolver::NewStub(Channel(address))->Resolve(&context, request, response);
}

// Answers with one result whose event id is the request's table.
void Echo(grpc::ServerContext*, const v1::ResolveRequest& request,
          v1::ResolveResponse* response, std::function<void(absl::Status)> done) {
  response->add_results()->set_event_id(request.table());
  done(absl::OkStatus());
}

TEST(CompletionLoopTest, ARelayCallsTheNextServerAndAnswersOnTheLoopsThread) {
  LoopServer backend(Echo);
  auto stub = v1::Resolver::NewStub(Channel(backend.address()));
  absl::Mutex mu;
  std::vector<std::thread::id> threads;
  LoopServer* relay_ptr = nullptr;
  LoopServer relay([&](grpc::ServerContext*, const v1::ResolveRequest& request,
                       v1::ResolveResponse* response, std::function<void(absl::Status)> done) {
    {
      absl::MutexLock lock(&mu);
      threads.push_back(std::this_thread::get_id());
    }
    auto* context = new grpc::ClientContext;
    auto* forwarded = new v1::ResolveRequest(request);
    forwarded->set_table(absl::StrCat("via relay: ", request.table()));
    relay_ptr->loop().Call(
        *stub, &v1::Resolver::StubInterface::PrepareAsyncResolve,
        "/sheetsync.v1.Resolver/Resolve", context, *forwarded, response,
        [&, context, forwarded, done](grpc::Status status) {
          {
            absl::MutexLock lock(&mu);
            threads.push_back(std::this_thread::get_id());
          }
          delete context;
          delete forwarded;
          done(FromGrpcStatus(status));
        });
  });
  relay_ptr = &relay;

  for (int i = 0; i < 3; ++i) {
    v1::ResolveResponse response;
    grpc::Status status = Resolve(relay.address(), absl::StrCat("t", i), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.results_size(), 1);
    EXPECT_EQ(response.results(0).event_id(), absl::StrCat("via relay: t", i));
  }
  absl::MutexLock lock(&mu);
  ASSERT_EQ(threads.size(), 6u);
  for (const std::thread::id& id : threads) EXPECT_EQ(id, threads[0]);
  EXPECT_NE(threads[0], std::this_thread::get_id());
}

// The total of the samples of counter family `name` whose labels include
// method=`method`.
double Counted(prometheus::Registry& registry, const std::string& name,
               const std::string& method) {
  double total = 0;
  for (const auto& [labels, value] : test::Samples(registry, name)) {
    for (absl::string_view label : absl::StrSplit(labels, ',')) {
      if (label == "method=" + method) total += value;
    }
  }
  return total;
}

TEST(CompletionLoopTest, AnObserverCountsServedAndMadeCallsAndCarriesTheTraceId) {
  absl::Mutex mu;
  std::vector<std::string> traces;  // what the backend received
  LoopServer backend([&](grpc::ServerContext* context, const v1::ResolveRequest&,
                         v1::ResolveResponse*, std::function<void(absl::Status)> done) {
    auto it = context->client_metadata().find(kTraceMetadataKey);
    absl::MutexLock lock(&mu);
    traces.push_back(it == context->client_metadata().end()
                         ? "none"
                         : std::string(it->second.data(), it->second.size()));
    done(absl::OkStatus());
  });
  auto stub = v1::Resolver::NewStub(Channel(backend.address()));
  prometheus::Registry registry;
  RpcObserver observer(registry);
  LoopServer* relay_ptr = nullptr;
  LoopServer relay(
      [&](grpc::ServerContext*, const v1::ResolveRequest& request, v1::ResolveResponse* response,
          std::function<void(absl::Status)> done) {
        auto* context = new grpc::ClientContext;
        relay_ptr->loop().Call(*stub, &v1::Resolver::StubInterface::PrepareAsyncResolve,
                               "/sheetsync.v1.Resolver/Resolve", context, request, response,
                               [context, done](grpc::Status status) {
                                 delete context;
                                 done(FromGrpcStatus(status));
                               });
      },
      &observer);
  relay_ptr = &relay;

  grpc::ClientContext context;
  context.AddMetadata(kTraceMetadataKey, "0123456789abcdef");
  v1::ResolveRequest request;
  v1::ResolveResponse response;
  grpc::Status status =
      v1::Resolver::NewStub(Channel(relay.address()))->Resolve(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(traces, std::vector<std::string>{"0123456789abcdef"});
  }
  const std::string method = "/sheetsync.v1.Resolver/Resolve";
  EXPECT_EQ(Counted(registry, "sheetsync_grpc_server_handled_total", method), 1);
  EXPECT_EQ(Counted(registry, "sheetsync_grpc_client_handled_total", method), 1);
  // Health checks are served and counted too.
  grpc::ClientContext health_context;
  HealthCheckRequest health_request;
  HealthCheckResponse health_response;
  ASSERT_TRUE(Health::NewStub(Channel(relay.address()))
                  ->Check(&health_context, health_request, &health_response)
                  .ok());
  EXPECT_EQ(Counted(registry, "sheetsync_grpc_server_handled_total",
                    "/grpc.health.v1.Health/Check"),
            1);
}

TEST(CompletionLoopTest, WorkersAnswerConcurrentCallsFromTheirOwnThreads) {
  WorkerPool workers(3);
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  LoopServer server(OnPool<v1::ResolveRequest, v1::ResolveResponse>(
      workers, [&](const v1::ResolveRequest& request) -> absl::StatusOr<v1::ResolveResponse> {
        {
          absl::MutexLock lock(&mu);
          threads.insert(std::this_thread::get_id());
        }
        absl::SleepFor(absl::Milliseconds(1));  // blocking work, off the loop
        if (request.table() == "refused") return absl::InvalidArgumentError("no such table");
        v1::ResolveResponse response;
        response.add_results()->set_event_id(request.table());
        return response;
      }));
  constexpr int kClients = 6;
  constexpr int kCalls = 20;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kCalls; ++i) {
        v1::ResolveResponse response;
        const std::string table = absl::StrCat("c", c, "-", i);
        grpc::Status status = Resolve(server.address(), table, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_EQ(response.results_size(), 1);
        EXPECT_EQ(response.results(0).event_id(), table);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  v1::ResolveResponse response;
  EXPECT_EQ(Resolve(server.address(), "refused", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  absl::MutexLock lock(&mu);
  EXPECT_GE(threads.size(), 2u);  // the calls overlapped on several workers
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

// One worker, held by a first call: a second call with a short deadline
// waits past it; a third finds the one-call queue full.
TEST(CompletionLoopTest,
     PooledCallsThatCannotWaitOrNoLongerWaitAreNotWorkedOn) {
  WorkerPool workers(1, /*max_queued=*/1);
  absl::Notification holding, release;
  absl::Mutex mu;
  std::vector<std::string> worked_on;
  LoopServer server(OnPool<v1::ResolveRequest, v1::ResolveResponse>(
      workers,
      [&](const v1::ResolveRequest& request)
          -> absl::StatusOr<v1::ResolveResponse> {
        {
          absl::MutexLock lock(&mu);
          worked_on.push_back(request.table());
        }
        if (request.table() == "first") {
          holding.Notify();
          release.WaitForNotification();
        }
        return v1::ResolveResponse();
      }));
  std::thread first([&] {
    v1::ResolveResponse response;
    EXPECT_TRUE(Resolve(server.address(), "first", &response).ok());
  });
  holding.WaitForNotification();
  std::thread second([&] {
    v1::ResolveResponse response;
    EXPECT_EQ(Resolve(server.address(), "second", &response, absl::Seconds(2))
                  .error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  });
  // The second call waits in the queue...
  for (int i = 0; i < 2000 && workers.waiting() == 0; ++i)
    absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(workers.waiting(), 1u);
  v1::ResolveResponse response;
  EXPECT_EQ(Resolve(server.address(), "third", &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  second.join();  // ...until its deadline passes (here; the server's is a
  absl::SleepFor(absl::Milliseconds(200));  // transit time later)
  release.Notify();
  first.join();
  EXPECT_TRUE(Resolve(server.address(), "fourth", &response).ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(worked_on, (std::vector<std::string>{"first", "fourth"}));
}

TEST(CompletionLoopTest, AnAnswerGivenAfterShutdownIsDropped) {
  absl::Notification arrived;
  absl::Mutex mu;
  std::function<void(absl::Status)> held;
  LoopServer server([&](grpc::ServerContext*, const v1::ResolveRequest&, v1::ResolveResponse*,
                        std::function<void(absl::Status)> done) {
    absl::MutexLock lock(&mu);
    held = std::move(done);
    arrived.Notify();
  });
  std::thread client([&] {
    v1::ResolveResponse response;
    EXPECT_FALSE(Resolve(server.address(), "t", &response, absl::Seconds(5)).ok());
  });
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(10)));
  server.server().Shutdown(absl::Milliseconds(100));  // cancels the call, stops the loop
  client.join();
  // From a thread of its own, as a worker would: the call's state is freed
  // (the sanitizers' build checks that) and nothing is sent.
  std::thread late([&] {
    absl::MutexLock lock(&mu);
    held(absl::OkStatus());
  });
  late.join();
}

TEST(CompletionLoopTest, AnswersHealthChecksAsSetAndWatchAsUnimplemented) {
  LoopServer server(Echo);
  auto health = Health::NewStub(Channel(server.address()));
  auto check = [&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  };
  EXPECT_EQ(check(), HealthCheckResponse::SERVING);
  server.server().SetServing(false);
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);
  server.server().SetServing(true);
  EXPECT_EQ(check(), HealthCheckResponse::SERVING);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  HealthCheckRequest request;
  auto watch = health->Watch(&context, request);
  HealthCheckResponse update;
  EXPECT_FALSE(watch->Read(&update));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(CompletionLoopTest, AtRunsOnTheLoopNoEarlierThanAsked) {
  CompletionLoop loop;  // calls only: no server
  loop.Start();
  absl::Notification ran;
  const absl::Time asked = absl::Now();
  absl::Time at;
  loop.At(asked + absl::Milliseconds(30), [&] {
    at = absl::Now();
    ran.Notify();
  });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(at - asked, absl::Milliseconds(30));
  loop.Shutdown();
}

// A timer still set does not hold the shutdown until its time: it is
// cancelled and runs then; one asked for during shutdown runs at once.
TEST(CompletionLoopTest, ShutdownRunsTimersStillSetInsteadOfWaitingForThem) {
  CompletionLoop loop;
  loop.Start();
  bool ran = false;
  loop.At(absl::Now() + absl::Seconds(60), [&] { ran = true; });
  const absl::Time start = absl::Now();
  loop.Shutdown();
  EXPECT_TRUE(ran);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  bool late = false;
  loop.At(absl::Now() + absl::Hours(1), [&] { late = true; });
  EXPECT_TRUE(late);
}

TEST(CompletionLoopTest, ShutsDownWithCallsInFlightAndRefusesNewOnesAfter) {
  // The backend answers only when told; the relay's call to it is in flight
  // while the relay shuts down.
  absl::Notification arrived;
  absl::Mutex mu;
  std::function<void(absl::Status)> held;
  LoopServer backend([&](grpc::ServerContext*, const v1::ResolveRequest&,
                         v1::ResolveResponse*, std::function<void(absl::Status)> done) {
    absl::MutexLock lock(&mu);
    held = std::move(done);
    arrived.Notify();
  });
  auto stub = v1::Resolver::NewStub(Channel(backend.address()));
  std::unique_ptr<LoopServer> relay;
  relay = std::make_unique<LoopServer>(
      [&](grpc::ServerContext* server_context,
          const v1::ResolveRequest& request, v1::ResolveResponse* response,
          std::function<void(absl::Status)> done) {
        auto* context = new grpc::ClientContext;
        context->set_deadline(server_context->deadline());
        relay->loop().Call(*stub,
                           &v1::Resolver::StubInterface::PrepareAsyncResolve,
                           "/sheetsync.v1.Resolver/Resolve", context, request,
                           response, [context, done](grpc::Status status) {
                             delete context;
                             done(FromGrpcStatus(status));
                           });
      });
  std::thread client([&] {
    v1::ResolveResponse response;
    grpc::Status status = Resolve(relay->address(), "t", &response, absl::Seconds(2));
    EXPECT_FALSE(status.ok());  // cancelled by the relay's shutdown, or timed out
  });
  ASSERT_TRUE(arrived.WaitForNotificationWithTimeout(absl::Seconds(10)));
  relay->server().Shutdown(absl::Milliseconds(100));  // also stops its loop

  grpc::Status late;
  absl::Notification refused;
  grpc::ClientContext context;
  v1::ResolveRequest request;
  v1::ResolveResponse response;
  relay->loop().Call(*stub, &v1::Resolver::StubInterface::PrepareAsyncResolve,
                     "/sheetsync.v1.Resolver/Resolve", &context, request, &response,
                     [&](grpc::Status status) {
                       late = status;
                       refused.Notify();
                     });
  ASSERT_TRUE(refused.HasBeenNotified());  // at once, on this thread
  EXPECT_EQ(late.error_code(), grpc::StatusCode::UNAVAILABLE);

  client.join();
  relay.reset();
  absl::MutexLock lock(&mu);
  held(absl::OkStatus());  // the backend's answer now goes nowhere
}

}  // namespace
}  // namespace sheetsync
