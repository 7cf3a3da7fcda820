#include "gateway/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Bounds every blocking read so that a broken server fails a test instead of
// hanging it.
constexpr int kClientTimeoutSeconds = 10;

struct ParsedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // Lower-cased names.
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A plain blocking HTTP/1.1 client on a POSIX socket.
class Client {
 public:
  explicit Client(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{kClientTimeoutSeconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // Returns whether all of `data` was sent.
  bool Send(absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt when the connection ends first. A response
  // to HEAD has no body whatever its Content-Length says.
  std::optional<ParsedResponse> ReadResponse(bool head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    ParsedResponse response;
    std::vector<std::string> lines =
        absl::StrSplit(buffer_.substr(0, end), "\r\n");
    buffer_.erase(0, end + 4);
    std::vector<std::string> status_line =
        absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (status_line.size() < 2 ||
        !absl::SimpleAtoi(status_line[1], &response.status)) {
      return std::nullopt;
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      std::pair<std::string, std::string> field =
          absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
      response.headers[absl::AsciiStrToLower(field.first)] =
          std::string(absl::StripAsciiWhitespace(field.second));
    }
    size_t length = 0;
    if (!head &&
        !absl::SimpleAtoi(response.Header("content-length"), &length)) {
      length = 0;
    }
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // Returns whether the server closed the connection with no more bytes.
  bool ReadsEof() {
    if (!buffer_.empty()) return false;
    char c;
    ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

// Returns 0 when a TCP connection to `port` succeeds, else the errno.
int ConnectError(int port) {
  Client client(port);
  return client.connected() ? 0 : errno;
}

std::string Get(absl::string_view target, absl::string_view extra = "") {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: test\r\n", extra,
                      "\r\n");
}

std::string Post(absl::string_view target, absl::string_view body,
                 absl::string_view extra = "") {
  return absl::StrCat("POST ", target, " HTTP/1.1\r\nHost: test\r\n",
                      "Content-Length: ", body.size(), "\r\n", extra, "\r\n",
                      body);
}

std::string Chunk(size_t size) {
  return absl::StrCat(absl::Hex(size), "\r\n", std::string(size, 'c'), "\r\n");
}

struct HeldRequest {
  HttpRequest request;
  Responder respond;
};

// Echoes "<method> <target> <body>", holds requests whose path starts with
// /hold (for the test to answer), drops the Responder of /drop and, when
// `require_auth` is set, answers 401 to requests without the right token.
class TestHandler : public HttpHandler {
 public:
  std::optional<HttpResponse> OnHeaders(const HttpRequest& head) override {
    ++headers_calls;
    EXPECT_THAT(head.body, IsEmpty());
    if (require_auth && head.Header("authorization") != "Bearer secret") {
      HttpResponse response =
          ErrorResponse(401, "unauthenticated", "Send the gateway token.");
      response.close = true;
      return response;
    }
    return std::nullopt;
  }

  void Handle(HttpRequest request, Responder respond) override {
    ++handle_calls;
    if (absl::StartsWith(request.path, "/hold")) {
      absl::MutexLock lock(&mu_);
      held_.push_back({std::move(request), std::move(respond)});
      held_changed_.SignalAll();
      return;
    }
    if (request.path == "/drop") return;
    {
      absl::MutexLock lock(&mu_);
      last_ = request;
      thread_of_[request.target] = std::this_thread::get_id();
    }
    HttpResponse response;
    response.content_type = "text/plain";
    response.body =
        absl::StrCat(request.method, " ", request.target, " ", request.body);
    response.headers = {{"X-Remote", request.remote_address},
                        {"X-Evil", "a\r\nInjected: 1"},
                        {"Content-Length", "999"}};
    std::move(respond)(std::move(response));
  }

  bool BypassesInflightCap(const HttpRequest& head) const override {
    return head.path == "/healthz";
  }
  int InflightLane(const HttpRequest& head) const override {
    return absl::StartsWith(head.path, "/read") ? 1 : 0;
  }

  void OnServerAnswer(const HttpRequest& head, int status) override {
    absl::MutexLock lock(&mu_);
    server_answers_.push_back(absl::StrCat(status, " ", head.path));
  }
  std::vector<std::string> server_answers() {
    absl::MutexLock lock(&mu_);
    return server_answers_;
  }
  // Waits until `n` requests are held, then hands them over sorted by
  // target: requests on different connections reach the handler in any order.
  std::vector<HeldRequest> TakeHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline =
        absl::Now() + absl::Seconds(kClientTimeoutSeconds);
    while (held_.size() < n && absl::Now() < deadline) {
      held_changed_.WaitWithDeadline(&mu_, deadline);
    }
    std::vector<HeldRequest> held = std::move(held_);
    held_.clear();
    std::sort(held.begin(), held.end(),
              [](const HeldRequest& a, const HeldRequest& b) {
                return a.request.target < b.request.target;
              });
    return held;
  }

  HttpRequest last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  // The thread that handled the (echoed) request for `target`.
  std::thread::id thread_of(const std::string& target) {
    absl::MutexLock lock(&mu_);
    return thread_of_[target];
  }

  std::atomic<bool> require_auth{false};
  std::atomic<int> headers_calls{0};
  std::atomic<int> handle_calls{0};

 private:
  absl::Mutex mu_;
  absl::CondVar held_changed_;
  std::vector<HeldRequest> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> server_answers_ ABSL_GUARDED_BY(mu_);
  HttpRequest last_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::thread::id> thread_of_ ABSL_GUARDED_BY(mu_);
};

HttpResponse Ok(absl::string_view body) {
  HttpResponse response;
  response.body = std::string(body);
  return response;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  int port() const { return server_->port(); }

  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;  // After handler_: destroyed first.
};

TEST_F(HttpServerTest, AnswersARequest) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(
      Get("/v1/changes?table=users&limit=5", "X-Test-Header: Yes\r\n")));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /v1/changes?table=users&limit=5 ");
  EXPECT_EQ(response->Header("content-type"), "text/plain");
  EXPECT_EQ(response->Header("content-length"),
            absl::StrCat(response->body.size()));
  EXPECT_EQ(response->Header("x-remote"), "127.0.0.1");
  EXPECT_EQ(response->Header("x-evil"), "");  // Would split the response.
  EXPECT_EQ(response->Header("injected"), "");

  HttpRequest request = handler_.last();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/v1/changes");
  EXPECT_EQ(request.query, "table=users&limit=5");
  EXPECT_EQ(request.Header("X-TEST-HEADER"), "Yes");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_THAT(request.headers,
              testing::Contains(testing::Pair("x-test-header", "Yes")));
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  StartServer();
  Client client(port());
  for (int i = 0; i < 3; ++i) {
    const std::string body = absl::StrCat("{\"n\":", i, "}");
    ASSERT_TRUE(client.Send(Post("/v1/edits", body)));
    std::optional<ParsedResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->body, absl::StrCat("POST /v1/edits ", body));
    EXPECT_NE(response->Header("connection"), "close");
  }
  // Two pipelined requests are answered in order.
  ASSERT_TRUE(client.Send(Get("/a") + Get("/b")));
  EXPECT_EQ(client.ReadResponse().value().body, "GET /a ");
  EXPECT_EQ(client.ReadResponse().value().body, "GET /b ");
  // Connection: close is honoured.
  ASSERT_TRUE(client.Send(Get("/last", "Connection: close\r\n")));
  std::optional<ParsedResponse> last = client.ReadResponse();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->Header("connection"), "close");
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(handler_.handle_calls.load(), 6);
}

TEST_F(HttpServerTest, EachConnectionStaysOnOneThreadAndConnectionsTakeTurns) {
  HttpServerOptions options;
  options.threads = 2;
  StartServer(options);
  Client first(port());
  ASSERT_TRUE(first.Send(Get("/first/0")));
  ASSERT_TRUE(first.ReadResponse().has_value());
  Client second(port());  // accepted after the first: the other thread
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(second.Send(Get(absl::StrCat("/second/", i))));
    ASSERT_TRUE(second.ReadResponse().has_value());
    ASSERT_TRUE(first.Send(Get(absl::StrCat("/first/", i + 1))));
    ASSERT_TRUE(first.ReadResponse().has_value());
  }
  const std::thread::id first_thread = handler_.thread_of("/first/0");
  const std::thread::id second_thread = handler_.thread_of("/second/0");
  EXPECT_NE(first_thread, std::thread::id());
  EXPECT_NE(second_thread, std::thread::id());
  EXPECT_NE(first_thread, second_thread);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(handler_.thread_of(absl::StrCat("/first/", i)), first_thread) << i;
    EXPECT_EQ(handler_.thread_of(absl::StrCat("/second/", i - 1)), second_thread) << i;
  }
}

TEST_F(HttpServerTest, ClosesAfterAnHttp10Request) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "GET /old ");
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, AnswersHeadWithLengthButNoBody) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send("HEAD /page HTTP/1.1\r\nHost: test\r\n\r\n"));
  std::optional<ParsedResponse> head = client.ReadResponse(/*head=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->Header("content-length"), "11");  // "HEAD /page "
  ASSERT_TRUE(client.Send(Get("/next")));  // No stray body bytes before it.
  std::optional<ParsedResponse> next = client.ReadResponse();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "GET /next ");
}

TEST_F(HttpServerTest, EarlyResponseFromOnHeadersSkipsTheBodyAndCloses) {
  handler_.require_auth = true;
  StartServer();
  Client client(port());
  // Announces a body far over the limit and never sends it: auth wins over
  // 413, and the 401 must arrive without the server waiting for the body.
  ASSERT_TRUE(client.Send(
      "POST /v1/edits HTTP/1.1\r\nHost: test\r\nContent-Length: 10485760\r\n"
      "\r\n"));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->body, R"({"error":{"code":"unauthenticated","message":)"
                            R"("Send the gateway token."}})");
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(handler_.headers_calls.load(), 1);
  EXPECT_EQ(handler_.handle_calls.load(), 0);
}

TEST_F(HttpServerTest, ContentLengthOverTheLimitGets413BeforeTheBody) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);

  Client at_limit(port());
  ASSERT_TRUE(at_limit.Send(Post("/ok", std::string(1024, 'x'))));
  EXPECT_EQ(at_limit.ReadResponse().value().status, 200);

  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /v1/edits HTTP/1.1\r\nHost: test\r\nContent-Length: 1025\r\n\r\n"));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_THAT(response->body,
              HasSubstr(R"({"error":{"code":"payload_too_large","message":")"));
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(handler_.headers_calls.load(), 2);  // Auth could still run first.
  EXPECT_EQ(handler_.handle_calls.load(), 1);
  EXPECT_THAT(handler_.server_answers(), ElementsAre("413 /v1/edits"));  // for metrics
}

TEST_F(HttpServerTest, ChunkedBodyGrowingOverTheLimitGets413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  const std::string chunked =
      "POST /v1/edits HTTP/1.1\r\nHost: test\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";

  Client small(port());
  ASSERT_TRUE(small.Send(chunked + Chunk(3) + Chunk(2) + "0\r\n\r\n"));
  std::optional<ParsedResponse> ok = small.ReadResponse();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->body, "POST /v1/edits ccccc");

  Client client(port());
  ASSERT_TRUE(client.Send(chunked + Chunk(500) + Chunk(500) + Chunk(500)));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_THAT(response->body, HasSubstr(R"("code":"payload_too_large")"));
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(handler_.handle_calls.load(), 1);
}

// Beast keeps a chunk's header line (its extensions) and the trailer
// whole until their line ends, counted by neither limit: a client sending
// megabytes of either grew the gateway's memory without bound (no answer
// until the read timeout). The read buffer is bounded now: 400 at once.
TEST_F(HttpServerTest, EndlessChunkExtensionsOrTrailersGet400) {
  StartServer();
  const std::string chunked =
      "POST /v1/edits HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: "
      "chunked\r\n\r\n";
  for (const std::string& endless :
       {absl::StrCat("1;x=", std::string(1 << 20, 'a')),
        absl::StrCat(Chunk(2),
                     "0\r\nX-Trailer: ", std::string(1 << 20, 'a'))}) {
    Client client(port());
    client.Send(chunked + endless);  // may fail once the server closed
    std::optional<ParsedResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_THAT(response->body, HasSubstr(R"("code":"bad_request")"));
  }
  EXPECT_EQ(handler_.handle_calls.load(), 0);
}

// RFC 9112 6.1: chunked must be the only and last coding. Beast read
// "gzip, chunked" as chunked (gzip ignored) and "chunked, chunked" or two
// header lines as no body at all, leaving the chunks to pass for the next
// request (a request smuggled past a proxy that reads them otherwise).
TEST_F(HttpServerTest, TransferCodingsOtherThanChunkedAloneGet400) {
  StartServer();
  for (const char* codings :
       {"Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: xchunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"}) {
    Client client(port());
    ASSERT_TRUE(
        client.Send(absl::StrCat("POST /v1/edits HTTP/1.1\r\nHost: test\r\n",
                                 codings, "\r\n", Chunk(2), "0\r\n\r\n")));
    std::optional<ParsedResponse> response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << codings;
    EXPECT_EQ(response->status, 400) << codings;
    EXPECT_EQ(response->Header("connection"), "close") << codings;
    EXPECT_TRUE(client.ReadsEof()) << codings;
  }
  Client chunked(port());
  ASSERT_TRUE(
      chunked.Send(absl::StrCat("POST /v1/edits HTTP/1.1\r\nHost: "
                                "test\r\nTransfer-Encoding:  Chunked \r\n\r\n",
                                Chunk(2), "0\r\n\r\n")));
  EXPECT_EQ(chunked.ReadResponse().value().body, "POST /v1/edits cc");
  EXPECT_EQ(handler_.handle_calls.load(), 1);
}

TEST_F(HttpServerTest, HugeHeadersGet431) {
  StartServer();  // 16 KiB of headers by default.
  Client client(port());
  ASSERT_TRUE(client.Send(
      Get("/", absl::StrCat("X-Big: ", std::string(20000, 'a'), "\r\n"))));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  EXPECT_THAT(response->body, HasSubstr(R"("code":"header_too_large")"));
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(handler_.headers_calls.load(), 0);
  EXPECT_THAT(handler_.server_answers(), ElementsAre("431 "));
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send("this is not http\r\n\r\n"));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_THAT(response->body, HasSubstr(R"("code":"bad_request")"));
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, SendsContinueWhenAsked) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(
      "POST /v1/edits HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n"));
  std::optional<ParsedResponse> interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("hello"));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "POST /v1/edits hello");
}

TEST_F(HttpServerTest, HandlerMayRespondLaterFromAnotherThread) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Post("/hold/1", "{}")));
  std::vector<HeldRequest> held = handler_.TakeHeld(1);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].request.body, "{}");
  HttpResponse reply = Ok(R"({"results":[]})");
  reply.status = 202;
  std::thread([&] { std::move(held[0].respond)(std::move(reply)); }).join();
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, R"({"results":[]})");
  EXPECT_EQ(response->Header("content-type"), "application/json");
}

TEST_F(HttpServerTest, DroppedResponderAnswers500) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/drop")));
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_THAT(response->body, HasSubstr(R"("code":"internal")"));
}

TEST_F(HttpServerTest, RespondingAfterTheClientLeftIsSafe) {
  StartServer();
  {
    Client client(port());
    ASSERT_TRUE(client.Send(Get("/hold")));
    std::vector<HeldRequest> held = handler_.TakeHeld(1);
    ASSERT_EQ(held.size(), 1u);
    client.Close();
    std::thread([&] {
      std::move(held[0].respond)(Ok(std::string(1 << 20, 'x')));
    }).join();
  }
  Client next(port());  // The server still serves.
  ASSERT_TRUE(next.Send(Get("/after")));
  std::optional<ParsedResponse> response = next.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "GET /after ");
}

TEST_F(HttpServerTest,
       PastTheGraceARequestInFlightGets503AndALateAnswerIsSafe) {
  StartServer();
  Client client(port());
  ASSERT_TRUE(client.Send(Get("/hold")));
  std::vector<HeldRequest> held = handler_.TakeHeld(1);
  ASSERT_EQ(held.size(), 1u);
  server_->Shutdown(absl::Milliseconds(50));  // The grace runs out.
  // The request is answered, not cut off (the client may retry it).
  std::optional<ParsedResponse> response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_THAT(response->body, HasSubstr(R"("code":"shutting_down")"));
  EXPECT_EQ(response->Header("retry-after"), "1");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.ReadsEof());
  server_.reset();
  std::move(held[0].respond)(Ok("{}"));  // Dropped, without a crash.
}

TEST_F(HttpServerTest, ShutdownFinishesRequestsInFlightAndRefusesNewOnes) {
  StartServer();
  Client busy(port());
  ASSERT_TRUE(busy.Send(Get("/hold")));
  std::vector<HeldRequest> held = handler_.TakeHeld(1);
  ASSERT_EQ(held.size(), 1u);
  Client idle(port());
  ASSERT_TRUE(idle.Send(Get("/quick")));
  ASSERT_TRUE(idle.ReadResponse().has_value());

  std::thread shutdown([&] { server_->Shutdown(absl::Seconds(30)); });
  absl::Cleanup join = [&] { shutdown.join(); };  // also when an assertion returns early
  // The idle connection is closed only once the listener is.
  EXPECT_TRUE(idle.ReadsEof());
  EXPECT_EQ(ConnectError(port()), ECONNREFUSED);

  std::move(held[0].respond)(Ok(R"({"late":true})"));
  std::optional<ParsedResponse> response = busy.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, R"({"late":true})");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(busy.ReadsEof());
  busy.Close();
  std::move(join).Invoke();
  server_->Shutdown(absl::Seconds(1));  // Idempotent.
}

TEST_F(HttpServerTest, Serves100ConnectionsAtOnce) {
  constexpr int kClients = 100;
  HttpServerOptions options;
  options.max_inflight = kClients;
  StartServer(options);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ASSERT_TRUE(clients.back()->Send(Get(absl::StrCat("/hold/", i))));
  }
  // All 100 requests are in the handler at the same time.
  std::vector<HeldRequest> held = handler_.TakeHeld(kClients);
  ASSERT_EQ(held.size(), static_cast<size_t>(kClients));
  std::vector<std::thread> responders;
  for (int t = 0; t < 4; ++t) {
    responders.emplace_back([&held, t] {
      for (size_t i = t; i < held.size(); i += 4) {
        std::move(held[i].respond)(Ok(held[i].request.path));
      }
    });
  }
  for (std::thread& t : responders) t.join();
  for (int i = 0; i < kClients; ++i) {
    std::optional<ParsedResponse> response = clients[i]->ReadResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->body, absl::StrCat("/hold/", i));
  }
}

TEST_F(HttpServerTest, SlowClientsAreCutOff) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(200);
  options.idle_timeout = absl::Milliseconds(200);
  StartServer(options);
  Client slow(port());  // Starts a request and never finishes it.
  ASSERT_TRUE(slow.Send("POST /v1/edits HTTP/1.1\r\nHost: te"));
  Client silent(port());  // Never sends a byte.
  EXPECT_TRUE(slow.ReadsEof());
  EXPECT_TRUE(silent.ReadsEof());
}

// At the cap a new connection takes the place of the one that has waited
// longest for a request: 2000 connections sending nothing kept out every new
// client for the idle timeout (60 s), health probes included. One whose
// request is in flight is never closed for it; when none waits, the new
// connection is closed.
TEST_F(HttpServerTest, AtTheConnectionCapTheLongestIdleMakesRoom) {
  HttpServerOptions options;
  options.max_connections = 3;
  StartServer(options);
  Client busy(port());
  ASSERT_TRUE(busy.Send(Get("/hold/1")));
  std::vector<HeldRequest> held = handler_.TakeHeld(1);
  ASSERT_EQ(held.size(), 1u);
  Client first(port());
  ASSERT_TRUE(first.Send(Get("/")));
  ASSERT_TRUE(first.ReadResponse().has_value());
  absl::SleepFor(absl::Milliseconds(20));
  Client second(port());
  ASSERT_TRUE(second.Send(Get("/")));
  ASSERT_TRUE(second.ReadResponse().has_value());

  Client third(port());
  ASSERT_TRUE(third.Send(Get("/new")));
  EXPECT_EQ(third.ReadResponse().value().body, "GET /new ");
  EXPECT_TRUE(first.ReadsEof());  // idle longest
  ASSERT_TRUE(second.Send(Get("/still")));
  EXPECT_EQ(second.ReadResponse().value().body, "GET /still ");

  // Now second and third hold requests too: nobody waits, so a fourth is
  // closed and the held request still gets its answer.
  ASSERT_TRUE(second.Send(Get("/hold/2")));
  ASSERT_TRUE(third.Send(Get("/hold/3")));
  std::vector<HeldRequest> more = handler_.TakeHeld(2);
  ASSERT_EQ(more.size(), 2u);
  Client fourth(port());
  fourth.Send(Get("/"));
  EXPECT_TRUE(fourth.ReadsEof());
  std::move(held[0].respond)(Ok("one"));
  EXPECT_EQ(busy.ReadResponse().value().body, "one");
  std::move(more[0].respond)(Ok("two"));
  std::move(more[1].respond)(Ok("three"));
  EXPECT_EQ(second.ReadResponse().value().body, "two");
  EXPECT_EQ(third.ReadResponse().value().body, "three");
}

TEST_F(HttpServerTest, RequestsOverTheInflightCapGet503WithoutTheirBody) {
  HttpServerOptions options;
  options.max_inflight = 2;
  StartServer(options);
  Client first(port()), second(port());
  ASSERT_TRUE(first.Send(Get("/hold/1")));
  ASSERT_TRUE(second.Send(Post("/hold/2", "{}")));
  std::vector<HeldRequest> held = handler_.TakeHeld(2);
  ASSERT_EQ(held.size(), 2u);

  Client third(port());
  ASSERT_TRUE(third.Send(Post("/v1/edits", std::string(100 << 10, 'x'))));
  std::optional<ParsedResponse> busy = third.ReadResponse();
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status, 503);
  EXPECT_THAT(busy->body, HasSubstr(R"("code":"overloaded")"));
  EXPECT_EQ(busy->Header("retry-after"), "1");
  EXPECT_EQ(busy->Header("connection"), "close");  // The body stays unread.
  EXPECT_EQ(handler_.handle_calls, 2);
  EXPECT_THAT(handler_.server_answers(), ElementsAre("503 /v1/edits"));
  // Probes the handler exempts still answer.
  Client probe(port());
  ASSERT_TRUE(probe.Send(Get("/healthz")));
  EXPECT_EQ(probe.ReadResponse().value().status, 200);

  // A slot is free again once its response is written.
  std::move(held[0].respond)(Ok("one"));
  EXPECT_EQ(first.ReadResponse().value().body, "one");
  ASSERT_TRUE(first.Send(Get("/again")));
  EXPECT_EQ(first.ReadResponse().value().body, "GET /again ");
  std::move(held[1].respond)(Ok("two"));
  EXPECT_EQ(second.ReadResponse().value().body, "two");
}

// With the one slot of lane 0 taken: a route the handler exempts from the
// cap takes a slot all the same when the request has a body (bodies are
// read into memory, and 250 bodies of 1 MiB to /healthz held 329 MB without
// a token), and a request of the other lane has slots of its own (feed
// reads are served while edits wait on a stalled ingest).
TEST_F(HttpServerTest, ExemptRoutesWithABodyTakeASlotAndEachLaneHasItsOwn) {
  HttpServerOptions options;
  options.max_inflight = 1;
  StartServer(options);
  Client first(port());
  ASSERT_TRUE(first.Send(Get("/hold/1")));
  std::vector<HeldRequest> held = handler_.TakeHeld(1);
  ASSERT_EQ(held.size(), 1u);

  Client with_body(port());
  ASSERT_TRUE(with_body.Send(Post("/healthz", std::string(1000, 'x'))));
  EXPECT_EQ(with_body.ReadResponse().value().status, 503);
  Client edit(port());
  ASSERT_TRUE(edit.Send(Post("/v1/edits", "{}")));
  EXPECT_EQ(edit.ReadResponse().value().status, 503);
  Client probe(port());
  ASSERT_TRUE(probe.Send(Get("/healthz")));
  EXPECT_EQ(probe.ReadResponse().value().status, 200);
  Client read(port());
  ASSERT_TRUE(read.Send(Get("/read/feed")));
  EXPECT_EQ(read.ReadResponse().value().body, "GET /read/feed ");
  std::move(held[0].respond)(Ok("one"));
  EXPECT_EQ(first.ReadResponse().value().body, "one");
}

TEST_F(HttpServerTest, AnAbandonedBodyFreesItsInflightSlot) {
  HttpServerOptions options;
  options.max_inflight = 1;
  StartServer(options);
  {
    Client quitter(port());
    ASSERT_TRUE(quitter.Send(absl::StrCat(
        "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12")));
    const absl::Time deadline =
        absl::Now() + absl::Seconds(kClientTimeoutSeconds);
    while (handler_.headers_calls < 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));  // until it holds the slot
    }
  }  // Closed before the body is complete.
  // The slot comes back as soon as the server sees the close.
  const absl::Time deadline =
      absl::Now() + absl::Seconds(kClientTimeoutSeconds);
  int status = 0;
  while (status != 200 && absl::Now() < deadline) {
    Client next(port());
    ASSERT_TRUE(next.Send(Get("/next")));
    std::optional<ParsedResponse> response = next.ReadResponse();
    status = response.has_value() ? response->status : 0;
  }
  EXPECT_EQ(status, 200);
}

TEST(HttpServerStartTest, RejectsBadOptionsAndBusyPorts) {
  TestHandler handler;
  HttpServerOptions options;
  options.address = "localhost";  // Not an IP literal.
  EXPECT_EQ(HttpServer::Start(options, handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.address = "[::1]";  // Brackets as in URLs; IPv6 may be missing.
  EXPECT_NE(HttpServer::Start(options, handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.address = "127.0.0.1";
  options.threads = 0;
  EXPECT_EQ(HttpServer::Start(options, handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.threads = 1;
  absl::StatusOr<std::unique_ptr<HttpServer>> first =
      HttpServer::Start(options, handler);
  ASSERT_TRUE(first.ok()) << first.status();
  options.port = (*first)->port();
  absl::Status busy = HttpServer::Start(options, handler).status();
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(busy.message()), HasSubstr("cannot listen on"));
}

TEST(ErrorResponseTest, ReplacesBytesThatAreNotUtf8) {
  HttpResponse response =
      ErrorResponse(404, "not_found", "no route for /\xff\xc3(/\xc3\xa9");
  EXPECT_EQ(response.body,
            "{\"error\":{\"code\":\"not_found\",\"message\":"
            "\"no route for /\\ufffd\\ufffd(/\xc3\xa9\"}}");
}

TEST(ErrorResponseTest, EscapesTheMessage) {
  HttpResponse response = ErrorResponse(400, "bad_shape", "a \"b\" \\ \n");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"error":{"code":"bad_shape","message":"a \"b\" \\ \u000a"}})");
}

}  // namespace
}  // namespace sheetsync::gateway
