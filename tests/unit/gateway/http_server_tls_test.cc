// HttpServer over TLS: the same handler, limits and timeouts as plain HTTP,
// and clients that fail the handshake (plain HTTP, silence, an untrusted
// certificate) only lose their own connection. Certificates come from a
// throwaway CA made by openssl in a temporary directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/test_pki.h"

namespace sheetsync::gateway {
namespace {

using ::sheetsync::test::HttpConnection;
using ::sheetsync::test::HttpTls;
using ::sheetsync::test::TestPki;
using ::testing::HasSubstr;

// Answers "<method> <target> <body size>"; with a body but no token, 401
// before reading the body (the early answer that closes the connection).
class EchoHandler : public HttpHandler {
 public:
  std::optional<HttpResponse> OnHeaders(const HttpRequest& head) override {
    if (head.method == "POST" && head.Header("authorization").empty()) {
      HttpResponse response = ErrorResponse(401, "unauthenticated", "token");
      response.close = true;
      return response;
    }
    return std::nullopt;
  }
  void Handle(HttpRequest request, Responder respond) override {
    HttpResponse response;
    response.body = absl::StrCat(request.method, " ", request.target, " ",
                                 request.body.size());
    std::move(respond)(std::move(response));
  }
};

// Reads from a raw TCP connection until the server closes it; returns what
// it sent, or nullopt when it kept the connection open for 10 s.
std::optional<std::string> RawExchange(int port, const std::string& send) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<std::string> received;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send.size() == static_cast<size_t>(
                         ::send(fd, send.data(), send.size(), MSG_NOSIGNAL))) {
    received.emplace();
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
      received->append(chunk, static_cast<size_t>(n));
    }
    if (n < 0 && errno != ECONNRESET) received.reset();  // timed out
  }
  close(fd);
  return received;
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = getenv("TMPDIR");
    std::string dir = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/sheetsync-pki-XXXXXX");
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = new std::string(dir);
    absl::StatusOr<TestPki> pki = test::MakeTestPki(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*pki);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
    delete pki_;
  }

  void SetUp() override { ASSERT_NE(pki_, nullptr); }

  HttpServerOptions TlsOptions() const {
    HttpServerOptions options;
    options.tls_cert_file = pki_->server.cert;
    options.tls_key_file = pki_->server.key;
    return options;
  }
  void StartServer(HttpServerOptions options) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  absl::StatusOr<std::unique_ptr<HttpConnection>> Connect(
      const std::string& ca) const {
    return HttpConnection::Connect("127.0.0.1", server_->port(),
                                   absl::Seconds(10), HttpTls{ca});
  }

  static std::string* dir_;
  static TestPki* pki_;
  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;  // After handler_: destroyed first.
};

std::string* HttpServerTlsTest::dir_ = nullptr;
TestPki* HttpServerTlsTest::pki_ = nullptr;

TEST_F(HttpServerTlsTest, ServesRequestsOverTlsWithKeepAlive) {
  StartServer(TlsOptions());
  auto connection = Connect(pki_->ca);
  ASSERT_TRUE(connection.ok()) << connection.status();
  for (int i = 0; i < 3; ++i) {
    auto response = (*connection)
                        ->Request("POST", "/echo",
                                  {{"Authorization", "Bearer t"}}, "hello");
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "POST /echo 5");
  }
  EXPECT_EQ((*connection)->connects(), 1);
}

TEST_F(HttpServerTlsTest, FailedHandshakesCloseOnlyTheirConnection) {
  HttpServerOptions options = TlsOptions();
  options.read_timeout = absl::Milliseconds(300);
  StartServer(options);
  // Plain HTTP gets no HTTP answer, only a closed connection.
  std::optional<std::string> plain =
      RawExchange(server_->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(plain.has_value()) << "the server kept the connection open";
  EXPECT_THAT(*plain, ::testing::Not(HasSubstr("HTTP/1.1")));
  // A client that sends nothing is closed once the read timeout passes.
  EXPECT_TRUE(RawExchange(server_->port(), "").has_value());
  // A client that does not trust the certificate gives up.
  auto untrusted = Connect(pki_->other_ca);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable);
  // The server still serves.
  auto connection = Connect(pki_->ca);
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto response = (*connection)->Request("GET", "/after");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "GET /after 0");
}

TEST_F(HttpServerTlsTest, LimitsApplyOverTls) {
  HttpServerOptions options = TlsOptions();
  options.max_body_bytes = 1000;
  options.max_header_bytes = 2000;
  StartServer(options);
  auto connection = Connect(pki_->ca);
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto too_large =
      (*connection)
          ->Request("POST", "/echo", {{"Authorization", "Bearer t"}},
                    std::string(1001, 'x'));
  ASSERT_TRUE(too_large.ok()) << too_large.status();
  EXPECT_EQ(too_large->status, 413);
  auto headers =
      (*connection)
          ->Request("GET", "/echo", {{"X-Big", std::string(3000, 'h')}});
  ASSERT_TRUE(headers.ok()) << headers.status();
  EXPECT_EQ(headers->status, 431);
}

TEST_F(HttpServerTlsTest, EarlyAnswerArrivesWhileTheBodyIsStillSent) {
  StartServer(TlsOptions());
  auto connection = Connect(pki_->ca);
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto response =
      (*connection)->Request("POST", "/echo", {}, std::string(900 << 10, 'b'));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 401);
  EXPECT_FALSE((*connection)->open());
}

TEST_F(HttpServerTlsTest, RejectsUnusableCertificateFiles) {
  HttpServerOptions only_cert = TlsOptions();
  only_cert.tls_key_file.clear();
  EXPECT_EQ(HttpServer::Start(only_cert, handler_).status().code(),
            absl::StatusCode::kInvalidArgument);
  HttpServerOptions missing = TlsOptions();
  missing.tls_cert_file = *dir_ + "/no-such.pem";
  EXPECT_EQ(HttpServer::Start(missing, handler_).status().code(),
            absl::StatusCode::kInvalidArgument);
  HttpServerOptions mismatched = TlsOptions();
  mismatched.tls_key_file = pki_->client.key;
  absl::Status status = HttpServer::Start(mismatched, handler_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(pki_->client.key));
}

}  // namespace
}  // namespace sheetsync::gateway
