// The only translation unit that includes Boost.Beast (it costs ~19 s and
// ~720 MB to compile): keep it that way.
#include "gateway/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "services/common/utf8.h"

namespace sheetsync::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After a response that closes the connection, the server stops sending and
// discards what the client still sends for up to this long before closing,
// so that unread request bytes do not turn the close into a reset that
// destroys the response before the client reads it.
constexpr absl::Duration kLingerTime = absl::Seconds(2);
// How long a drain that ran out of grace waits for its 503s to be written.
constexpr absl::Duration kGiveUpWriteTime = absl::Seconds(1);
constexpr size_t kReadChunkBytes = 16 << 10;
// What the read buffer holds beyond --max_header_bytes: one of Beast's reads
// (64 KiB) and a chunk header.
constexpr size_t kMaxUnparsedBeyondHeader = 80 << 10;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

std::string ToString(beast::string_view s) { return {s.data(), s.size()}; }

// Arms the stream's timer for the next operations; effectively infinite
// durations disable it (a huge expiry would overflow the steady clock).
void SetDeadline(beast::tcp_stream& stream, absl::Duration d) {
  if (d >= absl::Hours(24 * 365)) {
    stream.expires_never();
  } else {
    stream.expires_after(absl::ToChronoNanoseconds(d));
  }
}

// Escapes `s` for a JSON string. Bytes that are not UTF-8 (a path or a name
// a client sent) become U+FFFD, so the body stays valid JSON.
std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[(c >> 4) & 0xf]);
      out.push_back(kHex[c & 0xf]);
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out.push_back(c);
    } else if (const size_t n = Utf8SequenceLength(s.substr(i)); n > 0) {
      out.append(s.data() + i, n);
      i += n - 1;
    } else {
      out.append("\\ufffd");
    }
  }
  return out;
}

// Returns whether a handler-supplied header may be sent as is: a token name
// that is not one the server manages, and a value that cannot split the
// response nor make Beast throw (it stores sizes in 16 bits).
bool IsSendableHeader(absl::string_view name, absl::string_view value) {
  constexpr size_t kMaxFieldBytes = 32 << 10;
  if (name.empty() || name.size() > kMaxFieldBytes ||
      value.size() > kMaxFieldBytes ||
      absl::EqualsIgnoreCase(name, "content-length") ||
      absl::EqualsIgnoreCase(name, "transfer-encoding") ||
      absl::EqualsIgnoreCase(name, "connection")) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && !absl::StrContains("!#$%&'*+-.^_`|~", c)) {
      return false;
    }
  }
  return value.find_first_of(absl::string_view("\r\n\0", 3)) ==
         absl::string_view::npos;
}

// Beast 1.74 reads a body chunked when the last coding is chunked and
// ignores the others (gzip, a second chunked, "xchunked" as none at all).
bool OnlyChunkedOrNoTransferCoding(const HttpRequest& request) {
  int codings = 0;
  for (const auto& [name, value] : request.headers) {
    if (name != "transfer-encoding") continue;
    if (++codings > 1 ||
        !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value), "chunked")) {
      return false;
    }
  }
  return true;
}

bool IsMalformedHttp(const beast::error_code& ec) {
  return ec.category() ==
             http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// What the server and a Responder need of a connection, whatever its stream.
// Every method posts onto the connection's strand.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  // Closes the connection if it waits for a request; otherwise the current
  // response is the last one.
  virtual void Drain() = 0;
  // The drain's grace ran out: a request still being handled is answered
  // 503 (the client may retry it elsewhere; a retry is safe) and the
  // connection closed after that answer; any other connection is closed.
  virtual void GiveUp() = 0;
  virtual void ForceClose() = 0;
  // Writes `response` for the request being handled, unless the server has
  // stopped.
  virtual void Respond(HttpResponse response) = 0;

  // Since when (steady clock, ns) the connection has waited for a request
  // with nothing of it read; 0 while it reads, handles or writes one. Set on
  // the session's strand, read by the acceptor.
  std::atomic<int64_t> idle_since_ns{0};
};

// State shared by the server and its sessions. Every session holds it, so a
// Responder that outlives the HttpServer still finds a valid io_context.
//
// Each thread runs an io_context of its own, and a connection lives on one
// of them from accept to close: its reads, handler calls and writes then
// never hop between threads (on one shared io_context, every completion
// woke another idle thread, which cost a context switch per step).
struct Core {
  Core(const HttpServerOptions& o, HttpHandler& h,
       std::unique_ptr<net::ssl::context> tls_context)
      : options(o), handler(h), tls(std::move(tls_context)) {
    for (int i = 0; i < o.threads; ++i) {
      iocs.push_back(std::make_unique<net::io_context>(1));  // one thread each
    }
  }

  // The io_context for the next accepted connection, in turn.
  net::io_context& NextIoContext() {
    return *iocs[next_ioc.fetch_add(1, std::memory_order_relaxed) % iocs.size()];
  }

  bool NoSessions() const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return sessions.empty();
  }
  // Returns the sessions still alive. Call without holding `mu`.
  std::vector<std::shared_ptr<SessionBase>> LiveSessions()
      ABSL_LOCKS_EXCLUDED(mu);
  // Closes the session that has waited longest for a request, if one
  // waits (it stays closed only if it still waits when its strand runs).
  // Returns false when none does. Call without holding `mu`: a session
  // released here may be destroyed, which takes `mu`.
  bool EvictIdlest() ABSL_LOCKS_EXCLUDED(mu);

  const HttpServerOptions options;
  HttpHandler& handler;
  const std::unique_ptr<net::ssl::context> tls;  // Null: plain HTTP.
  std::atomic<bool> draining{false};  // Set once, under `mu`.
  // Requests holding a slot, per lane.
  std::array<std::atomic<size_t>, HttpHandler::kInflightLanes> inflight{};
  absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;  // No thread runs `iocs` any more.
  absl::flat_hash_map<const SessionBase*, std::weak_ptr<SessionBase>> sessions
      ABSL_GUARDED_BY(mu);
  std::atomic<size_t> next_ioc{0};
  // Last: destroyed first, while `mu` still exists.
  std::vector<std::unique_ptr<net::io_context>> iocs;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection over a PlainStream or a TlsStream: the same code but for the
// TLS handshake and closing. Everything but the SessionBase methods runs on
// the connection's strand.
template <class Stream>
class Session : public SessionBase,
                public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<Core> core, tcp::socket socket)
      : core_(std::move(core)),
        stream_(MakeStream(std::move(socket), *core_)) {}
  ~Session() override {
    ReleaseSlot();
    absl::MutexLock lock(&core_->mu);
    core_->sessions.erase(this);
  }

  void Start() override { Post(&Session::OnStart); }
  void Drain() override { Post(&Session::OnDrain); }
  void GiveUp() override { Post(&Session::OnGiveUp); }
  void ForceClose() override { Post(&Session::Close); }
  void Respond(HttpResponse response) override;

 private:
  enum class State {
    kIdle,
    kReading,
    kHandling,
    kWriting,
    kLingering,
    kClosed
  };

  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  static Stream MakeStream(tcp::socket socket, Core& core) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *core.tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  // The TCP layer, which holds the socket and the timer.
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  void Post(void (Session::*method)()) {
    net::post(stream_.get_executor(), [self = this->shared_from_this(),
                                       method] { ((*self).*method)(); });
  }
  void OnStart();
  void Handshake();
  void OnDrain();
  void OnGiveUp();
  void WaitForRequest();
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void FailRead(beast::error_code ec);
  void FillHead();
  void Dispatch();
  void Finish(HttpResponse response);
  void Write(HttpResponse response, bool force_close);
  // Writes an answer the server gives on its own, telling the handler first.
  void Refuse(HttpResponse response, bool force_close);
  void BuildResponse(HttpResponse response, bool keep_alive);
  void OnWrite(beast::error_code ec, bool keep_alive);
  void Linger();
  void DiscardInput();
  void Close();
  // Takes one of the max_inflight slots for the current request; false when
  // all are taken.
  bool AcquireSlot();
  void ReleaseSlot();

  const std::shared_ptr<Core> core_;  // First: outlives the stream.
  const HttpServerOptions& options_ = core_->options;
  Stream stream_;
  // Bytes read but not parsed yet. Bounded: Beast 1.74 keeps a chunk's
  // header line (its extensions) and the trailer whole in it, counted by
  // neither header_limit nor body_limit, so one connection could fill the
  // memory (a full buffer fails the read: 400).
  beast::flat_buffer buffer_{options_.max_header_bytes +
                             kMaxUnparsedBeyondHeader};
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  http::response<http::string_body> response_;
  http::response<http::empty_body> continue_;
  std::string remote_address_;
  State state_ = State::kIdle;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_request_ = false;
  std::atomic<size_t>* slot_ = nullptr;  // the lane's count, while it holds one
};

// Owned by a Responder: sends the response, or a 500 if it is never called.
class PendingResponse {
 public:
  explicit PendingResponse(std::shared_ptr<SessionBase> session)
      : session_(std::move(session)) {}
  PendingResponse(PendingResponse&&) = default;
  PendingResponse& operator=(PendingResponse&&) = delete;
  ~PendingResponse() {
    if (session_ != nullptr) {
      Send(ErrorResponse(500, "internal",
                         "The server dropped the request without answering "
                         "it; retry later."));
    }
  }

  void Send(HttpResponse response) {
    std::shared_ptr<SessionBase> session = std::move(session_);
    if (session != nullptr) session->Respond(std::move(response));
  }

 private:
  std::shared_ptr<SessionBase> session_;
};

bool Core::EvictIdlest() {
  std::shared_ptr<SessionBase> idlest;
  int64_t since = 0;
  for (std::shared_ptr<SessionBase>& s : LiveSessions()) {
    const int64_t t = s->idle_since_ns.load();
    if (t != 0 && (idlest == nullptr || t < since)) {
      idlest = std::move(s);
      since = t;
    }
  }
  if (idlest == nullptr) return false;
  idlest->idle_since_ns.store(0);  // not chosen twice
  idlest->Drain();                 // closes it if it still waits for a request
  return true;
}

std::vector<std::shared_ptr<SessionBase>> Core::LiveSessions() {
  std::vector<std::shared_ptr<SessionBase>> live;
  absl::MutexLock lock(&mu);
  live.reserve(sessions.size());
  for (const auto& [unused, weak] : sessions) {
    if (std::shared_ptr<SessionBase> s = weak.lock()) {
      live.push_back(std::move(s));
    }
  }
  return live;
}

template <class Stream>
void Session<Stream>::Respond(HttpResponse response) {
  absl::ReaderMutexLock lock(&core_->mu);
  if (core_->stopped) return;  // A posted write would never run.
  net::post(stream_.get_executor(), [self = this->shared_from_this(),
                                     r = std::move(response)]() mutable {
    self->Finish(std::move(r));
  });
}

template <class Stream>
void Session<Stream>::OnStart() {
  beast::error_code ec;
  Tcp().socket().set_option(tcp::no_delay(true), ec);
  tcp::endpoint peer = Tcp().socket().remote_endpoint(ec);
  if (!ec) remote_address_ = peer.address().to_string();
  if constexpr (kTls) {
    Handshake();
  } else {
    WaitForRequest();
  }
}

// A failed or slow handshake (plain HTTP sent to the HTTPS port, a client
// that does not trust the certificate) just closes the connection.
template <class Stream>
void Session<Stream>::Handshake() {
  SetDeadline(Tcp(), options_.read_timeout);
  stream_.async_handshake(
      net::ssl::stream_base::server,
      [self = this->shared_from_this()](beast::error_code ec) {
        if (ec || self->state_ != State::kIdle) return self->Close();
        self->WaitForRequest();
      });
}

template <class Stream>
void Session<Stream>::OnDrain() {
  if (state_ == State::kIdle || state_ == State::kLingering) Close();
}

template <class Stream>
void Session<Stream>::OnGiveUp() {
  if (state_ == State::kWriting || state_ == State::kClosed) return;
  if (state_ != State::kHandling) return Close();
  // The handler's answer, should it still come, finds the state changed.
  HttpResponse busy = ErrorResponse(
      503, "shutting_down",
      "The gateway stopped before this request's answer came; it may or may "
      "not have been applied. Retrying it is safe.");
  busy.headers.emplace_back("Retry-After", "1");
  Refuse(std::move(busy), /*force_close=*/true);
}

template <class Stream>
void Session<Stream>::WaitForRequest() {
  if (core_->draining.load()) return Close();
  if (buffer_.size() > 0) return ReadHeader();  // Pipelined.
  state_ = State::kIdle;
  idle_since_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count());
  SetDeadline(Tcp(), options_.idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = this->shared_from_this()](beast::error_code ec, size_t n) {
        self->idle_since_ns.store(0);
        self->buffer_.commit(n);
        if (ec || self->state_ != State::kIdle) return self->Close();
        self->ReadHeader();
      });
}

template <class Stream>
void Session<Stream>::ReadHeader() {
  state_ = State::kReading;
  request_ = HttpRequest();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(
      options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // The size check waits until the handler has seen the headers. Not
  // boost::none: Beast 1.74 compares `length > none`, which is always true.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  SetDeadline(Tcp(), options_.read_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        self->OnHeader(ec);
      });
}

template <class Stream>
void Session<Stream>::OnHeader(beast::error_code ec) {
  if (ec) return FailRead(ec);
  const auto& msg = parser_->get();
  version_ = msg.version();
  keep_alive_ = parser_->keep_alive();
  head_request_ = msg.method() == http::verb::head;
  FillHead();
  if (!OnlyChunkedOrNoTransferCoding(request_)) {
    // RFC 9112 6.1: the body's length is unknown; what follows cannot be
    // told from a next request (a proxy in front might tell otherwise).
    return Refuse(ErrorResponse(400, "bad_request",
                                "Transfer-Encoding must be chunked alone"),
                  /*force_close=*/true);
  }
  if (std::optional<HttpResponse> early = core_->handler.OnHeaders(request_)) {
    return Write(std::move(*early), /*force_close=*/!parser_->is_done());
  }
  const boost::optional<std::uint64_t> length = parser_->content_length();
  if (length && *length > options_.max_body_bytes) {
    return FailRead(http::error::body_limit);
  }
  // A request with a body always takes a slot: the body is read into memory.
  const bool bypass =
      core_->handler.BypassesInflightCap(request_) && parser_->is_done();
  if (!bypass && !AcquireSlot()) {
    HttpResponse busy = ErrorResponse(
        503, "overloaded",
        "The gateway has too many requests in flight; nothing of this "
        "request was read, retry it after Retry-After seconds.");
    busy.headers.emplace_back("Retry-After", "1");
    return Refuse(std::move(busy), /*force_close=*/!parser_->is_done());
  }
  parser_->body_limit(options_.max_body_bytes);
  if (parser_->is_done()) return Dispatch();
  if (version_ < 11 ||
      !absl::EqualsIgnoreCase(request_.Header("expect"), "100-continue")) {
    return ReadBody();
  }
  continue_ =
      http::response<http::empty_body>(http::status::continue_, version_);
  http::async_write(
      stream_, continue_,
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
}

template <class Stream>
void Session<Stream>::ReadBody() {
  http::async_read(
      stream_, buffer_, *parser_,
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->FailRead(ec);
        self->Dispatch();
      });
}

template <class Stream>
void Session<Stream>::Refuse(HttpResponse response, bool force_close) {
  core_->handler.OnServerAnswer(request_, response.status);
  Write(std::move(response), force_close);
}

template <class Stream>
void Session<Stream>::FailRead(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    Refuse(ErrorResponse(413, "payload_too_large",
                         absl::StrCat("The request body is larger than ",
                                      options_.max_body_bytes,
                                      " bytes; send less per request.")),
           /*force_close=*/true);
  } else if (ec == http::error::header_limit) {
    Refuse(ErrorResponse(431, "header_too_large",
                         absl::StrCat("The request line and headers are larger "
                                      "than ",
                                      options_.max_header_bytes, " bytes.")),
           /*force_close=*/true);
  } else if (IsMalformedHttp(ec)) {
    Refuse(ErrorResponse(400, "bad_request",
                         absl::StrCat("The request is not valid HTTP/1.1 (",
                                      ec.message(), ").")),
           /*force_close=*/true);
  } else {
    Close();  // Timeout, reset or end of stream: nobody to answer.
  }
}

template <class Stream>
void Session<Stream>::FillHead() {
  const auto& msg = parser_->get();
  request_.method = ToString(msg.method_string());
  request_.target = ToString(msg.target());
  const size_t q = request_.target.find('?');
  request_.path = request_.target.substr(0, q);
  if (q != std::string::npos) request_.query = request_.target.substr(q + 1);
  for (const auto& field : msg) {
    const beast::string_view name = field.name_string();
    request_.headers.emplace_back(
        absl::AsciiStrToLower(absl::string_view(name.data(), name.size())),
        ToString(field.value()));
  }
  request_.remote_address = remote_address_;
}

template <class Stream>
void Session<Stream>::Dispatch() {
  state_ = State::kHandling;
  Tcp().expires_never();
  request_.body = std::move(parser_->get().body());
  parser_.reset();
  core_->handler.Handle(std::move(request_),
                        [pending = PendingResponse(this->shared_from_this())](
                            HttpResponse response) mutable {
                          pending.Send(std::move(response));
                        });
}

template <class Stream>
void Session<Stream>::Finish(HttpResponse response) {
  // Not handling any more: the connection was closed meanwhile.
  if (state_ != State::kHandling) return;
  Write(std::move(response), /*force_close=*/false);
}

template <class Stream>
void Session<Stream>::Write(HttpResponse response, bool force_close) {
  const bool keep_alive =
      keep_alive_ && !response.close && !force_close && !core_->draining.load();
  BuildResponse(std::move(response), keep_alive);
  state_ = State::kWriting;
  SetDeadline(Tcp(), options_.write_timeout);
  http::async_write(
      stream_, response_,
      [self = this->shared_from_this(), keep_alive](
          beast::error_code ec, size_t) { self->OnWrite(ec, keep_alive); });
}

template <class Stream>
void Session<Stream>::BuildResponse(HttpResponse response, bool keep_alive) {
  const int status =
      response.status >= 200 && response.status <= 999 ? response.status : 500;
  response_ = {};
  response_.version(version_);
  response_.result(static_cast<unsigned>(status));
  if (!response.content_type.empty() &&
      IsSendableHeader("content-type", response.content_type)) {
    response_.set(http::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (IsSendableHeader(name, value)) response_.insert(name, value);
  }
  response_.keep_alive(keep_alive);
  if (status == 204 || status == 304) return;  // These never have a body.
  response_.content_length(response.body.size());
  if (!head_request_) response_.body() = std::move(response.body);
}

template <class Stream>
void Session<Stream>::OnWrite(beast::error_code ec, bool keep_alive) {
  response_ = {};
  ReleaseSlot();
  if (ec) return Close();
  if (!keep_alive) return Linger();
  WaitForRequest();
}

template <class Stream>
void Session<Stream>::Linger() {
  state_ = State::kLingering;
  if constexpr (kTls) {
    if (core_->draining.load()) return Close();
    SetDeadline(Tcp(), std::min(kLingerTime, options_.read_timeout));
    // Sends close_notify, then waits for the client's or its end of stream;
    // OpenSSL drops the application data that arrives meanwhile.
    stream_.async_shutdown([self = this->shared_from_this()](
                               beast::error_code) { self->Close(); });
  } else {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || core_->draining.load()) return Close();
    SetDeadline(Tcp(), std::min(kLingerTime, options_.read_timeout));
    buffer_.clear();
    DiscardInput();
  }
}

template <class Stream>
void Session<Stream>::DiscardInput() {
  stream_.async_read_some(
      buffer_.prepare(kReadChunkBytes),
      [self = this->shared_from_this()](beast::error_code ec, size_t) {
        if (ec || self->state_ != State::kLingering) return self->Close();
        self->DiscardInput();
      });
}

template <class Stream>
bool Session<Stream>::AcquireSlot() {
  const int lane = core_->handler.InflightLane(request_);
  std::atomic<size_t>& inflight = core_->inflight.at(
      lane >= 0 && lane < HttpHandler::kInflightLanes ? lane : 0);
  if (inflight.fetch_add(1) >= options_.max_inflight) {
    inflight.fetch_sub(1);
    return false;
  }
  slot_ = &inflight;
  return true;
}

template <class Stream>
void Session<Stream>::ReleaseSlot() {
  if (slot_ == nullptr) return;
  slot_->fetch_sub(1);
  slot_ = nullptr;
}

template <class Stream>
void Session<Stream>::Close() {
  ReleaseSlot();
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ec;
  Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
  Tcp().close();
}

}  // namespace

std::string HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

HttpResponse ErrorResponse(int status, absl::string_view code,
                           absl::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body =
      absl::StrCat(R"({"error":{"code":")", JsonEscape(code),
                   R"(","message":")", JsonEscape(message), R"("}})");
  return response;
}

// Owns the listening socket and the threads; the rest lives in Core.
class HttpServer::Impl {
 public:
  explicit Impl(std::shared_ptr<Core> core)
      : core_(std::move(core)),
        acceptor_(net::make_strand(*core_->iocs.front())),
        accept_retry_(acceptor_.get_executor()) {
    for (const auto& ioc : core_->iocs) work_.push_back(net::make_work_guard(*ioc));
  }

  absl::Status Listen();
  void Run();
  void Shutdown(absl::Duration grace);
  int port() const { return port_; }

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void StopAccepting();

  std::shared_ptr<Core> core_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

absl::Status HttpServer::Impl::Listen() {
  const HttpServerOptions& options = core_->options;
  absl::string_view host = options.address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // "[::1]" as in URLs.
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(std::string(host), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IP address: \"", options.address, "\""));
  }
  const tcp::endpoint endpoint(address,
                               static_cast<unsigned short>(options.port));
  const std::string where = absl::StrCat(options.address, ":", options.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", where, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void HttpServer::Impl::Run() {
  Accept();
  threads_.reserve(core_->iocs.size());
  for (const auto& ioc : core_->iocs) {
    threads_.emplace_back([ioc = ioc.get()] { ioc->run(); });
  }
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(core_->NextIoContext()),
                         [this](beast::error_code ec, tcp::socket socket) {
                           OnAccept(ec, std::move(socket));
                         });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;  // Shutting down.
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning.
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  std::shared_ptr<SessionBase> session;
  if (core_->tls != nullptr) {
    session = std::make_shared<Session<TlsStream>>(core_, std::move(socket));
  } else {
    session = std::make_shared<Session<PlainStream>>(core_, std::move(socket));
  }
  bool admitted = false;
  {
    absl::MutexLock lock(&core_->mu);
    if (!core_->draining.load() &&
        core_->sessions.size() < core_->options.max_connections) {
      core_->sessions.emplace(session.get(), session);
      admitted = true;
    }
  }
  // At the cap, the connection that has waited longest for a request makes
  // room: otherwise connections that send nothing (each is cut only after
  // the idle timeout) would keep out every new client, health probes
  // included. Until the evicted one has closed, the cap is passed by one.
  if (!admitted && !core_->draining.load() && core_->EvictIdlest()) {
    absl::MutexLock lock(&core_->mu);
    if (!core_->draining.load()) {
      core_->sessions.emplace(session.get(), session);
      admitted = true;
    }
  }
  // A session that is not admitted closes its socket when destroyed.
  if (admitted) session->Start();
  Accept();
}

void HttpServer::Impl::StopAccepting() {
  absl::Notification closed;
  net::post(acceptor_.get_executor(), [this, &closed] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    closed.Notify();
  });
  closed.WaitForNotification();
}

void HttpServer::Impl::Shutdown(absl::Duration grace) {
  const absl::Time deadline = absl::Now() + grace;
  // In this order, a connection closed for draining tells that the server
  // refuses new ones (tests rely on that).
  StopAccepting();
  {
    absl::MutexLock lock(&core_->mu);
    core_->draining.store(true);
  }
  for (const std::shared_ptr<SessionBase>& s : core_->LiveSessions())
    s->Drain();
  {
    absl::MutexLock lock(&core_->mu);
    core_->mu.AwaitWithDeadline(absl::Condition(core_.get(), &Core::NoSessions),
                                deadline);
  }
  for (const std::shared_ptr<SessionBase>& s : core_->LiveSessions()) {
    s->GiveUp();
  }
  {
    // Time for those answers to be written (a client that does not read
    // them is cut off here).
    absl::MutexLock lock(&core_->mu);
    core_->mu.AwaitWithTimeout(absl::Condition(core_.get(), &Core::NoSessions),
                               kGiveUpWriteTime);
    core_->stopped = true;
  }
  for (const std::shared_ptr<SessionBase>& s : core_->LiveSessions()) {
    s->ForceClose();
  }
  // Every socket is closed now, so the threads run out of work and return.
  for (auto& guard : work_) guard.reset();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

namespace {

// Returns the server's TLS context (TLS 1.2 or newer) with the certificate
// and key read from their files, or null for plain HTTP.
absl::StatusOr<std::unique_ptr<net::ssl::context>> MakeTlsContext(
    const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return nullptr;
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "HTTPS needs both a certificate and a key file");
  }
  auto context =
      std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(
      net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
          net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
          net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use,
      ec);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  // Idle keep-alive connections then hold no TLS buffers.
  SSL_CTX_set_mode(context->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  if (!ec) context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the certificate ", options.tls_cert_file, ": ",
                     ec.message()));
  }
  context->use_private_key_file(options.tls_key_file, net::ssl::context::pem,
                                ec);
  if (ec || SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the key ", options.tls_key_file,
                     " (unreadable, encrypted or not the certificate's)"));
  }
  return context;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler& handler) {
  if (options.threads < 1 || options.port < 0 || options.port > 65535 ||
      options.max_header_bytes == 0 || options.max_connections == 0 ||
      options.max_inflight == 0 ||
      options.idle_timeout <= absl::ZeroDuration() ||
      options.read_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "HttpServerOptions: threads, max_header_bytes, max_connections and "
        "max_inflight must be positive, port within 0..65535, timeouts above "
        "zero");
  }
  absl::StatusOr<std::unique_ptr<net::ssl::context>> tls =
      MakeTlsContext(options);
  if (!tls.ok()) return tls.status();
  auto impl = std::make_unique<Impl>(
      std::make_shared<Core>(options, handler, *std::move(tls)));
  if (absl::Status status = impl->Listen(); !status.ok()) return status;
  impl->Run();
  const int port = impl->port();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl), port));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

HttpServer::~HttpServer() { Shutdown(absl::ZeroDuration()); }

void HttpServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (impl_ == nullptr) return;
  impl_->Shutdown(grace);
  impl_.reset();
}

}  // namespace sheetsync::gateway
