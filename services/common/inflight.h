// InflightCounter: counts work in flight — say, outgoing calls whose
// callbacks use an object — so that the object can wait for all of it to end
// before it goes away. Thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_INFLIGHT_H_
#define SHEETSYNC_SERVICES_COMMON_INFLIGHT_H_

#include <utility>

#include "absl/synchronization/mutex.h"

namespace sheetsync {

class InflightCounter {
 public:
  // Counts one piece of work while it lives; movable, not copyable.
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept : counter_(std::exchange(other.counter_, nullptr)) {}
    Hold& operator=(Hold&& other) noexcept {
      if (this != &other) {
        Release();
        counter_ = std::exchange(other.counter_, nullptr);
      }
      return *this;
    }
    ~Hold() { Release(); }

   private:
    friend class InflightCounter;
    explicit Hold(InflightCounter* counter) : counter_(counter) {}
    void Release() {
      if (counter_ != nullptr) std::exchange(counter_, nullptr)->Done();
    }

    InflightCounter* counter_ = nullptr;
  };

  InflightCounter() = default;
  InflightCounter(const InflightCounter&) = delete;
  InflightCounter& operator=(const InflightCounter&) = delete;

  // Starts counting one piece of work, until the hold is destroyed.
  Hold Add() {
    absl::MutexLock lock(&mu_);
    ++count_;
    return Hold(this);
  }
  // Blocks until no hold is left.
  void WaitForNone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* count) { return *count == 0; }, &count_));
  }
  int count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  void Done() {
    absl::MutexLock lock(&mu_);
    --count_;
  }

  mutable absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_INFLIGHT_H_
