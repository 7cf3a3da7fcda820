// Clock: the source of "now" for every component, injected so that tests run
// on a fake clock. RealClock and FakeClock are thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_CLOCK_H_
#define SHEETSYNC_SERVICES_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sheetsync {

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns the current time in microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

class RealClock final : public Clock {
 public:
  int64_t NowMicros() const override { return absl::ToUnixMicros(absl::Now()); }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_us) : now_us_(now_us) {}
  int64_t NowMicros() const override { return now_us_.load(); }
  void Set(int64_t now_us) { now_us_.store(now_us); }
  void Advance(int64_t delta_us) { now_us_.fetch_add(delta_us); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_CLOCK_H_
