// HttpServer: a small asynchronous HTTP/1.1 server (Boost.Beast underneath,
// kept out of this header) that knows nothing about routes. It reads one
// request at a time per connection, asks an HttpHandler for the response and
// writes it, enforcing body and header size limits and read/idle/write
// timeouts, so slow or hostile clients cannot pin connections. It speaks
// either plain HTTP or, given a certificate, HTTPS only; the limits and
// timeouts are the same (the TLS handshake counts as reading).
//
// HttpServer is thread-safe: Shutdown() may be called from any thread except
// the server's own (i.e. not from inside a handler callback). A Responder may
// be called from any thread, also after the client went away or the server
// was shut down and destroyed.
#ifndef SHEETSYNC_GATEWAY_HTTP_SERVER_H_
#define SHEETSYNC_GATEWAY_HTTP_SERVER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sheetsync::gateway {

struct HttpRequest {
  std::string method;  // As sent, e.g. "GET".
  std::string target;  // path?query as sent, not percent-decoded.
  std::string path;    // target up to the first '?'.
  std::string query;   // target after the first '?' ("" when none).
  // In the order sent; names lower-cased, values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;            // Empty in OnHeaders(); de-chunked in Handle().
  std::string remote_address;  // Peer IP address, e.g. "127.0.0.1".

  // Returns the value of the first header named `name` (any case), or "".
  std::string Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;  // 200..999; anything else is sent as 500.
  std::string content_type = "application/json";  // Omitted when empty.
  std::string body;
  // Extra headers. Content-Length, Transfer-Encoding and Connection are set by
  // the server and ignored here; headers with CR or LF are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // Close the connection after this response.
};

// Returns a response with the contract's error body
// {"error":{"code":"<code>","message":"<message>"}}; `message` is escaped.
HttpResponse ErrorResponse(int status, absl::string_view code,
                           absl::string_view message);

// Sends the response to the request it was made for. Call it once, from any
// thread. Destroying it without calling it sends a 500 internal error.
using Responder = absl::AnyInvocable<void(HttpResponse) &&>;

// The routes. Both methods run on one of the server's threads and must not
// block for long (do slow work elsewhere and respond later) nor throw.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;

  // Called once the request line and headers are read, before the body and
  // before the server's body size check (so that auth answers 401 before
  // 413). Returns a response to send at once without reading the body, or
  // nullopt to go on. If a body was announced, the connection is then closed;
  // what the client still sends is discarded unparsed for up to 2 s first, so
  // that the close does not reset the connection before it reads the answer.
  virtual std::optional<HttpResponse> OnHeaders(const HttpRequest& head) = 0;

  // Handles a whole request. `respond` may be called later from any thread
  // (e.g. from a gRPC callback); the next request on the same connection is
  // read only after the response is written.
  virtual void Handle(HttpRequest request, Responder respond) = 0;

  // Returns true for requests that bypass the in-flight cap (see
  // HttpServerOptions::max_inflight): cheap ones, such as health probes,
  // which must answer also while the server is saturated. The server
  // counts those with a body all the same.
  virtual bool BypassesInflightCap(const HttpRequest& head) const {
    (void)head;
    return false;
  }

  // The in-flight lane of a request, 0 or 1: each lane has max_inflight
  // slots of its own, so requests of one kind that wait on a stalled
  // backend do not starve those of the other.
  static constexpr int kInflightLanes = 2;
  virtual int InflightLane(const HttpRequest& head) const {
    (void)head;
    return 0;
  }

  // Called when the server answers a request itself, without Handle(): 400
  // (not HTTP), 413, 431 or 503 (over max_inflight). `head` holds what was
  // read of the request (the path is empty when the head itself was bad).
  // For counting; runs on the server's thread and must not block.
  virtual void OnServerAnswer(const HttpRequest& head, int status) {
    (void)head;
    (void)status;
  }
};

struct HttpServerOptions {
  // An IP literal, not a host name: "127.0.0.1", "0.0.0.0", "::" or "[::1]".
  std::string address = "127.0.0.1";
  int port = 0;  // 0 picks a free port; see port().
  int threads = 2;
  // Larger bodies get 413 payload_too_large (Content-Length checked before
  // the body is read, chunked bodies while reading).
  size_t max_body_bytes = 1 << 20;
  // Request line plus headers; larger gets 431 header_too_large.
  size_t max_header_bytes = 16 << 10;
  // How long a keep-alive connection may wait for the next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  // How long reading one request (first byte to end of body) may take.
  absl::Duration read_timeout = absl::Seconds(30);
  // How long writing one response may take.
  absl::Duration write_timeout = absl::Seconds(30);
  // Connections over this number are closed as soon as they are accepted.
  size_t max_connections = 2000;
  // Requests past their headers (body being read, handled, or answer being
  // written) at once, over every connection. Beyond it a request gets 503
  // `overloaded` with Retry-After at once, after OnHeaders() (so 401 and 429
  // come first) and the 413 check, and its body is not read; so memory and
  // backend calls stay bounded however many clients push.
  size_t max_inflight = 64;  // per lane (HttpHandler::InflightLane)
  // PEM files of the certificate (chain) and its private key, read once by
  // Start(). Both set: HTTPS only, TLS 1.2 or newer. Neither: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  // Binds and starts serving on `options.threads` threads. `handler` must
  // outlive the server. Returns InvalidArgument for bad options (including
  // TLS files that cannot be used) and Unavailable when the address cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler& handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Calls Shutdown(absl::ZeroDuration()).
  ~HttpServer();

  // Returns the bound port (useful with port 0).
  int port() const { return port_; }

  // Stops accepting (new connections are refused once this returns or blocks),
  // closes idle keep-alive connections, lets requests in flight finish and
  // their responses be written for up to `grace`, then closes every
  // connection and joins the threads. Responses arriving later are dropped.
  // Idempotent; concurrent callers wait for the first one.
  void Shutdown(absl::Duration grace);

 private:
  class Impl;
  HttpServer(std::unique_ptr<Impl> impl, int port);

  absl::Mutex shutdown_mu_;
  std::unique_ptr<Impl> impl_ ABSL_GUARDED_BY(shutdown_mu_);
  const int port_;
};

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_HTTP_SERVER_H_
