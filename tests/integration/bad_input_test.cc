// Every class of bad input through the real gateway (issue 7's table; the
// README's "Bad input" section points here): malformed JSON, wrong types,
// huge numbers, invalid UTF-8, NUL bytes, 10 MB strings, deep nesting,
// unknown fields, injection in names, values, paths and headers, duplicate
// keys, future and ancient timestamps. Each case asserts the contract's exact
// answer (status and error code, or the change's reject code) and that
// nothing else changed in MySQL (the user table and every _sheetsync_* table);
// after each test the stack is ready and a good edit still lands.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "bad-input-token";
const int64_t kT0 = 1764082869123000;  // 2025-11-25T15:01:09.123Z

// Sends `bytes` as they are on a fresh connection and returns everything the
// server answers until it closes (requests here say Connection: close).
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n =
          send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the server answered early and stopped reading
      sent += static_cast<size_t>(n);
    }
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) out.append(chunk, n);
  }
  close(fd);
  return out;
}

// The status code of a raw HTTP response (0 when there is none).
int RawStatus(const std::string& response) {
  int status = 0;
  return sscanf(response.c_str(), "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

std::string RawBody(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// The code a test asserts: the change's reject code for 422 (the contract's
// per-change reason), else the error body's code ("" for 200).
std::string Code(const ApiResponse& r) {
  if (r.status == 422) return Str(r.result(0), {"code"});
  return Str(r.json, {"error", "code"});
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions options;
    options.token = kToken;
    absl::StatusOr<std::unique_ptr<ScratchStack>> scratch =
        StartScratchStack("badinput", std::move(options));
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    scratch_ = scratch->release();
    stack_ = scratch_->stack.get();
    auto sql = MysqlSession::Connect(scratch_->config, scratch_->db->name());
    ASSERT_TRUE(sql.ok()) << sql.status();
    sql_ = sql->release();
  }

  static void TearDownTestSuite() {
    delete sql_;
    delete scratch_;
  }

  void SetUp() override {
    if (stack_ == nullptr || sql_ == nullptr) GTEST_SKIP() << "no stack";
  }

  // Still healthy: ready, and a good edit lands.
  void TearDown() override {
    if (stack_ == nullptr || sql_ == nullptr) return;
    absl::StatusOr<HttpResponse> ready =
        HttpRequest(stack_->gateway_url() + "/readyz", "GET");
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(ready->status, 200) << ready->body;
    const std::string row = NewRowId();
    ExpectApplied(
        {NewEventId(), row, Rfc3339(kT0), false, {{"name", "still fine"}}});
    EXPECT_EQ(Hex("name", row), absl::BytesToHexString("still fine"));
  }

  static Api api() { return Api(stack_->gateway_url(), kToken); }
  static int port() { return stack_->gateway_port(); }

  static std::string NewRowId() {
    static int n = 0;
    return absl::StrCat("0badbad0-0000-4000-8000-",
                        absl::StrFormat("%012d", ++n));
  }
  static std::string NewEventId() {
    static int n = 0;
    return absl::StrCat("bad-input-", ++n);
  }

  // Every row of the user table (bytes as hex) and every row of the sync
  // metadata tables, as one comparable text.
  static std::string Snapshot() {
    std::string out;
    for (const char* query :
         {"SELECT uuid, HEX(name), HEX(email), score FROM users ORDER BY uuid",
          "SELECT tbl, row_id, rev, tomb_us, HEX(tomb_event), "
          "HEX(tomb_origin), updated_us"
          " FROM _sheetsync_rows ORDER BY 1, 2",
          "SELECT tbl, row_id, col, HEX(val), ts_us, HEX(event_id), source, "
          "HEX(origin)"
          " FROM _sheetsync_cells ORDER BY 1, 2, 3",
          "SELECT HEX(event_id), tbl FROM _sheetsync_events ORDER BY 1, 2",
          "SELECT COUNT(*) FROM _sheetsync_changelog",
          "SELECT COUNT(*) FROM _sheetsync_capture",
          "SELECT COUNT(*) FROM _sheetsync_registry",
          "SELECT COUNT(*) FROM _sheetsync_tables"}) {
      absl::StatusOr<std::vector<SqlRow>> rows = sql_->Query(query);
      EXPECT_TRUE(rows.ok()) << query << ": " << rows.status();
      if (!rows.ok()) continue;
      absl::StrAppend(&out, query, "\n");
      for (const SqlRow& row : *rows) {
        for (const auto& cell : row)
          absl::StrAppend(&out, cell.value_or("NULL"), "|");
        out += "\n";
      }
    }
    return out;
  }

  // Returns HEX(column) of `row` ("" when absent or NULL).
  static std::string Hex(const std::string& column, const std::string& row) {
    auto value = sql_->QueryValue(absl::StrCat(
        "SELECT HEX(", column, ") FROM users WHERE uuid = ", SqlQuote(row)));
    return value.ok() && value->has_value() ? absl::AsciiStrToLower(**value)
                                            : "";
  }

  // Posts `body` and expects `status` with `code` (see Code()) and no change
  // at all in MySQL.
  static void ExpectRefused(const std::string& body, int status,
                            const std::string& code) {
    const std::string before = Snapshot();
    absl::StatusOr<ApiResponse> r = api().Edits(body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, status) << body.substr(0, 300) << "\n"
                                 << r->http.body.substr(0, 500);
    EXPECT_EQ(Code(*r), code) << body.substr(0, 300) << "\n"
                              << r->http.body.substr(0, 500);
    EXPECT_FALSE(Str(r->json, {"error", "message"}).empty())
        << r->http.body.substr(0, 500);
    if (r->status == 422) {  // a result per change, ids even when empty
      const auto& result = r->result(0).struct_value().fields();
      EXPECT_TRUE(result.contains("event_id") && result.contains("row_id"))
          << r->http.body.substr(0, 500);
    }
    EXPECT_EQ(Snapshot(), before) << body.substr(0, 300);
  }

  // A one-change body, for the change classes.
  static std::string One(const std::string& change_json) {
    return absl::StrCat(R"({"table":"users","changes":[)", change_json, "]}");
  }
  // A change with a fresh event and row id and `rest` (e.g. the cells).
  static std::string Change(const std::string& rest) {
    return absl::StrCat(R"({"event_id":")", NewEventId(), R"(","row_id":")",
                        NewRowId(), R"(","updated_at":")", Rfc3339(kT0),
                        R"(",)", rest, "}");
  }

  // Expects one change to be applied and nothing but its row to change.
  static void ExpectApplied(const EditChange& change) {
    ExpectAppliedBody(EditsBody("users", {change}), change.row_id);
  }
  static void ExpectAppliedBody(const std::string& body,
                                const std::string& row) {
    const std::string before = Snapshot();
    absl::StatusOr<ApiResponse> r = api().Edits(body);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << r->http.body.substr(0, 500);
    EXPECT_EQ(Str(r->result(0), {"status"}), "applied")
        << r->http.body.substr(0, 500);
    // Only that row's user-table line is new.
    const std::string after = Snapshot();
    EXPECT_NE(after, before);
    const std::string users_before =
        before.substr(0, before.find("SELECT tbl"));
    std::string users_after = after.substr(0, after.find("SELECT tbl"));
    const size_t at = users_after.find(row);
    ASSERT_NE(at, std::string::npos);
    users_after.erase(at, users_after.find('\n', at) - at + 1);
    EXPECT_EQ(users_after, users_before);
  }

  static ScratchStack* scratch_;
  static Stack* stack_;  // scratch_->stack
  static MysqlSession* sql_;
};

ScratchStack* BadInputTest::scratch_ = nullptr;
Stack* BadInputTest::stack_ = nullptr;
MysqlSession* BadInputTest::sql_ = nullptr;

TEST_F(BadInputTest, MalformedJsonIs400) {
  for (const std::string& body : std::vector<std::string>{
           "", "not json", R"({"table":"users","changes":[)",
           R"({"table":"users","changes":[],})",
           R"({'table':'users','changes':[]})", R"({table:"users",changes:[]})",
           R"({"table":"users","changes":[]} /* c */)",
           R"({"table":"users","changes":[]} x)",
           "\xef\xbb\xbf{\"table\":\"users\",\"changes\":[]}",
           One(Change("\"cells\":{\"name\":\"tab\tinside\"}")),  // a raw tab
           One(Change(R"("cells":{"score":NaN})")),
           One(Change(R"("cells":{"score":0x10})")),
           One(Change(R"("cells":{"score":012})")), "[]", "null",
           R"("users")"}) {
    ExpectRefused(body, 400, "bad_request");
  }
}

TEST_F(BadInputTest, WrongTypes) {
  // The request's shape: 400.
  for (const std::string& body : std::vector<std::string>{
           R"({"table":5,"changes":[]})", R"({"table":"users","changes":{}})",
           R"({"table":"users","changes":[1]})",
           R"({"table":"users","changes":"[]"})",
           R"({"table":["users"],"changes":[]})",
           R"({"table":"users","spreadsheet_id":5,"changes":[]})"}) {
    ExpectRefused(body, 400, "bad_request");
  }
  // Inside a change: that change is rejected.
  const std::string row = absl::StrCat(R"("row_id":")", NewRowId(), R"(")");
  const std::string at =
      absl::StrCat(R"("updated_at":")", Rfc3339(kT0), R"(")");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {absl::StrCat(R"({"event_id":5,)", row, ",", at,
                    R"(,"cells":{"name":"a"}})"),
       "invalid_event_id"},
      {absl::StrCat(R"({"event_id":"e",)", R"("row_id":42,)", at,
                    R"(,"cells":{"name":"a"}})"),
       "invalid_row_id"},
      {absl::StrCat(R"({"event_id":"e",)", row,
                    R"(,"updated_at":true,"cells":{"name":"a"}})"),
       "invalid_timestamp"},
      {absl::StrCat(R"({"event_id":"e",)", row,
                    R"(,"updated_at":"yesterday","cells":{"name":"a"}})"),
       "invalid_timestamp"},
      {Change(R"("cells":["name","a"])"), "missing_cells"},
      {Change(R"("cells":{})"), "missing_cells"},
      {Change(R"("deleted":"yes")"), "invalid_change"},
      {Change(R"("deleted":true,"cells":{"name":"a"})"), "invalid_change"},
      {Change(R"("cells":{"name":"a"},"base":"old")"), "invalid_change"},
      {Change(R"("cells":{"name":{"first":"Ada"}})"), "type_mismatch"},
      {Change(R"("cells":{"name":["Ada"]})"), "type_mismatch"},
      {Change(R"("cells":{"score":"forty-two"})"), "type_mismatch"},
      {Change(R"("cells":{"score":42.5})"), "type_mismatch"},
      {Change(R"("cells":{"score":true})"), "type_mismatch"},
      {Change(R"("cells":{"uuid":"x"})"), "key_column"},
  };
  for (const auto& [change, code] : cases)
    ExpectRefused(One(change), 422, code);
}

TEST_F(BadInputTest, HugeNumbers) {
  // Beyond a double is still JSON: only that change is refused, whatever the
  // column (also beside integers beyond 64 bits, which take the same parser).
  for (const char* cells :
       {R"("cells":{"score":1e400})", R"("cells":{"score":-1e400})",
        R"("cells":{"name":1e400})", R"("cells":{"name":"a","score":-2E+999})",
        R"("cells":{"score":1e400},"x":99999999999999999999)",
        R"("cells":{"score":9007199254740993})",
        R"("cells":{"score":2147483648})", R"("cells":{"score":-2147483649})",
        R"("cells":{"score":"99999999999999999999999"})",
        R"("cells":{"score":1e300})",
        // Numbers a double does not hold as written, into any column (a text
        // column stored the nearest double: 9007199254740992, 1e20).
        R"("cells":{"name":9007199254740993})",
        R"("cells":{"name":99999999999999999999})",
        R"("cells":{"name":12345678901234567.25})",
        R"("cells":{"name":0.12345678901234567891})",
        R"("cells":{"name":1e-400})",
        R"("cells":{"name":"a","score":7.0000000000000001})"}) {
    ExpectRefused(One(Change(cells)), 422, "out_of_range");
  }
  // Long numbers a double holds exactly are taken as they are.
  for (const auto& [cells, column, hex] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {R"("cells":{"name":1234567890123456})", "name",
            "31323334353637383930313233343536"},
           {R"("cells":{"name":0.1000000000000000})", "name", "302e31"},
           {R"("cells":{"score":1.5e3})", "score", "5dc"}}) {
    const std::string row = NewRowId();
    ExpectAppliedBody(
        One(absl::StrCat(R"({"event_id":")", NewEventId(), R"(","row_id":")",
                         row, R"(","updated_at":")", Rfc3339(kT0), R"(",)",
                         cells, "}")),
        row);
    EXPECT_EQ(Hex(column, row), hex) << cells;
  }
  const std::string row = NewRowId();
  for (const char* at : {"1e300", "-1e300", "1e20", "253402300800000", "1.5",
                         "1e400", "-1e400", "1764082869123.0001"}) {
    ExpectRefused(One(absl::StrCat(R"({"event_id":"e","row_id":")", row,
                                   R"(","updated_at":)", at,
                                   R"(,"cells":{"name":"a"}})")),
                  422, "invalid_timestamp");
  }
}

TEST_F(BadInputTest, InvalidUtf8) {
  for (const std::string& body : std::vector<std::string>{
           One(Change("\"cells\":{\"name\":\"a\xff\xfe"
                      "b\"}")),
           One(Change("\"cells\":{\"na\xffme\":\"x\"}")),
           One(Change("\"cells\":{\"name\":\"\xc0\xaf\"}")),  // overlong '/'
           One(Change("\"cells\":{\"name\":\"\xed\xa0\x80\"}")),  // a surrogate
           One(Change(
               R"("cells":{"name":"\ud800"})")),  // a lone surrogate escape
           "{\"table\":\"us\xffrs\",\"changes\":[]}",
           "{\"spreadsheet_id\":\"\xff\",\"table\":\"users\",\"changes\":[]}",
           One(absl::StrCat(
               "{\"event_id\":\"\xff\",\"row_id\":\"", NewRowId(),
               "\",\"updated_at\":0,\"cells\":{\"name\":\"a\"}}"))}) {
    ExpectRefused(body, 400, "bad_request");
  }
  // In a query or a path: 400 (they used to reach gRPC and answer 500), and
  // an error body that is valid JSON.
  for (const char* target :
       {"/v1/changes?table=%ff", "/v1/rows?table=users&after=%c3%28",
        "/v1/changes?table=users&exclude_origin=%ed%a0%80"}) {
    absl::StatusOr<ApiResponse> r = api().Get(target);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 400) << target << r->http.body;
    EXPECT_EQ(Code(*r), "bad_request") << target;
  }
  const std::string raw = RawExchange(
      port(),
      absl::StrCat(
          "GET /v1/\xff\xfe HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ",
          kToken, "\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(RawStatus(raw), 404) << raw;
  EXPECT_EQ(Str(ParseJson(RawBody(raw)), {"error", "code"}), "not_found")
      << raw;
}

TEST_F(BadInputTest, NulBytes) {
  // Escaped in a value: a valid string, stored verbatim.
  const std::string row = NewRowId();
  ExpectApplied({NewEventId(),
                 row,
                 Rfc3339(kT0),
                 false,
                 {{"name", std::string("a\0b", 3)}}});
  EXPECT_EQ(Hex("name", row), "610062");
  // Raw in the body: not JSON.
  constexpr char kRawNul[] = "\"cells\":{\"name\":\"a\0b\"}";
  ExpectRefused(One(Change(std::string(kRawNul, sizeof(kRawNul) - 1))), 400,
                "bad_request");
  ExpectRefused(std::string("{\"table\":\"users\",\"changes\":[]}\0", 31), 400,
                "bad_request");
  // Escaped in a name or an id: no such column or table, not an id.
  ExpectRefused(One(Change(R"("cells":{"name\u0000":"x"})")), 422,
                "unknown_column");
  ExpectRefused(R"({"table":"users\u0000","changes":[]})", 404,
                "unknown_table");
  ExpectRefused(EditsBody("users", {{std::string("a\0b", 3),
                                     NewRowId(),
                                     Rfc3339(kT0),
                                     false,
                                     {{"name", "x"}}}}),
                422, "invalid_event_id");
  ExpectRefused(
      One(absl::StrCat(
          R"({"event_id":"e","row_id":"0badbad0-0000-4000-8000-\u0000",)",
          R"("updated_at":0,"cells":{"name":"x"}})")),
      422, "invalid_row_id");
  absl::StatusOr<ApiResponse> r = api().Get("/v1/changes?table=users%00");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Code(*r), "unknown_table");
}

TEST_F(BadInputTest, TenMegabyteStrings) {
  const std::string ten_mb(10 << 20, 'x');
  ExpectRefused(
      One(Change(absl::StrCat(R"("cells":{"name":")", ten_mb, R"("})"))), 413,
      "payload_too_large");
  // Chunked, so the size is only known while reading.
  const std::string before = Snapshot();
  std::string chunked = absl::StrCat(
      "POST /v1/edits HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ", kToken,
      "\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n");
  const std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 10; ++i)
    absl::StrAppend(&chunked, absl::Hex(chunk.size()), "\r\n", chunk, "\r\n");
  chunked += "0\r\n\r\n";
  const std::string raw = RawExchange(port(), chunked);
  EXPECT_EQ(RawStatus(raw), 413) << raw.substr(0, 300);
  EXPECT_EQ(Str(ParseJson(RawBody(raw)), {"error", "code"}),
            "payload_too_large");
  // A 10 MB header.
  const std::string header = RawExchange(
      port(), absl::StrCat("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ",
                           ten_mb, "\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(RawStatus(header), 431) << header.substr(0, 300);
  EXPECT_EQ(Snapshot(), before);
  // Under the body limit but over the column: that change is rejected.
  ExpectRefused(One(Change(absl::StrCat(R"("cells":{"name":")",
                                        std::string(900 << 10, 'y'), R"("})"))),
                422, "value_too_long");
}

TEST_F(BadInputTest, DeepNesting) {
  ExpectRefused(std::string(100000, '['), 400, "bad_request");
  ExpectRefused(absl::StrCat(R"({"table":"users","changes":[],"x":)",
                             std::string(40, '['), std::string(40, ']'), "}"),
                400, "bad_request");
  // Every depth, of arrays and of objects, in a cell and in `base`: 400 (too
  // deep) or the change rejected, never a 5xx from a deeper parser.
  for (int depth = 1; depth <= 60; depth += 3) {
    std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    std::string objects = "1";
    for (int i = 0; i < depth; ++i)
      objects = absl::StrCat(R"({"a":)", objects, "}");
    for (const std::string& value : {arrays, objects}) {
      for (const std::string& rest :
           {absl::StrCat(R"("cells":{"name":)", value, "}"),
            absl::StrCat(R"("cells":{"score":1.5},"base":{"score":)", value,
                         "}")}) {
        const std::string before = Snapshot();
        absl::StatusOr<ApiResponse> r = api().Edits(One(Change(rest)));
        ASSERT_TRUE(r.ok()) << r.status();
        EXPECT_THAT(r->status, AnyOf(400, 422))
            << depth << " " << rest << r->http.body;
        if (r->status == 422) {
          EXPECT_EQ(Code(*r), "type_mismatch") << rest;
        } else {
          EXPECT_THAT(r->http.body, HasSubstr("nested too deep"));
        }
        EXPECT_EQ(Snapshot(), before);
      }
    }
  }
}

TEST_F(BadInputTest, UnknownFieldsAreIgnored) {
  const std::string row = NewRowId();
  ExpectAppliedBody(
      absl::StrCat(
          R"({"table":"users","version":2,"extra":{"a":[1]},"changes":[{"event_id":")",
          NewEventId(), R"(","row_id":")", row, R"(","updated_at":")",
          Rfc3339(kT0),
          R"(","cells":{"name":"known"},"colour":"red","priority":1}]})"),
      row);
  EXPECT_EQ(Hex("name", row), absl::BytesToHexString("known"));
  EXPECT_EQ(Hex("email", row), "");
}

TEST_F(BadInputTest, InjectionInNamesIsRefused) {
  for (const char* column : {"name`=1; DROP TABLE users; --", "name = 'x' --",
                             "name) VALUES ('x'); DROP TABLE users; --",
                             "users.name", "`name`", "NAME "}) {
    ExpectRefused(
        EditsBody(
            "users",
            {{NewEventId(), NewRowId(), Rfc3339(kT0), false, {{column, "x"}}}}),
        422, "unknown_column");
  }
  for (const char* table :
       {"users`; DROP TABLE users; --", "users; DROP TABLE users", "mysql.user",
        "_sheetsync_events", "../users", "users' OR '1'='1"}) {
    ExpectRefused(absl::StrCat(R"({"table":")", table, R"(","changes":[]})"),
                  404, "unknown_table");
    absl::StatusOr<ApiResponse> feed = api().Get(absl::StrCat(
        "/v1/changes?table=",
        absl::StrReplaceAll(
            table, {{" ", "%20"}, {"'", "%27"}, {";", "%3B"}, {"`", "%60"}})));
    ASSERT_TRUE(feed.ok());
    EXPECT_EQ(feed->status, 404) << table;
  }
  for (const char* row :
       {"' OR 1=1; --", "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f' --",
        "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f; DROP TABLE users"}) {
    ExpectRefused(
        EditsBody("users",
                  {{NewEventId(), row, Rfc3339(kT0), false, {{"name", "x"}}}}),
        422, "invalid_row_id");
  }
  absl::StatusOr<ApiResponse> rows =
      api().Get("/v1/rows?table=users&after=%27%20OR%201%3D1--");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->status, 200);  // a key compared as text, not SQL
}

TEST_F(BadInputTest, InjectionInValuesIsStoredVerbatim) {
  for (const std::string& value :
       {std::string("Robert'); DROP TABLE users; --"),
        std::string("\\' OR 1=1 -- \\\\ \" `x`"),
        std::string("0x41; SELECT SLEEP(10)"), std::string("\\0\\n\\Z%_"),
        std::string("<script>alert(1)</script>"),
        std::string("h\xc3\xa9llo \xf0\x9f\x98\x80")}) {
    const std::string row = NewRowId();
    ExpectApplied({NewEventId(), row, Rfc3339(kT0), false, {{"name", value}}});
    EXPECT_EQ(Hex("name", row), absl::BytesToHexString(value)) << value;
  }
  // Ids and the origin are data too.
  const std::string row = NewRowId();
  const std::string event = "x');DROP/**/TABLE/**/users;--";
  ExpectAppliedBody(
      EditsBody("users", {{event, row, Rfc3339(kT0), false, {{"email", "e"}}}},
                "'); DROP TABLE users; --"),
      row);
  auto stored = sql_->QueryValue(
      absl::StrCat("SELECT COUNT(*) FROM _sheetsync_events WHERE event_id = ",
                   SqlQuote(event)));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value_or(""), "1");
}

TEST_F(BadInputTest, PathTraversalFindsNoRoute) {
  for (const char* path :
       {"/v1/../v1/edits", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        "/v1/changes/../../etc/passwd", "//etc/passwd", "/static/../../main.cc",
        "/v1/edits/../changes", "/index.html"}) {
    absl::StatusOr<ApiResponse> r = api().Get(path);
    ASSERT_TRUE(r.ok()) << path;
    EXPECT_EQ(r->status, 404) << path << r->http.body;
    EXPECT_EQ(Code(*r), "not_found") << path;
  }
  // The admin routes are off here (no admin token), whatever the name.
  absl::StatusOr<ApiResponse> admin =
      api().Get("/v1/admin/tables/..%2f..%2fmysql.user");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->status, 403);
  EXPECT_EQ(Code(*admin), "admin_disabled");
}

TEST_F(BadInputTest, HeaderInjectionAndSmuggling) {
  const std::string before = Snapshot();
  const std::string auth =
      absl::StrCat("Authorization: Bearer ", kToken, "\r\n");
  const std::string body = EditsBody("users", {{NewEventId(),
                                                NewRowId(),
                                                Rfc3339(kT0),
                                                false,
                                                {{"name", "smuggled"}}}});
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      // Two lengths, or a length and chunking: ambiguous framing.
      {absl::StrCat("POST /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
                    "Content-Length: 5\r\n", "Content-Length: ", body.size(),
                    "\r\nConnection: close\r\n\r\n", body),
       400},
      {absl::StrCat(
           "POST /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
           "Content-Length: ", body.size(),
           "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", body),
       400},
      // A coding besides chunked, with a chunked body that is a valid edit
      // (it was applied, the gzip ignored), and chunked twice.
      {absl::StrCat(
           "POST /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
           "Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
           absl::Hex(body.size()), "\r\n", body, "\r\n0\r\n\r\n"),
       400},
      {absl::StrCat(
           "POST /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
           "Connection: close\r\n\r\n",
           absl::Hex(body.size()), "\r\n", body, "\r\n0\r\n\r\n"),
       400},
      // A bare CR or a NUL inside a header.
      {absl::StrCat(
           "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\rInjected: b\r\n",
           "Connection: close\r\n\r\n"),
       400},
      {absl::StrCat("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a",
                    std::string(1, '\0'), "b\r\nConnection: close\r\n\r\n"),
       400},
      // CR LF in the target.
      {"GET /healthz?x=\r\nSet-Cookie: a=b HTTP/1.1\r\nHost: t\r\nConnection: "
       "close\r\n\r\n",
       400},
      // The auth scheme in any case, one or more spaces (RFC 7235).
      {absl::StrCat("GET /v1/changes?table=users HTTP/1.1\r\nHost: "
                    "t\r\nAuthorization: bEARER  ",
                    kToken, "\r\nConnection: close\r\n\r\n"),
       200},
      {absl::StrCat("GET /v1/changes?table=users HTTP/1.1\r\nHost: "
                    "t\r\nAuthorization: Bearer",
                    kToken, "\r\nConnection: close\r\n\r\n"),
       401},
      // A token with something appended (obsolete line folding).
      {absl::StrCat("GET /v1/changes?table=users HTTP/1.1\r\nHost: "
                    "t\r\nAuthorization: Bearer ",
                    kToken, "\r\n\tx\r\nConnection: close\r\n\r\n"),
       401},
  };
  for (const Case& c : cases) {
    const std::string raw = RawExchange(port(), c.request);
    EXPECT_EQ(RawStatus(raw), c.status)
        << absl::CEscape(c.request.substr(0, 120)) << "\n"
        << raw.substr(0, 300);
  }
  // A wrong method: 405 naming the right one in Allow (RFC 9110).
  const std::string wrong_method = RawExchange(
      port(), absl::StrCat("DELETE /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
                           "Connection: close\r\n\r\n"));
  EXPECT_EQ(RawStatus(wrong_method), 405);
  EXPECT_THAT(wrong_method.substr(0, wrong_method.find("\r\n\r\n")),
              HasSubstr("\r\nAllow: POST"))
      << wrong_method;
  // The public routes are read-only (they answered anything).
  const std::string post_health =
      RawExchange(port(),
                  "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                  "Connection: close\r\n\r\n{}");
  EXPECT_EQ(RawStatus(post_health), 405) << post_health;
  EXPECT_THAT(post_health.substr(0, post_health.find("\r\n\r\n")),
              HasSubstr("\r\nAllow: GET, HEAD"));
  // A compressed body is refused as such, even one that reads as a valid
  // edit (it was applied, the coding ignored; gzip's bytes answered 400).
  const std::string gzipped = RawExchange(
      port(), absl::StrCat("POST /v1/edits HTTP/1.1\r\nHost: t\r\n", auth,
                           "Content-Encoding: gzip\r\nContent-Length: ",
                           body.size(), "\r\nConnection: close\r\n\r\n", body));
  EXPECT_EQ(RawStatus(gzipped), 415) << gzipped;
  // HEAD reads like GET, without the body (it answered 405).
  const std::string head_feed = RawExchange(
      port(),
      absl::StrCat("HEAD /v1/changes?table=users HTTP/1.1\r\nHost: t\r\n", auth,
                   "Connection: close\r\n\r\n"));
  EXPECT_EQ(RawStatus(head_feed), 200) << head_feed;
  EXPECT_TRUE(absl::EndsWith(head_feed, "\r\n\r\n")) << head_feed;
  // Percent-encoded CR LF comes back escaped inside the JSON body, never as a
  // header.
  const std::string reflected = RawExchange(
      port(),
      absl::StrCat(
          "GET /v1/changes?table=users%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\n",
          "Host: t\r\n", auth, "Connection: close\r\n\r\n"));
  EXPECT_EQ(RawStatus(reflected), 404);
  const std::string head = reflected.substr(0, reflected.find("\r\n\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("Set-Cookie"))) << reflected;
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(BadInputTest, DuplicateKeys) {
  // Outside a change: which table or which changes is meant is ambiguous.
  for (
      const std::string& body : std::vector<std::string>{
          R"({"table":"users","table":"other","changes":[]})",
          R"({"table":"users","changes":[],"changes":[]})",
          R"({"table":"users","spreadsheet_id":"a","spreadsheet_id":"b","changes":[]})"}) {
    ExpectRefused(body, 400, "bad_request");
  }
  // Inside a change, only that change is refused (the body is JSON, and the
  // contract refuses a problem inside one change alone), also on the parser
  // that reads numbers beyond a double.
  for (const std::string& change :
       {Change(R"("cells":{"name":"a","name":"b"})"),
        Change(R"("cells":{"name":"a"},"cells":{"email":"b"})"),
        Change(R"("cells":{"name":"a"},"event_id":"again")"),
        Change(R"("cells":{"name":"a"},"base":{"name":"x","name":"y"})"),
        Change(R"("cells":{"name":"a","name":"b","score":1e400})")}) {
    ExpectRefused(One(change), 422, "invalid_change");
  }
  const std::string good = NewRowId();
  absl::StatusOr<ApiResponse> r = api().Edits(absl::StrCat(
      R"({"table":"users","changes":[)",
      Change(R"("cells":{"name":"a","name":"b"})"), R"(,{"event_id":")",
      NewEventId(), R"(","row_id":")", good, R"(","updated_at":")",
      Rfc3339(kT0), R"(","cells":{"name":"kept"}}]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"code"}), "invalid_change");
  EXPECT_THAT(Str(r->result(0), {"error"}), HasSubstr("\"name\" twice"));
  EXPECT_FALSE(Str(r->result(0), {"event_id"}).empty());
  EXPECT_EQ(Str(r->result(1), {"status"}), "applied");
  EXPECT_EQ(Hex("name", good), absl::BytesToHexString("kept"));
}

TEST_F(BadInputTest, FutureAndAncientTimestamps) {
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (const std::string& at :
       {Rfc3339(now + 600'000'000), std::string("9999-12-31T23:59:59.999999Z"),
        std::string("2999-01-01T00:00:00+14:00")}) {
    ExpectRefused(
        EditsBody("users",
                  {{NewEventId(), NewRowId(), at, false, {{"name", "x"}}}}),
        422, "future_timestamp");
  }
  ExpectRefused(EditsBody("users", {{NewEventId(),
                                     NewRowId(),
                                     std::to_string(now / 1000 + 600000),
                                     false,
                                     {{"name", "x"}}}}),
                422, "future_timestamp");
  for (const std::string& at :
       {std::string("0000-12-31T23:59:59Z"), std::string("-62135596800001"),
        std::string("2026-02-30T00:00:00Z"),
        std::string("2026-11-25T15:01:09.1234567Z"),
        std::string("2026-11-25T24:00:00Z"),
        std::string("2026-11-25T15:01:09+24:00"),
        std::string("2026-11-25T15:01Z"), std::string("2026-11-25T15:01:09")}) {
    ExpectRefused(
        EditsBody("users",
                  {{NewEventId(), NewRowId(), at, false, {{"name", "x"}}}}),
        422, "invalid_timestamp");
  }
  // The earliest representable times are valid (on a fresh row they used to
  // answer stale, as if a tombstone had been pruned), and lose to any later
  // edit.
  for (const std::string& at :
       {std::string("0001-01-01T00:00:00Z"), std::string("-62135596800000"),
        std::string("0")}) {
    const std::string row = NewRowId();
    ExpectApplied({NewEventId(), row, at, false, {{"name", "ancient"}}});
    absl::StatusOr<ApiResponse> later = api().Edits(EditsBody(
        "users",
        {{NewEventId(), row, Rfc3339(kT0), false, {{"name", "later"}}}}));
    ASSERT_TRUE(later.ok());
    EXPECT_EQ(Str(later->result(0), {"status"}), "applied");
    EXPECT_EQ(Hex("name", row), absl::BytesToHexString("later"));
  }
}

TEST_F(BadInputTest, OnlyTheValidChangesOfAMixedRequestLand) {
  const std::string good = NewRowId();
  const std::string body = absl::StrCat(
      R"({"table":"users","changes":[)", Change(R"("cells":{"score":"x"})"),
      ",", R"({"event_id":"mixed-good","row_id":")", good,
      R"(","updated_at":")", Rfc3339(kT0),
      R"(","cells":{"name":"good","score":"7"}},)",
      Change(R"("cells":{"name\"; DROP TABLE users; --":"x"})"), ",",
      R"({"event_id":"mixed-bad-ts","row_id":")", NewRowId(),
      R"(","updated_at":"9999-01-01T00:00:00Z","cells":{"name":"x"}},)",
      Change(R"("cells":{"score":1e400})"), "]}");
  const std::string before = Snapshot();
  absl::StatusOr<ApiResponse> r = api().Edits(body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"code"}), "type_mismatch");
  EXPECT_EQ(Str(r->result(1), {"status"}), "applied");
  EXPECT_EQ(Str(r->result(2), {"code"}), "unknown_column");
  EXPECT_EQ(Str(r->result(3), {"code"}), "future_timestamp");
  EXPECT_EQ(Str(r->result(4), {"code"}), "out_of_range");
  const std::string after = Snapshot();
  EXPECT_EQ(Hex("name", good), absl::BytesToHexString("good"));
  // Exactly one row more, and one event more.
  auto count = [](const std::string& snapshot, const std::string& table) {
    const size_t at = snapshot.find(table);
    const size_t next = snapshot.find("SELECT", at + 1);
    return std::count(snapshot.begin() + at, snapshot.begin() + next, '\n') - 1;
  };
  EXPECT_EQ(count(after, "FROM users"), count(before, "FROM users") + 1);
  EXPECT_EQ(count(after, "FROM _sheetsync_events"),
            count(before, "FROM _sheetsync_events") + 1);
}

}  // namespace
}  // namespace sheetsync::test
