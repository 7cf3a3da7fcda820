#include "services/common/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

TEST(WorkerPoolTest, RunsWorkOnItsThreadsAtOnce) {
  WorkerPool pool(2);
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  absl::Notification both_running;
  std::atomic<int> running{0};
  for (int i = 0; i < 2; ++i) {
    pool.Run([&] {
      {
        absl::MutexLock lock(&mu);
        threads.insert(std::this_thread::get_id());
      }
      if (++running == 2) both_running.Notify();
      both_running.WaitForNotificationWithTimeout(absl::Seconds(10));
    });
  }
  // Each of the two waits for the other: they run at the same time.
  EXPECT_TRUE(both_running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(1));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPoolTest, DestructionRunsWhatIsQueuedFirst) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1);
    absl::Notification release;
    pool.Run([&] { release.WaitForNotification(); });
    for (int i = 0; i < 50; ++i) pool.Run([&] { ++ran; });
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace sheetsync
