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
    pool.Run([&](bool admitted) {
      EXPECT_TRUE(admitted);
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
    pool.Run([&](bool) { release.WaitForNotification(); });
    for (int i = 0; i < 50; ++i)
      pool.Run([&](bool admitted) { ran += admitted; });
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(WorkerPoolTest,
     WorkBeyondTheQueuesBoundIsRefusedAtOnceOnTheCallersThread) {
  std::atomic<int> ran{0};
  std::thread::id refused_on;
  {
    WorkerPool pool(1, /*max_queued=*/2);
    absl::Notification started, release;
    pool.Run([&](bool) {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();  // the one thread is busy: the rest waits
    for (int i = 0; i < 2; ++i)
      pool.Run([&](bool admitted) { ran += admitted; });
    EXPECT_EQ(pool.waiting(), 2u);
    pool.Run([&](bool admitted) {
      EXPECT_FALSE(admitted);
      refused_on = std::this_thread::get_id();
    });
    EXPECT_EQ(refused_on, std::this_thread::get_id());
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace sheetsync
