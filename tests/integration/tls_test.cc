// The whole stack with HTTPS on the gateway and mutual TLS between the gRPC
// services, with certificates of a throwaway CA made by openssl: an edit
// sent over HTTPS lands in MySQL and comes back through the feed; plain HTTP,
// plaintext gRPC and gRPC clients without a certificate of the CA are
// refused; partial TLS settings stop a process at start-up.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"
#include "tests/support/test_pki.h"

namespace sheetsync::test {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kToken[] = "tls-token";
constexpr char kRow[] = "7e57a1a1-0000-4000-8000-000000000001";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = new MysqlTestConfig(*config);
    absl::StatusOr<ScratchDatabase> db =
        ScratchDatabase::Create(*config, "tls");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = new ScratchDatabase(*std::move(db));
    absl::StatusOr<std::string> dir = MakeTempDir("pki");
    ASSERT_TRUE(dir.ok()) << dir.status();
    pki_dir_ = new std::string(*dir);
    absl::StatusOr<TestPki> pki = MakeTestPki(*dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*pki);

    StackOptions options;
    options.mysql = *config;
    options.database = db_->name();
    options.token = kToken;
    // Replica lists: the name checked in the servers' certificates is then
    // not the channel's default authority.
    options.replicas = 2;
    options.tls = {pki->ca, pki->server.cert, pki->server.key, /*grpc=*/true,
                   /*https=*/true};
    absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete db_;
    delete config_;
    delete pki_;
    if (pki_dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*pki_dir_, ignored);
    }
    delete pki_dir_;
  }

  void SetUp() override {
    ASSERT_NE(stack_, nullptr) << "the stack did not start";
  }

  static Api api() {
    return Api(stack_->gateway_url(), kToken, stack_->http_tls());
  }

  // Calls Health/Check of the first writer with `credentials`.
  static grpc::Status WriterHealth(
      std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto channel = grpc::CreateChannel(
        stack_->grpc_addrs(Tier::kWriter).front(), std::move(credentials));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckResponse response;
    return Health::NewStub(channel)->Check(&context, HealthCheckRequest(),
                                           &response);
  }

  // TLS credentials that trust the test CA and present `cert` (if any).
  static std::shared_ptr<grpc::ChannelCredentials> Tls(const CertFiles* cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(pki_->ca);
    if (cert != nullptr) {
      options.pem_cert_chain = ReadFile(cert->cert);
      options.pem_private_key = ReadFile(cert->key);
    }
    return grpc::SslCredentials(options);
  }

  // Runs `tier`'s binary with `flags` and returns its exit code and output.
  static std::pair<int, std::string> RunBinary(
      Tier tier, const std::vector<std::string>& flags) {
    const std::string log =
        absl::StrCat(*pki_dir_, "/", TierName(tier), ".log");
    ChildProcess child;
    absl::Status started =
        child.Start(stack_->process(tier).binary, flags, {}, log);
    if (!started.ok()) return {-1, started.ToString()};
    absl::StatusOr<ExitStatus> exit = child.Wait(absl::Seconds(20));
    if (!exit.ok()) return {-1, exit.status().ToString()};
    return {exit->Exited() ? exit->ExitCode() : -1, ReadFile(log)};
  }

  static MysqlTestConfig* config_;
  static ScratchDatabase* db_;
  static std::string* pki_dir_;
  static TestPki* pki_;
  static Stack* stack_;
};

MysqlTestConfig* TlsTest::config_ = nullptr;
ScratchDatabase* TlsTest::db_ = nullptr;
std::string* TlsTest::pki_dir_ = nullptr;
TestPki* TlsTest::pki_ = nullptr;
Stack* TlsTest::stack_ = nullptr;

TEST_F(TlsTest, EditOverHttpsLandsInMysqlAndReadsBackThroughTheFeed) {
  ASSERT_THAT(stack_->gateway_url(), ::testing::StartsWith("https://"));
  absl::StatusOr<ApiResponse> r = api().Edits(
      EditsBody("users", {{"tls-e1",
                           kRow,
                           "2026-01-02T03:04:05.678Z",
                           false,
                           {{"name", "Ada"}, {"email", "ada@tls.example"}}}}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "applied");

  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  auto rows = (*session)->Query(absl::StrCat(
      "SELECT name, email FROM users WHERE uuid = ", SqlQuote(kRow)));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "Ada");
  EXPECT_EQ((*rows)[0][1], "ada@tls.example");

  absl::StatusOr<ApiResponse> feed = api().Get("/v1/changes?table=users");
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(feed->status, 200) << feed->http.body;
  bool found = false;
  for (const auto& change :
       feed->json.struct_value().fields().at("changes").list_value().values()) {
    if (Str(change, {"row_id"}) != kRow) continue;
    found = true;
    EXPECT_EQ(Str(change, {"cells", "email"}), "ada@tls.example");
  }
  EXPECT_TRUE(found) << feed->http.body;
}

TEST_F(TlsTest, PlainHttpToTheHttpsGatewayFails) {
  const std::string plain_url =
      absl::StrCat("http://127.0.0.1:", stack_->gateway_port(), "/healthz");
  absl::StatusOr<HttpResponse> plain =
      HttpRequest(plain_url, "GET", {}, "", absl::Seconds(5));
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kUnavailable)
      << (plain.ok() ? plain->body : "");
  // Nor does a client that does not trust the gateway's CA get through.
  absl::StatusOr<HttpResponse> untrusted =
      HttpRequest(stack_->gateway_url() + "/healthz", "GET", {}, "",
                  absl::Seconds(5), HttpTls{pki_->other_ca});
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(untrusted.status().message(), HasSubstr("TLS handshake"));
  // Failed handshakes leave the gateway serving.
  absl::StatusOr<HttpResponse> ok =
      HttpRequest(stack_->gateway_url() + "/readyz", "GET", {}, "",
                  absl::Seconds(5), stack_->http_tls());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(TlsTest, GrpcServerAcceptsOnlyClientCertificatesOfItsCa) {
  EXPECT_TRUE(WriterHealth(Tls(&pki_->client)).ok());
  EXPECT_EQ(WriterHealth(Tls(nullptr)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(WriterHealth(Tls(&pki_->other)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, PlaintextGrpcClientIsRefused) {
  for (Tier tier : {Tier::kWriter, Tier::kResolver, Tier::kIngest}) {
    auto channel = grpc::CreateChannel(stack_->grpc_addrs(tier).front(),
                                       grpc::InsecureChannelCredentials());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckResponse response;
    grpc::Status status = Health::NewStub(channel)->Check(
        &context, HealthCheckRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << TierName(tier);
  }
}

TEST_F(TlsTest, PartialOrMismatchedTlsSettingsStopAtStartUp) {
  auto [code, log] = RunBinary(
      Tier::kResolver, {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                        "--grpc_tls_cert=" + pki_->server.cert});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("--grpc_tls_key"));

  std::tie(code, log) = RunBinary(
      Tier::kResolver,
      {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
       "--grpc_tls_cert=" + pki_->server.cert,
       "--grpc_tls_key=" + pki_->client.key, "--grpc_tls_ca=" + pki_->ca});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("does not match"));

  std::tie(code, log) = RunBinary(
      Tier::kGateway,
      {"--listen=127.0.0.1:0", "--token=t", "--tls_cert=" + pki_->server.cert});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("--tls_key"));
}

// The writer's connections to a MySQL that takes only TLS (a managed MySQL
// with require_secure_transport): with --mysql_ssl_mode=verify_identity and
// the CA of the server's certificate an edit lands; without TLS, or with
// another CA, the writer cannot connect and exits at start-up. Its password
// arrives with a line break at its end, as from a Secret made of a file
// written by `echo`.
TEST(MysqlTlsTest, WriterReachesATlsOnlyMysqlOnlyWithItsCa) {
  absl::StatusOr<std::string> made = MakeTempDir("mysqlpki");
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string dir = *made;
  absl::Cleanup remove_dir = [&dir] {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  };
  absl::StatusOr<TestPki> pki = MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status();
  absl::StatusOr<std::unique_ptr<OwnMariadb>> db = OwnMariadb::Start(
      "mysqltls", absl::StrCat("--ssl-ca=", pki->ca, " --ssl-cert=",
                               pki->server.cert, " --ssl-key=", pki->server.key,
                               " --require-secure-transport=ON"));
  ASSERT_TRUE(db.ok()) << db.status();
  const MysqlTestConfig& mysql = (*db)->config();

  StackOptions options;
  options.mysql = mysql;
  options.database = mysql.database;
  options.writer_flags = {
      "--mysql_ssl_mode=verify_identity", "--mysql_ssl_ca=" + pki->ca,
      absl::StrCat("--mysql_password=", mysql.password, "\n")};
  absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const Api api((*stack)->gateway_url(), options.token);
  absl::StatusOr<ApiResponse> r =
      api.Edits(EditsBody("users", {{"mysqltls-e1",
                                     kRow,
                                     "2026-01-02T03:04:05.678Z",
                                     false,
                                     {{"name", "Ada"}}}}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "applied");
  auto session =
      MysqlSession::ConnectAdmin(mysql, mysql.database);  // over its socket
  ASSERT_TRUE(session.ok()) << session.status();
  auto rows = (*session)->Query(
      absl::StrCat("SELECT name FROM users WHERE uuid = ", SqlQuote(kRow)));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(ElementsAre("Ada")));

  // `flags` after the connection's own: the exit code and output of a
  // writer that only migrates.
  auto migrate =
      [&](std::vector<std::string> flags) -> std::pair<int, std::string> {
    std::vector<std::string> args = {"--migrate_only",
                                     "--mysql_host=127.0.0.1",
                                     absl::StrCat("--mysql_port=", mysql.port),
                                     "--mysql_user=" + mysql.user,
                                     "--mysql_password=" + mysql.password,
                                     "--mysql_database=" + mysql.database};
    args.insert(args.end(), flags.begin(), flags.end());
    const std::string log = dir + "/migrate.log";
    std::filesystem::remove(log);
    ChildProcess child;
    absl::Status started =
        child.Start((*stack)->process(Tier::kWriter).binary, args, {}, log);
    if (!started.ok()) return {-1, started.ToString()};
    absl::StatusOr<ExitStatus> exit = child.Wait(absl::Seconds(30));
    if (!exit.ok()) return {-1, exit.status().ToString()};
    return {exit->Exited() ? exit->ExitCode() : -1, ReadFile(log)};
  };
  auto [code, log] = migrate(
      {"--mysql_ssl_mode=verify_identity", "--mysql_ssl_ca=" + pki->ca});
  EXPECT_EQ(code, 0) << log;
  std::tie(code, log) = migrate({});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("cannot connect to MySQL"));
  std::tie(code, log) = migrate(
      {"--mysql_ssl_mode=verify_identity", "--mysql_ssl_ca=" + pki->other_ca});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("TLS/SSL error"));
  std::tie(code, log) = migrate({"--mysql_ssl_mode=verify_identity"});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("needs --mysql_ssl_ca"));
  std::tie(code, log) = migrate({"--mysql_ssl_mode=verify"});
  EXPECT_NE(code, 0) << log;
  EXPECT_THAT(log, HasSubstr("must be disabled, required or verify_identity"));
}

}  // namespace
}  // namespace sheetsync::test
