// Boost.Beast is expensive to compile: keep it in this one file.
#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sheetsync::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr uint64_t kMaxResponseBody = 256ull << 20;

absl::Status NetError(const beast::error_code& ec, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", ec.message());
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(message);
  return absl::UnavailableError(message);
}

// Debian's Abseil and Boost each have their own string_view.
beast::string_view Bv(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Av(beast::string_view s) { return {s.data(), s.size()}; }

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

}  // namespace

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

struct HttpConnection::Impl {
  std::string host;
  int port = 0;
  absl::Duration timeout;
  std::optional<net::ssl::context> tls;  // set for https
  net::io_context ioc;
  // One of the two, made anew by each Connect().
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool open = false;
  int connects = 0;

  absl::Status SetUpTls(const HttpTls& options) {
    beast::error_code ec;
    tls.emplace(net::ssl::context::tls_client);
    if (options.ca_file.empty()) {
      tls->set_default_verify_paths(ec);
    } else {
      tls->load_verify_file(options.ca_file, ec);
    }
    if (ec) return NetError(ec, absl::StrCat("CA ", options.ca_file));
    tls->set_verify_mode(net::ssl::verify_peer);
    return absl::OkStatus();
  }

  beast::tcp_stream& Tcp() {
    return secure != nullptr ? beast::get_lowest_layer(*secure) : *plain;
  }
  // Calls `f` with the stream requests go over.
  template <typename F>
  void WithStream(F&& f) {
    if (secure != nullptr) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  // Runs the queued asynchronous operations to completion.
  void Run() {
    ioc.restart();
    ioc.run();
  }

  void Close() {
    buffer.clear();
    open = false;
    if (plain == nullptr && secure == nullptr) return;
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  absl::Status Connect() {
    Close();
    plain.reset();
    secure.reset();
    if (tls.has_value()) {
      secure =
          std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return NetError(ec, absl::StrCat("resolve ", host));
    Tcp().expires_after(ToChrono(timeout));
    Tcp().async_connect(
        endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (ec) return NetError(ec, absl::StrCat("connect ", host, ":", port));
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    if (secure != nullptr) {
      if (absl::Status s = Handshake(); !s.ok()) {
        Close();
        return s;
      }
    }
    open = true;
    ++connects;
    return absl::OkStatus();
  }

  // Verifies that the server's certificate chains to the CA and names `host`.
  absl::Status Handshake() {
    beast::error_code ec;
    net::ip::make_address(host, ec);
    if (ec) SSL_set_tlsext_host_name(secure->native_handle(), host.c_str());
    secure->set_verify_callback(net::ssl::host_name_verification(host));
    secure->async_handshake(net::ssl::stream_base::client,
                            [&](beast::error_code e) { ec = e; });
    Run();
    if (ec)
      return NetError(ec, absl::StrCat("TLS handshake with ", host, ":", port));
    return absl::OkStatus();
  }

  http::request<http::string_body> BuildRequest(absl::string_view method,
                                                absl::string_view target,
                                                const HttpHeaders& headers,
                                                absl::string_view body) const {
    http::request<http::string_body> req;
    req.version(11);
    const http::verb verb = http::string_to_verb(Bv(method));
    if (verb == http::verb::unknown) {
      req.method_string(Bv(method));
    } else {
      req.method(verb);
    }
    req.target(Bv(target));
    req.set(http::field::host, absl::StrCat(host, ":", port));
    req.set(http::field::user_agent, "sheetsync-test");
    req.body() = std::string(body);
    req.prepare_payload();
    for (const auto& [name, value] : headers) req.set(Bv(name), value);
    return req;
  }

  absl::StatusOr<HttpResponse> Exchange(http::request<http::string_body>& req) {
    beast::error_code write_ec;
    Tcp().expires_after(ToChrono(timeout));
    WithStream([&](auto& stream) {
      http::async_write(stream, req,
                        [&](beast::error_code e, size_t) { write_ec = e; });
    });
    Run();
    // A server may answer early (401, 413) and close without reading the whole
    // body: try to read its answer even when the write failed.
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (req.method() == http::verb::head) parser.skip(true);
    beast::error_code read_ec;
    Tcp().expires_after(ToChrono(timeout));
    WithStream([&](auto& stream) {
      http::async_read(stream, buffer, parser,
                       [&](beast::error_code e, size_t) { read_ec = e; });
    });
    Run();
    if (read_ec) {
      Close();
      return NetError(
          write_ec ? write_ec : read_ec,
          absl::StrCat(Av(req.method_string()), " ", Av(req.target())));
    }
    http::response<http::string_body> res = parser.release();
    HttpResponse out;
    out.status = res.result_int();
    for (const auto& field : res.base()) {
      out.headers.emplace_back(std::string(field.name_string()),
                               std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive() || write_ec) Close();
    return out;
  }
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

HttpConnection::~HttpConnection() { impl_->Close(); }

absl::StatusOr<std::unique_ptr<HttpConnection>> HttpConnection::Connect(
    const std::string& host, int port, absl::Duration timeout,
    std::optional<HttpTls> tls) {
  auto impl = std::make_unique<Impl>();
  impl->host = host;
  impl->port = port;
  impl->timeout = timeout;
  if (tls.has_value()) {
    if (absl::Status s = impl->SetUpTls(*tls); !s.ok()) return s;
  }
  if (absl::Status s = impl->Connect(); !s.ok()) return s;
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(impl)));
}

absl::StatusOr<HttpResponse> HttpConnection::Request(absl::string_view method,
                                                     absl::string_view target,
                                                     const HttpHeaders& headers,
                                                     absl::string_view body) {
  if (!impl_->open) {
    if (absl::Status s = impl_->Connect(); !s.ok()) return s;
  }
  http::request<http::string_body> req =
      impl_->BuildRequest(method, target, headers, body);
  return impl_->Exchange(req);
}

bool HttpConnection::open() const { return impl_->open; }
int HttpConnection::connects() const { return impl_->connects; }

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  HttpUrl out;
  out.https = absl::ConsumePrefix(&url, "https://");
  if (out.https) {
    out.port = 443;
  } else if (!absl::ConsumePrefix(&url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an http:// or https:// URL: ", url));
  }
  const size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  if (slash != absl::string_view::npos) {
    out.target = std::string(url.substr(slash));
  }
  const size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &out.port) ||
        out.port <= 0 || out.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in URL: ", url));
    }
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return absl::InvalidArgumentError("URL without host");
  out.host = std::string(authority);
  return out;
}

absl::StatusOr<HttpResponse> HttpRequest(
    absl::string_view url, absl::string_view method, const HttpHeaders& headers,
    absl::string_view body, absl::Duration timeout, const HttpTls& tls) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::unique_ptr<HttpConnection>> connection =
      HttpConnection::Connect(
          parsed->host, parsed->port, timeout,
          parsed->https ? std::make_optional(tls) : std::nullopt);
  if (!connection.ok()) return connection.status();
  return (*connection)->Request(method, parsed->target, headers, body);
}

}  // namespace sheetsync::test
