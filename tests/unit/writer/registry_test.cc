// TableRegistry and the registry file's parser, against an in-memory
// RegistryBackend (the MySQL side is covered by tables_test).
#include "services/writer/registry.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P2(StatusIs, code, substring, "") {
  return arg.code() == code &&
         absl::StrContains(arg.message(), std::string(substring));
}

class FakeBackend final : public RegistryBackend {
 public:
  absl::StatusOr<std::vector<v1::TableConfig>> LoadStored() override {
    std::vector<v1::TableConfig> out;
    for (const auto& [name, config] : stored) out.push_back(config);
    return out;
  }
  absl::Status Store(const v1::TableConfig& config) override {
    stored[config.name()] = config;
    return absl::OkStatus();
  }
  absl::Status Unstore(const std::string& table) override {
    return stored.erase(table) > 0 ? absl::OkStatus()
                                   : absl::NotFoundError("not stored");
  }
  absl::Status CreateIfMissing(const v1::TableConfig& config) override {
    created.insert(config.name());
    existing.insert(config.name());
    return absl::OkStatus();
  }
  absl::Status Activate(const std::vector<v1::TableConfig>& tables) override {
    ++activations;
    active.clear();
    for (const v1::TableConfig& config : tables)
      active.push_back(config.name());
    return absl::OkStatus();
  }
  absl::StatusOr<v1::TableSchema> Inspect(
      const v1::TableConfig& config) override {
    if (existing.count(config.name()) == 0) {
      return absl::NotFoundError(
          absl::StrCat("table `", config.name(), "` does not exist"));
    }
    if (config.key_column() != "uuid") {
      return absl::FailedPreconditionError("no usable key column");
    }
    v1::TableSchema schema;
    schema.set_table(config.name());
    schema.set_key_column(config.key_column());
    schema.add_columns()->set_name("uuid");
    return schema;
  }
  absl::StatusOr<v1::TableSchema> Describe(const std::string& table) override {
    v1::TableConfig config;
    config.set_name(table);
    config.set_key_column("uuid");
    return Inspect(config);
  }

  std::map<std::string, v1::TableConfig> stored;
  std::set<std::string> existing = {"users", "orders", "notes", "extra"};
  std::set<std::string> created;
  std::vector<std::string> active;
  int activations = 0;
};

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/registry-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    file_ = dir_ + "/registry.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& json) {
    const std::string tmp = file_ + ".tmp";
    std::ofstream(tmp) << json;
    ASSERT_EQ(std::rename(tmp.c_str(), file_.c_str()), 0);
  }

  std::string dir_;
  std::string file_;
  FakeBackend backend_;
};

TEST(ParseRegistryFileTest, FillsDefaults) {
  absl::StatusOr<std::vector<v1::TableConfig>> tables = ParseRegistryFile(
      R"({"tables": [{"name": "users"},
                     {"name": "Straße `x`", "keyColumn": "Row ID",
                      "sheet": "Tab", "read_only_columns": ["total"]}]})");
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_EQ(tables->size(), 2u);
  EXPECT_EQ((*tables)[0].key_column(), "uuid");
  EXPECT_EQ((*tables)[0].sheet(), "users");
  EXPECT_EQ((*tables)[1].key_column(), "Row ID");
  EXPECT_EQ((*tables)[1].sheet(), "Tab");
  EXPECT_THAT((*tables)[1].read_only_columns(), ElementsAre("total"));
}

TEST(ParseRegistryFileTest, RejectsBadFiles) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not a registry file"},
      {R"({"tables": [{"name": "a", "key": "b"}]})", "key"},
      {R"({"tables": [{"name": "a"}, {"name": "a"}]})", "listed twice"},
      {R"({"tables": [{"name": ""}]})", "must not be empty"},
      {R"({"tables": [{"name": "_sheetsync_rows"}]})", "reserved"},
      {R"({"tables": [{"name": "a "}]})", "end with a space"},
      {R"({"tables": [{"name": "x😀"}]})", "4-byte"},
      {R"({"tables": [{"name": "a", "create_if_missing": true}]})",
       "needs headers"},
      {R"({"tables": [{"name": "a", "headers": ["b"]}]})",
       "only used with create_if_missing"},
      {R"({"tables": [{"name": "a", "create_if_missing": true,
                       "headers": ["B", "b"]}]})",
       "appears twice"},
      {R"({"tables": [{"name": "a", "create_if_missing": true,
                       "headers": ["UUID"]}]})",
       "key column"},
  };
  for (const auto& [json, why] : cases) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseRegistryFile(json).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, why));
  }
  EXPECT_THAT(NormalizeTableConfig([] {
                v1::TableConfig c;
                c.set_name(std::string(65, 'a'));
                return c;
              }())
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "longer than 64"));
}

TEST_F(RegistryTest, FileOverridesFlagAndShadowsStoredRegistrations) {
  WriteFile(R"({"tables": [{"name": "orders", "sheet": "Orders"}]})");
  v1::TableConfig stored;
  stored.set_name("orders");
  stored.set_sheet("from admin");
  backend_.stored["orders"] = stored;
  stored.set_name("notes");
  backend_.stored["notes"] = stored;
  TableRegistry registry(backend_, {{"users", "orders"}, file_});
  ASSERT_TRUE(registry.Refresh(/*strict=*/true).ok());
  EXPECT_THAT(backend_.active, ElementsAre("notes", "orders", "users"));
  absl::StatusOr<v1::RegisteredTable> orders = registry.Get("orders");
  ASSERT_TRUE(orders.ok()) << orders.status();
  EXPECT_EQ(orders->source(), "file");
  EXPECT_EQ(orders->config().sheet(), "Orders");
  EXPECT_TRUE(orders->ready());
  EXPECT_EQ(registry.Get("notes")->source(), "admin");
  EXPECT_EQ(registry.Get("users")->source(), "flag");
  EXPECT_THAT(registry.ConfiguredTables(), ElementsAre("orders", "users"));
}

TEST_F(RegistryTest, ReloadsTheFileOnlyWhenItChanges) {
  WriteFile(R"({"tables": [{"name": "users"}]})");
  TableRegistry registry(backend_, {{}, file_});
  ASSERT_TRUE(registry.Refresh(true).ok());
  ASSERT_TRUE(registry.Refresh().ok());
  EXPECT_EQ(backend_.activations, 1);
  EXPECT_FALSE(registry.Contains("extra"));

  WriteFile(R"({"tables": [{"name": "users"}, {"name": "extra"}]})");
  ASSERT_TRUE(registry.Refresh().ok());
  EXPECT_EQ(backend_.activations, 2);
  EXPECT_TRUE(registry.Contains("extra"));

  // A bad file keeps the last good one, and is reported once.
  WriteFile(R"({"tables": [{"name": "users"}, {"nam": "extra"}]})");
  EXPECT_THAT(registry.Refresh(),
              StatusIs(absl::StatusCode::kInvalidArgument, "last good one"));
  EXPECT_TRUE(registry.Refresh().ok());
  EXPECT_TRUE(registry.Contains("extra"));
  EXPECT_EQ(backend_.activations, 2);
}

TEST_F(RegistryTest, StrictStartRefusesWithoutActivating) {
  WriteFile(R"({"tables": [{"name": "missing"}]})");
  TableRegistry registry(backend_, {{}, file_});
  EXPECT_THAT(registry.Refresh(/*strict=*/true),
              StatusIs(absl::StatusCode::kNotFound, "`missing`"));
  EXPECT_EQ(backend_.activations, 0);

  TableRegistry no_file(backend_, {{}, dir_ + "/absent.json"});
  EXPECT_THAT(no_file.Refresh(/*strict=*/true),
              StatusIs(absl::StatusCode::kNotFound, "absent.json"));
  EXPECT_EQ(backend_.activations, 0);
}

TEST_F(RegistryTest, AdminPutAndDelete) {
  TableRegistry registry(backend_, {{"users"}, ""});
  ASSERT_TRUE(registry.Refresh(true).ok());

  v1::TableConfig config;
  config.set_name("users");
  EXPECT_THAT(registry.Put(config).status(),
              StatusIs(absl::StatusCode::kAlreadyExists, "--tables"));
  EXPECT_THAT(registry.Delete("users"),
              StatusIs(absl::StatusCode::kAlreadyExists, "--tables"));

  config.set_name("nowhere");
  EXPECT_THAT(registry.Put(config).status(),
              StatusIs(absl::StatusCode::kNotFound, "create_if_missing"));
  config.set_name("orders");
  config.set_key_column("id");
  EXPECT_THAT(registry.Put(config).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "key column"));
  EXPECT_TRUE(backend_.stored.empty());

  config.clear_key_column();
  absl::StatusOr<v1::RegisteredTable> put = registry.Put(config);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->source(), "admin");
  EXPECT_EQ(put->config().key_column(), "uuid");
  EXPECT_EQ(backend_.stored.count("orders"), 1u);
  EXPECT_THAT(backend_.active, ElementsAre("orders", "users"));

  v1::TableConfig created;
  created.set_name("fresh");
  created.set_create_if_missing(true);
  created.add_headers("Title");
  ASSERT_TRUE(registry.Put(created).ok());
  EXPECT_EQ(backend_.created.count("fresh"), 1u);

  ASSERT_TRUE(registry.Delete("orders").ok());
  EXPECT_THAT(backend_.active, ElementsAre("fresh", "users"));
  EXPECT_THAT(registry.Delete("orders"),
              StatusIs(absl::StatusCode::kNotFound, ""));
  EXPECT_THAT(registry.Get("orders").status(),
              StatusIs(absl::StatusCode::kNotFound, "not registered"));
}

}  // namespace
}  // namespace sheetsync
