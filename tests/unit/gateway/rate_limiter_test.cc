#include "gateway/rate_limiter.h"

#include "gtest/gtest.h"

namespace sheetsync::gateway {
namespace {

TEST(RateLimiterTest, AllowsTheBurstThenAsksToWait) {
  FakeClock clock(0);
  RateLimiter limiter(/*per_second=*/2, /*burst=*/3, clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("t"), 0);
  EXPECT_EQ(limiter.Acquire("t"), 1);
  clock.Advance(500'000);  // half a second refills one request
  EXPECT_EQ(limiter.Acquire("t"), 0);
  EXPECT_GE(limiter.Acquire("t"), 1);
}

TEST(RateLimiterTest, KeysHaveTheirOwnBuckets) {
  FakeClock clock(0);
  RateLimiter limiter(1, 1, clock);
  EXPECT_EQ(limiter.Acquire("a"), 0);
  EXPECT_EQ(limiter.Acquire("a"), 1);
  EXPECT_EQ(limiter.Acquire("b"), 0);
}

TEST(RateLimiterTest, RetryAfterCoversASlowRate) {
  FakeClock clock(0);
  RateLimiter limiter(0.1, 1, clock);  // one request every 10 s
  EXPECT_EQ(limiter.Acquire("t"), 0);
  EXPECT_EQ(limiter.Acquire("t"), 10);
}

TEST(RateLimiterTest, ZeroRateDisablesLimiting) {
  FakeClock clock(0);
  RateLimiter limiter(0, 1, clock);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Acquire("t"), 0);
}

}  // namespace
}  // namespace sheetsync::gateway
