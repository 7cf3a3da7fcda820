#include "services/common/worker_pool.h"

#include <algorithm>

namespace sheetsync {

WorkerPool::WorkerPool(int threads, size_t max_queued)
    : max_queued_(max_queued) {
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Run(std::function<void(bool admitted)> work) {
  {
    absl::MutexLock lock(&mu_);
    if (max_queued_ == 0 || queue_.size() < max_queued_) {
      queue_.push_back(std::move(work));
      work_.Signal();
      return;
    }
  }
  work(false);
}

size_t WorkerPool::waiting() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void WorkerPool::Work() {
  for (;;) {
    std::function<void(bool)> work;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) work_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work(true);
  }
}

}  // namespace sheetsync
