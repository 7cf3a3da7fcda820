// A tiny blocking HTTP/1.1 client for tests (http, and https that verifies
// the server's certificate and host name).
//
//   absl::StatusOr<HttpResponse> r = HttpRequest(stack.gateway_url() +
//   "/readyz", "GET");
//
//   auto conn = HttpConnection::Connect("127.0.0.1", port);   // keep-alive
//   auto r1 = (*conn)->Request("POST", "/v1/edits", {{"Authorization", "Bearer
//   t"}}, body); bool kept = (*conn)->open();   // false after "Connection:
//   close"
//
//   auto r = HttpRequest("https://127.0.0.1:8443/healthz", "GET", {}, "",
//                        absl::Seconds(5), HttpTls{.ca_file = ca_pem_path});
//
// Every call has a deadline (30 s by default). An HttpConnection is used by one
// thread at a time; the free functions are thread-safe.
#ifndef SHEETSYNC_TESTS_SUPPORT_HTTP_CLIENT_H_
#define SHEETSYNC_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sheetsync::test {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // in the order received
  std::string body;

  // Returns the first header called `name` (any case), or nullopt.
  std::optional<std::string> Header(absl::string_view name) const;
};

// How to speak TLS (https:// URLs).
struct HttpTls {
  // PEM CA certificate(s) the server's certificate must chain to; empty: the
  // system's. The certificate must also name the host connected to.
  std::string ca_file;
};

// One TCP (or TLS) connection kept alive across requests.
class HttpConnection {
 public:
  // Connects to host:port (a name or a numeric address); over TLS when `tls`
  // is given (then Unavailable also when the handshake or the verification
  // of the server fails).
  static absl::StatusOr<std::unique_ptr<HttpConnection>> Connect(
      const std::string& host, int port,
      absl::Duration timeout = absl::Seconds(30),
      std::optional<HttpTls> tls = std::nullopt);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads the whole response. Host, User-Agent and
  // Content-Length are filled in; `headers` may override them. When the
  // connection is no longer open() it reconnects first. Unavailable when the
  // connection breaks, DeadlineExceeded after the timeout; the connection is
  // closed after any error.
  absl::StatusOr<HttpResponse> Request(absl::string_view method,
                                       absl::string_view target,
                                       const HttpHeaders& headers = {},
                                       absl::string_view body = "");

  // Returns false once the server closed the connection or asked to
  // (Connection: close), or after an error.
  bool open() const;
  // Returns how many connections this object has made so far.
  int connects() const;

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The parts of an "http[s]://host[:port][/target]" URL.
struct HttpUrl {
  bool https = false;
  std::string host;
  int port = 80;  // 443 for https when the URL names none
  std::string target = "/";
};
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// Sends one request on a fresh connection to `url` and closes it. `tls` is
// used for https:// URLs.
absl::StatusOr<HttpResponse> HttpRequest(
    absl::string_view url, absl::string_view method,
    const HttpHeaders& headers = {}, absl::string_view body = "",
    absl::Duration timeout = absl::Seconds(30), const HttpTls& tls = {});

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_HTTP_CLIENT_H_
