// RateLimiter: a token bucket per caller key (the bearer token), so one
// client cannot starve the others; over the limit a request gets 429 with
// the seconds to wait. Thread-safe.
#ifndef SHEETSYNC_GATEWAY_RATE_LIMITER_H_
#define SHEETSYNC_GATEWAY_RATE_LIMITER_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock.h"

namespace sheetsync::gateway {

class RateLimiter {
 public:
  // Allows `per_second` requests a second per key on average, and bursts of
  // up to `burst`. per_second <= 0 disables limiting. `clock` must outlive
  // the limiter.
  RateLimiter(double per_second, double burst, const Clock& clock);

  // Takes one request from `key`'s bucket. Returns 0 when allowed, else the
  // whole seconds (>= 1) after which a retry would be allowed.
  int Acquire(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    int64_t updated_us;
  };

  const double per_second_;
  const double burst_;
  const Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_RATE_LIMITER_H_
