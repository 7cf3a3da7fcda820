// The core sync path through HTTP -> ingest -> resolver -> writer -> a real
// MariaDB: every per-change status, every HTTP error code of POST /v1/edits,
// and the contract's metrics moving by the right amounts.
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "sync-path-token";

class SyncPathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions options;
    options.token = kToken;
    absl::StatusOr<std::unique_ptr<ScratchStack>> scratch =
        StartScratchStack("syncpath", std::move(options));
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    scratch_ = scratch->release();
    config_ = &scratch_->config;
    db_ = scratch_->db.get();
    stack_ = scratch_->stack.get();
  }

  static void TearDownTestSuite() { delete scratch_; }

  Api api() const { return Api(stack_->gateway_url(), kToken); }

  // Returns a row id unique to this test.
  static std::string NewRowId() {
    static int n = 0;
    return absl::StrCat("00000000-0000-4000-8000-", absl::StrFormat("%012d", ++n));
  }

  absl::StatusOr<std::vector<SqlRow>> Rows(const std::string& where) {
    auto session = MysqlSession::Connect(*config_, db_->name());
    if (!session.ok()) return session.status();
    return (*session)->Query("SELECT name, email, score FROM users WHERE " + where);
  }

  static ScratchStack* scratch_;
  // Parts of scratch_.
  static MysqlTestConfig* config_;
  static ScratchDatabase* db_;
  static Stack* stack_;
};

ScratchStack* SyncPathTest::scratch_ = nullptr;
MysqlTestConfig* SyncPathTest::config_ = nullptr;
ScratchDatabase* SyncPathTest::db_ = nullptr;
Stack* SyncPathTest::stack_ = nullptr;

const int64_t kT0 = 1764082869123000;  // 2025-11-25T15:01:09.123Z

TEST_F(SyncPathTest, AppliedEditIsInMysqlWithNormalisedRowId) {
  const std::string row = NewRowId();
  std::string upper = row;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  absl::StatusOr<ApiResponse> r = api().Edits(EditsBody(
      "users", {{"e-applied", upper, Rfc3339(kT0), false,
                 {{"name", "Ada"}, {"email", "ada@example.com"}}}}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "applied");
  EXPECT_EQ(Str(r->result(0), {"row_id"}), row);
  auto rows = Rows("uuid = " + SqlQuote(row));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "Ada");
  EXPECT_EQ((*rows)[0][1], "ada@example.com");
  EXPECT_EQ((*rows)[0][2], std::nullopt);
}

TEST_F(SyncPathTest, PartialStaleDuplicateAndRejectedInOneRequest) {
  const std::string row = NewRowId();
  ASSERT_EQ(api().Edits(EditsBody("users", {{"p-1", row, Rfc3339(kT0 + 10), false,
                                             {{"email", "new@x"}}}}))->status,
            200);
  absl::StatusOr<ApiResponse> r = api().Edits(EditsBody(
      "users",
      {{"p-2", row, Rfc3339(kT0), false, {{"name", "Bo"}, {"email", "old@x"}}},
       {"p-3", row, Rfc3339(kT0 - 5), false, {{"email", "older@x"}}},
       {"p-1", row, Rfc3339(kT0 + 99), false, {{"name", "replay"}}},
       {"p-4", row, Rfc3339(kT0), false, {}, "{\"score\":42.5}"}}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "partial");
  EXPECT_EQ(Str(r->result(0), {"current", "email"}), "new@x");
  EXPECT_EQ(Str(r->result(0), {"current_versions", "email", "source"}), "SHEET");
  EXPECT_EQ(Str(r->result(0), {"current_versions", "email", "updated_at"}),
            Rfc3339(kT0 + 10));
  EXPECT_EQ(Str(r->result(1), {"status"}), "stale");
  EXPECT_EQ(Str(r->result(2), {"status"}), "duplicate");
  EXPECT_EQ(Str(r->result(3), {"status"}), "rejected");
  EXPECT_EQ(Str(r->result(3), {"code"}), "type_mismatch");
  EXPECT_THAT(Str(r->result(3), {"error"}), HasSubstr("score"));
  auto rows = Rows("uuid = " + SqlQuote(row));
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "Bo");
  EXPECT_EQ((*rows)[0][1], "new@x");
  EXPECT_EQ((*rows)[0][2], std::nullopt);  // the rejected change wrote nothing
}

TEST_F(SyncPathTest, DeleteThenLaterWriteRevivesOnlyNewCells) {
  const std::string row = NewRowId();
  ASSERT_EQ(api().Edits(EditsBody("users", {{"d-1", row, Rfc3339(kT0), false,
                                             {{"name", "A"}, {"email", "a@x"}}}}))
                ->status,
            200);
  auto deleted = api().Edits(EditsBody("users", {{"d-2", row, Rfc3339(kT0 + 1), true}}));
  ASSERT_EQ(Str(deleted->result(0), {"status"}), "applied");
  EXPECT_EQ(Rows("uuid = " + SqlQuote(row))->size(), 0u);
  // An update at the delete's time loses (the delete wins ties).
  auto tie = api().Edits(
      EditsBody("users", {{"d-3", row, Rfc3339(kT0 + 1), false, {{"name", "tie"}}}}));
  EXPECT_EQ(Str(tie->result(0), {"status"}), "stale");
  EXPECT_TRUE(tie->result(0).struct_value().fields().at("current").has_null_value());
  auto revived = api().Edits(
      EditsBody("users", {{"d-4", row, Rfc3339(kT0 + 2), false, {{"score", "7"}}}}));
  EXPECT_EQ(Str(revived->result(0), {"status"}), "applied");
  auto rows = Rows("uuid = " + SqlQuote(row));
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], std::nullopt);  // erased by the delete
  EXPECT_EQ((*rows)[0][2], "7");
}

TEST_F(SyncPathTest, HttpErrorCodes) {
  const std::string url = stack_->gateway_url() + "/v1/edits";
  auto no_token = HttpRequest(url, "POST", {}, "{}");
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->status, 401);
  EXPECT_EQ(no_token->Header("Connection").value_or(""), "close");
  EXPECT_EQ(HttpRequest(url, "POST", {{"Authorization", "Bearer wrong"}}, "{}")->status,
            401);
  EXPECT_EQ(api().Edits("not json")->status, 400);
  EXPECT_EQ(api().Edits("{\"table\":5,\"changes\":[]}")->status, 400);
  EXPECT_EQ(api().Edits("{\"table\":\"users\"}")->status, 400);
  EXPECT_EQ(api().Edits("{\"table\":\"users\",\"changes\":[1]}")->status, 400);
  EXPECT_EQ(api().Edits(absl::StrCat("{\"table\":\"users\",\"spreadsheet_id\":\"",
                                     std::string(256, 'x'), "\",\"changes\":[]}"))
                ->status,
            400);
  auto unknown = api().Edits("{\"table\":\"nope\",\"changes\":[]}");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(Str(unknown->json, {"error", "code"}), "unknown_table");
  EXPECT_EQ(api().Edits(absl::StrCat("{\"table\":\"users\",\"changes\":[],\"pad\":\"",
                                     std::string(1 << 20, 'x'), "\"}"))
                ->status,
            413);
  std::vector<EditChange> many(1001, {"e", NewRowId(), Rfc3339(kT0), true});
  EXPECT_EQ(api().Edits(EditsBody("users", many))->status, 413);
  auto all_rejected = api().Edits(EditsBody(
      "users", {{"r-1", "not-a-uuid", Rfc3339(kT0), false, {{"name", "x"}}}}));
  EXPECT_EQ(all_rejected->status, 422);
  EXPECT_EQ(Str(all_rejected->result(0), {"code"}), "invalid_row_id");
  EXPECT_FALSE(Str(all_rejected->json, {"error", "message"}).empty());
  auto empty = api().Edits("{\"table\":\"users\",\"changes\":[]}");
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(empty->http.body, "{\"results\":[]}");
}

TEST_F(SyncPathTest, FutureTimestampIsRejected) {
  const int64_t future = absl::ToUnixMicros(absl::Now() + absl::Minutes(10));
  auto r = api().Edits(EditsBody("users", {{"f-1", NewRowId(), Rfc3339(future), false,
                                            {{"name", "x"}}}}));
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Str(r->result(0), {"code"}), "future_timestamp");
}

TEST_F(SyncPathTest, MetricsMoveByTheRightAmounts) {
  const std::vector<std::string> urls = stack_->metrics_urls();
  auto sum = [&](const std::string& name,
                 std::map<std::string, std::string> labels = {{"table", "users"}}) {
    absl::StatusOr<double> v = MetricSum(urls, name, labels);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(-1);
  };
  const double received0 = sum("sheetsync_changes_received_total",
                               {{"table", "users"}, {"source", "SHEET"}});
  const double applied0 = sum("sheetsync_changes_applied_total");
  const double stale0 = sum("sheetsync_stale_dropped_total");
  const double dup0 = sum("sheetsync_duplicates_total");
  const double rejected0 = sum("sheetsync_rejected_total",
                               {{"table", "users"}, {"reason", "invalid_row_id"}});
  const double latency0 = sum("sheetsync_apply_seconds_count", {});

  const std::string row = NewRowId();
  auto r = api().Edits(EditsBody(
      "users",
      {{"m-1", row, Rfc3339(kT0 + 100), false, {{"name", "A"}, {"email", "a"}}},
       {"m-2", row, Rfc3339(kT0), false, {{"name", "B"}, {"email", "b"}}},
       {"m-1", row, Rfc3339(kT0), false, {{"name", "C"}}},
       {"m-3", "bad", Rfc3339(kT0), false, {{"name", "D"}}}}));
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(sum("sheetsync_changes_received_total",
                {{"table", "users"}, {"source", "SHEET"}}) - received0, 3);
  EXPECT_EQ(sum("sheetsync_changes_applied_total") - applied0, 1);
  EXPECT_EQ(sum("sheetsync_stale_dropped_total") - stale0, 2);
  EXPECT_EQ(sum("sheetsync_duplicates_total") - dup0, 1);
  EXPECT_EQ(sum("sheetsync_rejected_total",
                {{"table", "users"}, {"reason", "invalid_row_id"}}) - rejected0, 1);
  EXPECT_EQ(sum("sheetsync_apply_seconds_count", {}) - latency0, 1);

  // Requests that commit nothing are not in the apply latency ("gateway
  // received -> MySQL committed"): no changes, all rejected (422), all replays.
  ASSERT_EQ(api().Edits(EditsBody("users", {}))->status, 200);
  ASSERT_EQ(
      api()
          .Edits(EditsBody("users", {{"m-4", "bad", Rfc3339(kT0), false, {}}}))
          ->status,
      422);
  r = api().Edits(EditsBody(
      "users", {{"m-1", row, Rfc3339(kT0 + 100), false, {{"name", "A"}}}}));
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "duplicate");
  EXPECT_EQ(sum("sheetsync_apply_seconds_count", {}) - latency0, 1);
}

TEST_F(SyncPathTest, ConflictsCountSheetEditsLosingToMysql) {
  const std::string row = NewRowId();
  const std::vector<std::string> urls = stack_->metrics_urls();
  const double conflicts0 =
      MetricSum(urls, "sheetsync_conflicts_total", {{"table", "users"}}).value_or(-1);
  {
    auto session = MysqlSession::Connect(*config_, db_->name());
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)
                    ->Execute("INSERT INTO users (uuid, name) VALUES (" +
                              SqlQuote(row) + ", 'from sql')")
                    .ok());
  }
  // Wait until the capture has merged the SQL insert (its time is now).
  for (int i = 0; i < 100; ++i) {
    auto feed = api().Get("/v1/changes?table=users&limit=5000");
    if (feed.ok() && feed->http.body.find(row) != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto r = api().Edits(
      EditsBody("users", {{"c-1", row, Rfc3339(kT0), false, {{"name", "sheet"}}}}));
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(Str(r->result(0), {"status"}), "stale");
  EXPECT_EQ(Str(r->result(0), {"current", "name"}), "from sql");
  EXPECT_EQ(Str(r->result(0), {"current_versions", "name", "source"}), "MYSQL");
  EXPECT_EQ(MetricSum(urls, "sheetsync_conflicts_total", {{"table", "users"}}).value_or(-1) -
                conflicts0,
            1);
}

// Returns the whole log file of process `tier`.
std::string ReadLog(Stack& stack, Tier tier) {
  std::ifstream in(stack.process(tier).log_file);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Returns the log of `tier` once it holds `what` more than `before` times,
// or as it is after 5 s: access lines are written up to kAccessLogDelayMs
// after the call.
std::string LogWith(Stack& stack, Tier tier, const std::string& what, size_t before = 0) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::string log = ReadLog(stack, tier);
  while (Count(log, what) <= before && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    log = ReadLog(stack, tier);
  }
  return log;
}

TEST_F(SyncPathTest, OneTraceIdFollowsAnEditThroughEveryHop) {
  const std::string key = "\"message\":\"edits\",\"trace_id\":\"";
  const std::string row = NewRowId();
  auto r = api().Edits(
      EditsBody("users", {{"trace-1", row, Rfc3339(kT0), false, {{"name", "traced"}}}}));
  ASSERT_EQ(r->status, 200);
  // The gateway answers with the request's trace id, so that a client can
  // quote it ...
  const std::optional<std::string> header = r->http.Header("x-trace-id");
  ASSERT_TRUE(header.has_value());
  const std::string trace = *header;
  ASSERT_EQ(trace.size(), 16u);
  // ... logs the edit request with it (found by the id: the previous
  // test's lines may be written after this request's, as lines are gathered
  // and written every 100 ms) ...
  const std::string gateway = LogWith(*stack_, Tier::kGateway, key + trace);
  EXPECT_NE(gateway.find(key + trace), std::string::npos) << gateway;
  // ... and every hop logs its served call with the same one.
  const std::string traced = "\"trace_id\":\"" + trace + "\"";
  for (Tier tier : {Tier::kIngest, Tier::kResolver, Tier::kWriter}) {
    EXPECT_NE(LogWith(*stack_, tier, traced).find(traced), std::string::npos)
        << TierName(tier) << " did not log trace " << trace;
  }
}

}  // namespace
}  // namespace sheetsync::test
