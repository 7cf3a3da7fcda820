#include "gateway/edits_json.h"

#include <string>

#include "gmock/gmock.h"
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
  EXPECT_THAT(Message(R"({"table":"users","changes":[{"cells":{"n":1e400}}]})"),
              HasSubstr("beyond 1.8e308"));
  EXPECT_EQ(ParseEditsBody("[]").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sheetsync::gateway
