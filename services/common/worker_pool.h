// WorkerPool: a fixed set of threads that run queued work in order of
// arrival, with a bound on the queue. For handlers served on a
// CompletionLoop whose work blocks (a MySQL query, say): the loop's thread
// must not wait, so the handler queues the work here and the worker answers
// (OnPool). Thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_
#define SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "services/common/completion_loop.h"

namespace sheetsync {

class WorkerPool {
 public:
  // Starts `threads` threads (at least one). At most `max_queued` works wait
  // for a thread (0: no limit).
  explicit WorkerPool(int threads, size_t max_queued = 0);
  // Runs what is queued, then stops the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work`, which a worker runs with `true`. When `max_queued` works
  // already wait, runs it at once, here, with `false`: it should then only
  // refuse what it was for.
  void Run(std::function<void(bool admitted)> work);

  // Returns how many works wait for a thread.
  size_t waiting() const;

 private:
  void Work();

  mutable absl::Mutex mu_;
  absl::CondVar work_;  // signalled when work is queued or on stopping
  const size_t max_queued_;
  std::deque<std::function<void(bool)>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// A CompletionLoop handler that runs `work` on `pool` and answers from
// there. `work` is callable as
//   absl::StatusOr<Response>(const Request&)
// and may block; `pool` must outlive the loop's calls. A call the pool has
// no room for is refused (RESOURCE_EXHAUSTED), and one whose deadline passed
// while it waited is not worked on (DEADLINE_EXCEEDED): under overload the
// pool's threads only work for callers that still wait.
template <typename Request, typename Response, typename Work>
CompletionLoop::UnaryHandler<Request, Response> OnPool(WorkerPool& pool, Work work) {
  return [&pool, work = std::move(work)](
             grpc::ServerContext* context, const Request& request,
             Response* response, std::function<void(absl::Status)> done) {
    pool.Run([work, context, &request, response,
              done = std::move(done)](bool admitted) {
      if (!admitted) {
        return done(
            absl::ResourceExhaustedError("too many calls are waiting for this "
                                         "server's workers; retry later"));
      }
      if (context->deadline() <= std::chrono::system_clock::now()) {
        return done(absl::DeadlineExceededError(
            "the call's deadline passed while it waited for a worker"));
      }
      absl::StatusOr<Response> result = work(request);
      if (result.ok()) *response = *std::move(result);
      done(result.status());
    });
  };
}

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_
