// WorkerPool: a fixed set of threads that run queued work in order of
// arrival. For handlers served on a CompletionLoop whose work blocks (a
// MySQL query, say): the loop's thread must not wait, so the handler queues
// the work here and the worker answers (OnPool). Thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_
#define SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_

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
  // Starts `threads` threads (at least one).
  explicit WorkerPool(int threads);
  // Runs what is queued, then stops the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work`; a worker runs it.
  void Run(std::function<void()> work);

 private:
  void Work();

  absl::Mutex mu_;
  absl::CondVar work_;  // signalled when work is queued or on stopping
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// A CompletionLoop handler that runs `work` on `pool` and answers from
// there. `work` is callable as
//   absl::StatusOr<Response>(const Request&)
// and may block; `pool` must outlive the loop's calls.
template <typename Request, typename Response, typename Work>
CompletionLoop::UnaryHandler<Request, Response> OnPool(WorkerPool& pool, Work work) {
  return [&pool, work = std::move(work)](grpc::ServerContext*, const Request& request,
                                         Response* response,
                                         std::function<void(absl::Status)> done) {
    pool.Run([work, &request, response, done = std::move(done)] {
      absl::StatusOr<Response> result = work(request);
      if (result.ok()) *response = *std::move(result);
      done(result.status());
    });
  };
}

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_WORKER_POOL_H_
