#include "services/common/inflight.h"

#include <atomic>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

TEST(InflightCounterTest, HoldsCountUntilDestroyedAndMovesCarryThem) {
  InflightCounter counter;
  EXPECT_EQ(counter.count(), 0);
  {
    InflightCounter::Hold a = counter.Add();
    InflightCounter::Hold b = counter.Add();
    EXPECT_EQ(counter.count(), 2);
    InflightCounter::Hold moved = std::move(a);
    EXPECT_EQ(counter.count(), 2);
    b = std::move(moved);  // b's own count ends; moved's goes on in b
    EXPECT_EQ(counter.count(), 1);
  }
  EXPECT_EQ(counter.count(), 0);
  counter.WaitForNone();  // nothing in flight: returns at once
}

TEST(InflightCounterTest, WaitForNoneReturnsOnlyAfterTheLastHoldIsGone) {
  InflightCounter counter;
  auto hold = std::make_unique<InflightCounter::Hold>(counter.Add());
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    counter.WaitForNone();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(returned);
  hold.reset();
  waiter.join();
  EXPECT_TRUE(returned);
}

}  // namespace
}  // namespace sheetsync
