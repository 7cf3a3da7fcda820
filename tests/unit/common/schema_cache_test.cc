// SchemaCache with a loader the test answers by hand: what waits for a load,
// what is answered at once, how many loads run, and what an error leaves.
#include "services/common/schema_cache.h"

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

constexpr int64_t kSecond = 1'000'000;

v1::TableSchema WithColumns(int columns) {
  v1::TableSchema schema;
  schema.set_table("users");
  for (int i = 0; i < columns; ++i) schema.add_columns()->set_name("c" + std::to_string(i));
  return schema;
}

class SchemaCacheTest : public ::testing::Test {
 protected:
  using Done = std::function<void(absl::StatusOr<v1::TableSchema>)>;

  // Answers the oldest load still waiting.
  void Answer(absl::StatusOr<v1::TableSchema> answer) {
    Done done;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_FALSE(loads_.empty());
      done = std::move(loads_.front());
      loads_.pop_front();
    }
    done(std::move(answer));
  }
  int pending() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(loads_.size());
  }

  // What one asynchronous Get or Reload was answered, if it was.
  struct Answered {
    bool yet = false;
    absl::StatusOr<SchemaCache::Schema> schema;
    SchemaCache::Callback callback() {
      return [this](absl::StatusOr<SchemaCache::Schema> got) {
        yet = true;
        schema = std::move(got);
      };
    }
    int columns() const { return (*schema)->columns_size(); }
  };

  // Loads the schema (`columns` columns), then lets its TTL pass.
  void LoadThenExpire(int columns) {
    Answered first;
    cache_.Get("users", first.callback());
    Answer(WithColumns(columns));
    ASSERT_TRUE(first.yet);
    clock_.Advance(6 * kSecond);
  }

  absl::Mutex mu_;
  std::deque<Done> loads_;
  int started_ = 0;
  FakeClock clock_{1000 * kSecond};
  SchemaCache cache_{SchemaCache::AsyncLoader([this](const std::string&, Done done) {
                       absl::MutexLock lock(&mu_);
                       ++started_;
                       loads_.push_back(std::move(done));
                     }),
                     clock_, absl::Seconds(5)};
};

TEST_F(SchemaCacheTest, CallsBeforeTheFirstLoadShareItAndLaterOnesAreAnsweredAtOnce) {
  Answered a, b, c;
  cache_.Get("users", a.callback());
  cache_.Get("users", b.callback());
  EXPECT_FALSE(a.yet);
  EXPECT_FALSE(b.yet);
  EXPECT_EQ(pending(), 1);
  Answer(WithColumns(2));
  ASSERT_TRUE(a.yet && b.yet);
  EXPECT_EQ(a.columns(), 2);
  EXPECT_EQ(b.columns(), 2);
  cache_.Get("users", c.callback());
  ASSERT_TRUE(c.yet);  // at once, on this thread
  EXPECT_EQ(c.columns(), 2);
  EXPECT_EQ(started_, 1);
}

TEST_F(SchemaCacheTest, AnExpiredSchemaIsAnsweredWhileOneReloadRuns) {
  LoadThenExpire(2);
  Answered stale1, stale2, fresh;
  cache_.Get("users", stale1.callback());
  cache_.Get("users", stale2.callback());
  ASSERT_TRUE(stale1.yet && stale2.yet);  // nobody waits for the reload
  EXPECT_EQ(stale1.columns(), 2);
  EXPECT_EQ(pending(), 1);  // one reload for both
  Answer(WithColumns(3));
  cache_.Get("users", fresh.callback());
  ASSERT_TRUE(fresh.yet);
  EXPECT_EQ(fresh.columns(), 3);
  EXPECT_EQ(started_, 2);
}

TEST_F(SchemaCacheTest, AFailedReloadKeepsTheSchemaUnlessTheTableIsGone) {
  LoadThenExpire(2);
  Answered during_outage;
  cache_.Get("users", during_outage.callback());
  Answer(absl::UnavailableError("writer down"));
  Answered after_outage;
  cache_.Get("users", after_outage.callback());
  ASSERT_TRUE(after_outage.yet);
  EXPECT_EQ(after_outage.columns(), 2);
  ASSERT_EQ(pending(), 1);  // still expired: the next call tries again
  Answer(absl::NotFoundError("table users is not registered"));
  Answered gone;
  cache_.Get("users", gone.callback());
  EXPECT_FALSE(gone.yet);  // nothing cached: it waits for a load
  Answer(absl::NotFoundError("table users is not registered"));
  ASSERT_TRUE(gone.yet);
  EXPECT_TRUE(absl::IsNotFound(gone.schema.status()));
}

TEST_F(SchemaCacheTest, ErrorsOfAFirstLoadAreNotCached) {
  Answered a, b;
  cache_.Get("users", a.callback());
  Answer(absl::UnavailableError("writer down"));
  ASSERT_TRUE(a.yet);
  EXPECT_TRUE(absl::IsUnavailable(a.schema.status()));
  cache_.Get("users", b.callback());
  EXPECT_FALSE(b.yet);
  Answer(WithColumns(1));
  ASSERT_TRUE(b.yet);
  EXPECT_EQ(b.columns(), 1);
}

TEST_F(SchemaCacheTest, AReloadWaitsForALoadStartedAfterIt) {
  LoadThenExpire(2);
  Answered stale;
  cache_.Get("users", stale.callback());  // starts a reload, which may miss a new column
  Answered reloaded;
  cache_.Reload("users", reloaded.callback());
  Answer(WithColumns(2));  // the reload that was in flight
  EXPECT_FALSE(reloaded.yet);
  ASSERT_EQ(pending(), 1);  // a second one, for the Reload
  Answer(WithColumns(3));
  ASSERT_TRUE(reloaded.yet);
  EXPECT_EQ(reloaded.columns(), 3);
  EXPECT_EQ(started_, 3);
}

TEST(SchemaCacheBlockingTest, LoadsWhenMissingOrExpiredAndNotBetween) {
  FakeClock clock(1000 * kSecond);
  int loads = 0;
  SchemaCache cache(
      [&loads](const std::string& table) -> absl::StatusOr<v1::TableSchema> {
        if (table != "users") return absl::NotFoundError("no such table");
        ++loads;
        return WithColumns(loads);
      },
      clock, absl::Seconds(5));
  EXPECT_EQ((*cache.Get("users"))->columns_size(), 1);
  EXPECT_EQ((*cache.Get("users"))->columns_size(), 1);
  clock.Advance(6 * kSecond);
  EXPECT_EQ((*cache.Get("users"))->columns_size(), 2);  // the blocking Get waits for it
  cache.Invalidate("users");
  EXPECT_EQ((*cache.Get("users"))->columns_size(), 3);
  EXPECT_TRUE(absl::IsNotFound(cache.Get("orders").status()));
  EXPECT_EQ(loads, 3);
}

TEST(SchemaCacheBlockingTest, ConcurrentCallersAllGetASchema) {
  FakeClock clock(1000 * kSecond);
  std::atomic<int> loads{0};
  SchemaCache cache(
      [&loads](const std::string&) -> absl::StatusOr<v1::TableSchema> {
        ++loads;
        return WithColumns(1);
      },
      clock, absl::Seconds(5));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        cache.Invalidate("users");
        absl::StatusOr<SchemaCache::Schema> schema = cache.Get("users");
        ASSERT_TRUE(schema.ok());
        EXPECT_EQ((*schema)->columns_size(), 1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_GE(loads.load(), 1);
}

}  // namespace
}  // namespace sheetsync
