#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sheetsync::gateway {

RateLimiter::RateLimiter(double per_second, double burst, const Clock& clock)
    : per_second_(per_second), burst_(std::max(1.0, burst)), clock_(clock) {}

int RateLimiter::Acquire(const std::string& key) {
  if (per_second_ <= 0) return 0;
  const int64_t now = clock_.NowMicros();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  bucket.tokens = std::min(
      burst_, bucket.tokens + (now - bucket.updated_us) / 1e6 * per_second_);
  bucket.updated_us = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - bucket.tokens) / per_second_)));
}

}  // namespace sheetsync::gateway
