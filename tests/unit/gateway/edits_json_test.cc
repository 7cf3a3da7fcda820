#include "gateway/edits_json.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "gtest/gtest.h"

namespace sheetsync::gateway {
namespace {

using ::testing::HasSubstr;

std::string Message(absl::string_view body) {
  return std::string(ParseEditsBody(body).status().message());
}

TEST(ParseEditsBodyTest, AcceptsTheContractShape) {
  absl::StatusOr<v1::SubmitRequest> request = ParseEditsBody(
      R"({"spreadsheet_id":"s","table":"users","unknown":1,)"
      R"("changes":[{"event_id":"e","cells":{"name":"a\u0000b"}}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->table(), "users");
  EXPECT_EQ(request->spreadsheet_id(), "s");
  ASSERT_EQ(request->changes_size(), 1);
  EXPECT_EQ(request->changes(0)
                .fields()
                .at("cells")
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            std::string("a\0b", 3));
}

const google::protobuf::Value& Cell(const v1::SubmitRequest& request, const std::string& name) {
  return request.changes(0).fields().at("cells").struct_value().fields().at(name);
}

TEST(ParseEditsBodyTest, KeepsEveryJsonTypeAsProtobufWould) {
  absl::StatusOr<v1::SubmitRequest> request = ParseEditsBody(
      R"({"table":"t","changes":[{"cells":{"i":-42,"u":18446744073709551615,)"
      R"("d":2.5e-3,"b":true,"n":null,"s":"\u00e9\ud83d\ude00","l":[1,"x",[]],)"
      R"("o":{"k":{}},"big":123456789012345678901234567890}}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(Cell(*request, "i").number_value(), -42);
  // 2^64 - 1: a double holds 2^64 at best (MarksNumbersADoubleDoesNotHold...).
  EXPECT_TRUE(std::isnan(Cell(*request, "u").number_value()));
  EXPECT_EQ(Cell(*request, "d").number_value(), 2.5e-3);
  EXPECT_TRUE(Cell(*request, "b").bool_value());
  EXPECT_EQ(Cell(*request, "n").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(Cell(*request, "s").string_value(), "\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_EQ(Cell(*request, "l").list_value().values_size(), 3);
  EXPECT_EQ(Cell(*request, "l").list_value().values(1).string_value(), "x");
  EXPECT_EQ(Cell(*request, "l").list_value().values(2).kind_case(),
            google::protobuf::Value::kListValue);
  EXPECT_TRUE(Cell(*request, "o").struct_value().fields().contains("k"));
  EXPECT_TRUE(std::isnan(Cell(*request, "big").number_value()));
}

// The gateway parses into a request on an arena; both fallbacks (simdjson
// and protobuf's parser) must give what the heap version gives.
TEST(ParseEditsBodyTest, ParsesTheSameIntoARequestOnAnArena) {
  for (const char* body :
       {R"({"spreadsheet_id":"s","table":"t","changes":[{"event_id":"e","cells":{"a":1,"b":[true,null]}},{"deleted":true}]})",
        R"({"table":"t","changes":[{"cells":{"big":123456789012345678901234567890}}]})"}) {
    google::protobuf::Arena arena;
    auto& on_arena = *google::protobuf::Arena::CreateMessage<v1::SubmitRequest>(&arena);
    ASSERT_TRUE(ParseEditsBodyInto(body, on_arena).ok()) << body;
    absl::StatusOr<v1::SubmitRequest> on_heap = ParseEditsBody(body);
    ASSERT_TRUE(on_heap.ok()) << body;
    EXPECT_EQ(on_arena.DebugString(), on_heap->DebugString()) << body;
    EXPECT_EQ(on_arena.changes(0).GetArena(), &arena);
  }
}

TEST(ParseEditsBodyTest, RefusesLenientJsonWithAReason) {
  EXPECT_THAT(Message("{'table':'users','changes':[]}"), HasSubstr("not JSON"));
  EXPECT_THAT(Message(R"({"table":"users","changes":[],})"),
              HasSubstr("not JSON"));
  EXPECT_THAT(Message("{\"table\":\"us\xffrs\",\"changes\":[]}"),
              HasSubstr("invalid UTF-8"));
  EXPECT_THAT(Message(std::string(40, '[')), HasSubstr("nested too deep"));
}

TEST(ParseEditsBodyTest, RefusesJsonThatIsNotIJson) {
  EXPECT_THAT(Message(R"({"table":"users","table":"x","changes":[]})"),
              HasSubstr("duplicate names"));
  EXPECT_THAT(Message(R"({"table":"users","x":{"a":1,"a":2},"changes":[]})"),
              HasSubstr("duplicate name \"a\""));
  // Also where only the On-Demand parser sees it (a number beyond a double).
  EXPECT_THAT(
      Message(R"({"table":"users","changes":[{"n":1e400}],"table":"x"})"),
      HasSubstr("duplicate name \"table\""));
  EXPECT_EQ(ParseEditsBody("[]").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A name twice inside a change marks only that change (ingest rejects it,
// naming the first duplicate found);
// its first value is kept, and both parsers agree.
TEST(ParseEditsBodyTest, MarksChangesThatNameAFieldTwice) {
  for (const char* number : {"1", "1e400"}) {
    absl::StatusOr<v1::SubmitRequest> request = ParseEditsBody(absl::StrCat(
        R"({"table":"users","changes":[{"cells":{"a":1}},)",
        R"({"event_id":"e","cells":{"a":1,"b":{"c":1,"c":2},"a":)", number,
        R"(}},)", R"({"cells":{"a":1}},{"event_id":"f","event_id":"g","n":)",
        number, "}]}"));
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_EQ(request->changes_size(), 4);
    EXPECT_EQ(request->unreadable_changes().size(), 2);
    EXPECT_THAT(request->unreadable_changes().at(1), HasSubstr("\"c\" twice"));
    EXPECT_THAT(request->unreadable_changes().at(3),
                HasSubstr("\"event_id\" twice"));
    EXPECT_EQ(request->changes(3).fields().at("event_id").string_value(), "f");
    EXPECT_EQ(request->changes(1)
                  .fields()
                  .at("cells")
                  .struct_value()
                  .fields()
                  .at("a")
                  .number_value(),
              1);
  }
}

// Numbers beyond 64 bits or beyond a double are JSON: they parse (through
// simdjson's On-Demand API), to ±infinity beyond a double's range, and to
// InexactJsonNumber() (NaN) where the nearest double is not the number
// written; coercion rejects both for that change alone.
TEST(ParseEditsBodyTest, ReadsNumbersBeyondTheDomParser) {
  absl::StatusOr<v1::SubmitRequest> request = ParseEditsBody(
      R"({"table":"users","spreadsheet_id":"s","changes":[)"
      R"({"cells":{"n":1e400,"m":-1E+400 ,"t":1e-400,"big":99999999999999999999,)"
      R"("s":"x\u00e9","l":[1,true,null,{"k":[]}]}},{"cells":{"ok":1}}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->table(), "users");
  EXPECT_EQ(request->spreadsheet_id(), "s");
  ASSERT_EQ(request->changes_size(), 2);
  const auto& cells =
      request->changes(0).fields().at("cells").struct_value().fields();
  EXPECT_EQ(cells.at("n").number_value(),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(cells.at("m").number_value(),
            -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(cells.at("t").number_value()));
  EXPECT_TRUE(std::isnan(cells.at("big").number_value()));
  EXPECT_EQ(cells.at("s").string_value(), "x\xc3\xa9");
  const auto& list = cells.at("l").list_value();
  ASSERT_EQ(list.values_size(), 4);
  EXPECT_EQ(list.values(0).number_value(), 1);
  EXPECT_TRUE(list.values(1).bool_value());
  EXPECT_EQ(list.values(2).kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(
      list.values(3).struct_value().fields().at("k").list_value().values_size(),
      0);
  EXPECT_EQ(request->changes(1)
                .fields()
                .at("cells")
                .struct_value()
                .fields()
                .at("ok")
                .number_value(),
            1);
  // The shape checks hold on this path too.
  EXPECT_THAT(Message(R"({"table":1,"changes":[{"cells":{"n":1e400}}]})"),
              HasSubstr("\"table\" must be a string"));
  EXPECT_THAT(Message(R"([1e400])"), HasSubstr("not an object"));
}

// Every number of more than 15 digits or with an exponent is read from its
// text: kept when the nearest double is the number written, marked when not.
TEST(ParseEditsBodyTest, MarksNumbersADoubleDoesNotHoldAsWritten) {
  const struct {
    const char* number;
    double value;  // NaN: marked
  } kCases[] = {
      {"9007199254740992", 9007199254740992.0},
      {"9007199254740993", std::nan("")},
      {"-9007199254740993", std::nan("")},
      {"1234567890123456", 1234567890123456.0},
      {"12345678901234567.25", std::nan("")},
      {"0.12345678901234567891", std::nan("")},
      {"0.1000000000000000", 0.1},
      {"7.0000000000000001", std::nan("")},
      {"1e2", 100},
      {"1.5E+3", 1500},
      {"1e20", 1e20},
      {"12e-1", 1.2},
      {"1e-400", std::nan("")},
      {"1764082869123.0001", std::nan("")},
      {"123456789012345", 123456789012345.0},  // 15 digits: the DOM parser
      // What the feed prints for DOUBLE values comes back as it went.
      {"0.30000000000000004", 0.30000000000000004},
      {"1.7976931348623157e308", 1.7976931348623157e308},
      {"2.2250738585072014e-308", 2.2250738585072014e-308},
      {"5e-324", 5e-324},
      {"-1.2345678901234566e-7", -1.2345678901234566e-7},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<v1::SubmitRequest> request = ParseEditsBody(absl::StrCat(
        R"({"table":"t","changes":[{"cells":{"n":)", c.number, "}}]}"));
    ASSERT_TRUE(request.ok()) << c.number << ": " << request.status();
    const double n = request->changes(0)
                         .fields()
                         .at("cells")
                         .struct_value()
                         .fields()
                         .at("n")
                         .number_value();
    if (std::isnan(c.value)) {
      EXPECT_TRUE(std::isnan(n)) << c.number << " read as " << n;
    } else {
      EXPECT_EQ(n, c.value) << c.number;
    }
  }
}

}  // namespace
}  // namespace sheetsync::gateway
