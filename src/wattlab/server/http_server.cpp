#include "wattlab/server/http_server.h"

#include <utility>  // before Asio: Boost 1.74's asio/awaitable.hpp uses std::exchange without it

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace wattlab {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Body pieces are read into (and streamed responses sent from) a buffer of
// this size, allocated only while a body moves.
constexpr size_t kChunkBytes = 64 * 1024;
// How long a connection closed after an early 413 keeps reading (and
// dropping) what the client still sends, so that the client reads the 413
// instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);

class BufferedExchange final : public HttpExchange {
 public:
  BufferedExchange(uint64_t max_body_bytes, std::function<HttpResponse(const HttpRequest&)> respond,
                   std::function<HttpResponse(const HttpRequest&)> too_large)
      : max_body_bytes_(max_body_bytes), respond_(std::move(respond)), too_large_(std::move(too_large)) {}
  uint64_t max_body_bytes() const override { return max_body_bytes_; }
  void append_body(const char* data, size_t length) override { body_.append(data, length); }
  HttpResponse respond(HttpRequest& request) override {
    request.body = std::move(body_);
    return respond_(request);
  }
  HttpResponse respond_too_large(HttpRequest& request) override { return too_large_(request); }

 private:
  uint64_t max_body_bytes_;
  std::function<HttpResponse(const HttpRequest&)> respond_;
  std::function<HttpResponse(const HttpRequest&)> too_large_;
  std::string body_;
};

HttpResponse text_response(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = message + "\n";
  return r;
}

// The request's head as HttpRequest (without the body).
HttpRequest request_head(const http::request<http::buffer_body>& message) {
  HttpRequest out;
  out.method = std::string(message.method_string());
  out.target = std::string(message.target());
  const size_t q = out.target.find('?');
  out.path = percent_decode(std::string_view(out.target).substr(0, q), /*plus_is_space=*/false);
  if (q != std::string::npos) out.query = parse_query(std::string_view(out.target).substr(q + 1));
  for (const auto& field : message) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
}

}  // namespace

std::unique_ptr<HttpExchange> buffered_exchange(uint64_t max_body_bytes,
                                                std::function<HttpResponse(const HttpRequest&)> respond,
                                                std::function<HttpResponse(const HttpRequest&)> too_large) {
  return std::make_unique<BufferedExchange>(max_body_bytes, std::move(respond), std::move(too_large));
}

class HttpConnection;

struct HttpServer::State {
  State(HttpHandler h, HttpServerOptions o) : options(std::move(o)), handler(std::move(h)) {
    for (int i = 0; i < std::max(1, options.threads); ++i) {
      lanes.push_back(std::make_unique<asio::io_context>(1));
      lane_work.push_back(asio::make_work_guard(*lanes.back()));
    }
  }
  // Members go in reverse order: io's pending accept (holding a socket of a
  // lane) before the lanes, then the lanes' connections, whose destructors
  // (forget) must then stop nothing.
  ~State() { torn_down = true; }

  // Accepts the next connection, forever (until stop()).
  void accept();
  // Every sweep_interval, closes the connections past their deadline: one
  // timer for the server instead of one per read and write.
  void sweep();
  // Registers a new connection, making room at the connection limit.
  void admit(tcp::socket socket);
  // Called by a connection's destructor.
  void forget(std::list<std::weak_ptr<HttpConnection>>::iterator entry);
  // Makes serve() return: stops io and every lane.
  void stop_all() {
    io.stop();
    for (auto& lane : lanes) lane->stop();
  }
  HttpResponse error_response(int status, const std::string& message) const {
    return options.error_response ? options.error_response(status, message) : text_response(status, message);
  }

  HttpServerOptions options;
  HttpHandler handler;
  std::mutex mu;                                     // guards `connections`
  std::list<std::weak_ptr<HttpConnection>> connections;  // oldest first
  std::atomic<bool> stopping{false};
  std::atomic<bool> torn_down{false};  // the destructor has begun
  // The connections, dealt in turn to `options.threads` lanes of one thread
  // each: a connection's every step runs on its lane's thread, so a request
  // is read, answered and written by one thread, with no other thread woken
  // (a shared pool wakes one per request so that someone keeps waiting for
  // the sockets: on a VM that took 45 us a request, a third of a small
  // request's round trip).
  std::vector<std::unique_ptr<asio::io_context>> lanes;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> lane_work;  // keeps idle lanes running
  size_t next_lane = 0;  // accept()'s, on io's thread
  // The acceptor and the timers, on serve()'s thread: no exchange delays them.
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};  // backs off when accept fails (out of descriptors)
  asio::steady_timer drain_deadline{io};
  asio::steady_timer sweeper{io};
  std::chrono::milliseconds sweep_interval{250};
  int port = 0;
};

// One client connection: reads a request, makes its response, writes the
// response, and again while the connection is kept alive. Every step runs on
// the thread of the connection's lane.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket&& socket, HttpServer::State& server) : socket_(std::move(socket)), server_(server) {}
  ~HttpConnection() { server_.forget(entry_); }

  void set_entry(std::list<std::weak_ptr<HttpConnection>>::iterator entry) { entry_ = entry; }
  // True while waiting for a request (idle, or its head not yet complete):
  // such a connection may be closed to make room.
  bool waiting() const { return waiting_; }
  SteadyClock::time_point waiting_since() const { return waiting_since_; }

  void start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
  }
  // Answers 503 and closes: the server is full.
  void refuse(const std::string& message) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), message] {
      self->body_unread_ = true;
      self->send(self->server_.error_response(503, message), /*close=*/true);
    });
  }
  // Closes the connection if its deadline (set_deadline) is before `now_ns`.
  void close_if_expired(int64_t now_ns) {
    const int64_t deadline = deadline_ns_;
    if (deadline == 0 || deadline > now_ns) return;
    asio::post(socket_.get_executor(), [self = shared_from_this(), deadline] {
      if (self->deadline_ns_ == deadline) self->close();  // unless it moved on meanwhile
    });
  }
  // Closes the connection if it is waiting for a request.
  void close_if_waiting() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_) self->close();
    });
  }

 private:
  void set_waiting(bool waiting) {
    if (waiting && !waiting_) waiting_since_ = SteadyClock::now();
    waiting_ = waiting;
  }

  // Waits (at most idle_timeout) for the first byte of the next request.
  void wait_for_request() {
    set_waiting(true);
    if (server_.stopping) return close();
    if (buffer_.size() > 0) return read_head();  // pipelined
    if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // idle connections stay small
    set_deadline(server_.options.idle_timeout);
    socket_.async_read_some(buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_head();
    });
  }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    // Counted against the exchange's limit in on_head and on_body. (Not
    // boost::none: Boost 1.74 then refuses every Content-Length.)
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    // Usually the whole head came with the request's first bytes: parsed
    // here, at once. (An asynchronous read that completes at once is posted:
    // a round through the scheduler that costs more than parsing a small
    // request.)
    if (buffer_.size() > 0) {
      beast::error_code ec;
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec ? ec != http::error::need_more : parser_->is_header_done()) return on_head(ec);
    }
    set_deadline(server_.options.header_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return reject(431, "the request head is larger than " + std::to_string(server_.options.max_header_bytes) +
                             " bytes");
    }
    // The client left, or the sweep closed a head that came too slowly.
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) {
      return close();
    }
    if (ec) return reject(400, "the request could not be read: " + ec.message());
    set_waiting(false);
    const auto& message = parser_->get();
    request_ = request_head(message);
    keep_alive_ = message.keep_alive();
    try {
      exchange_ = server_.handler(request_);
    } catch (const std::exception& e) {
      return reject(500, std::string("the request could not be routed: ") + e.what());
    }
    body_bytes_ = 0;
    const auto declared = parser_->content_length();
    if (declared && *declared > exchange_->max_body_bytes()) {
      body_unread_ = true;
      return dispatch(/*too_large=*/true);
    }
    if (parser_->is_done()) return dispatch(false);
    if (equals_ignoring_case(request_.header("Expect"), "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      set_deadline(server_.options.io_timeout);
      asio::async_write(socket_, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code ec2, size_t) {
        if (ec2) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);
    auto& body = parser_->get().body();
    body.data = chunk_.get();
    body.size = kChunkBytes;
    set_deadline(server_.options.io_timeout);
    // A body already read with the head is taken here (see read_head).
    if (buffer_.size() > 0) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec ? ec != http::error::need_more : used > 0) return on_body(ec);
    }
    // read_some: a chunked body over the limit is noticed as it arrives.
    http::async_read_some(socket_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return close();  // the client went away or stalled: no response
    const size_t got = kChunkBytes - parser_->get().body().size;
    body_bytes_ += got;
    if (body_bytes_ > exchange_->max_body_bytes()) {
      body_unread_ = !parser_->is_done();
      return dispatch(/*too_large=*/true);
    }
    if (got > 0) exchange_->append_body(chunk_.get(), got);
    if (!parser_->is_done()) return read_body();
    chunk_.reset();
    dispatch(false);
  }

  // Makes the response and sends it, on this lane's thread, which a blocking
  // exchange holds meanwhile: the lane's other connections wait, the other
  // lanes go on (no hand-over to another thread: on a VM each costs more
  // than a small request itself).
  void dispatch(bool too_large) {
    set_deadline(std::chrono::milliseconds::zero());
    HttpResponse response;
    try {
      response = too_large ? exchange_->respond_too_large(request_) : exchange_->respond(request_);
    } catch (const std::exception& e) {
      response = server_.error_response(500, std::string("the request failed: ") + e.what());
    }
    send(std::move(response), too_large || !keep_alive_);
  }

  // Answers an error the server found itself and closes.
  void reject(int status, const std::string& message) {
    body_unread_ = true;
    keep_alive_ = false;
    send(server_.error_response(status, message), /*close=*/true);
  }

  template <typename Message>
  void fill_head(Message& message, const HttpResponse& response, bool close) {
    message.version(11);
    message.result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message.insert(name, value);
    message.keep_alive(!close);
  }

  void send(HttpResponse response, bool close) {
    set_waiting(false);
    close = close || server_.stopping;
    if (response.streamed_size >= 0) return send_streamed(std::move(response), close);
    string_response_.emplace();
    fill_head(*string_response_, response, close);
    string_response_->body() = std::move(response.body);
    string_response_->prepare_payload();
    string_serializer_.emplace(*string_response_);
    set_deadline(server_.options.io_timeout);
    // A small response fits the socket's buffer: written here, on this
    // thread (see read_head); what does not fit goes on asynchronously.
    beast::error_code ec;
    http::write(socket_, *string_serializer_, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      http::async_write(socket_, *string_serializer_, [self = shared_from_this(), close](beast::error_code ec2, size_t) {
        self->sent_string(ec2, close);
      });
      return;
    }
    // A pipelined request waits for a later turn of the pool rather than
    // running inside this call (a long pipeline must not nest that deep).
    if (buffer_.size() > 0 && !ec && !close) {
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->sent_string({}, false); });
      return;
    }
    sent_string(ec, close);
  }

  void sent_string(beast::error_code ec, bool close) {
    string_serializer_.reset();
    string_response_.reset();
    after_send(ec, close);
  }

  void send_streamed(HttpResponse response, bool close) {
    streamed_ = std::move(response);
    streamed_offset_ = 0;
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);
    stream_response_.emplace();
    fill_head(*stream_response_, streamed_, close);
    stream_response_->content_length(static_cast<uint64_t>(streamed_.streamed_size));
    stream_response_->body().data = nullptr;
    stream_response_->body().more = true;
    serializer_.emplace(*stream_response_);
    set_deadline(server_.options.io_timeout);
    http::async_write_header(socket_, *serializer_, [self = shared_from_this(), close](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->send_next_piece(close);
    });
  }

  void send_next_piece(bool close) {
    auto& body = stream_response_->body();
    if (streamed_offset_ >= streamed_.streamed_size) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      const size_t want = static_cast<size_t>(std::min<int64_t>(streamed_.streamed_size - streamed_offset_,
                                                                static_cast<int64_t>(kChunkBytes)));
      const int64_t n = streamed_.read_body(streamed_offset_, chunk_.get(), want);
      if (n <= 0) return this->close();  // the source failed: the client sees a short body
      streamed_offset_ += n;
      body.data = chunk_.get();
      body.size = static_cast<size_t>(n);
      body.more = true;
    }
    set_deadline(server_.options.io_timeout);
    http::async_write(socket_, *serializer_, [self = shared_from_this(), close](beast::error_code ec, size_t) {
      if (ec == http::error::need_buffer) return self->send_next_piece(close);
      self->serializer_.reset();
      self->stream_response_.reset();
      self->streamed_ = {};
      self->after_send(ec, close);
    });
  }

  void after_send(beast::error_code ec, bool close) {
    exchange_.reset();
    request_ = {};
    parser_.reset();
    chunk_.reset();
    if (ec) return this->close();
    if (close) return body_unread_ ? linger_then_close() : shutdown_and_close();
    wait_for_request();
  }

  // Reads and drops what the client still sends for a while, then closes.
  void linger_then_close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);
    set_deadline(kLingerTime);  // not renewed by drain()
    drain();
  }
  void drain() {
    socket_.async_read_some(asio::buffer(chunk_.get(), kChunkBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void shutdown_and_close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    close();
  }

  void close() {
    set_waiting(false);
    set_deadline(std::chrono::milliseconds::zero());
    beast::error_code ignored;
    socket_.close(ignored);
  }

  // The current step must end within `timeout` of now, else the sweep
  // (State::sweep) closes the connection; zero: no deadline.
  void set_deadline(std::chrono::milliseconds timeout) {
    deadline_ns_ = timeout.count() == 0
                       ? 0
                       : std::chrono::duration_cast<std::chrono::nanoseconds>(
                             (SteadyClock::now() + timeout).time_since_epoch())
                             .count();
  }

  tcp::socket socket_;
  HttpServer::State& server_;
  std::list<std::weak_ptr<HttpConnection>>::iterator entry_;  // in server_.connections
  beast::flat_buffer buffer_;                             // bytes read, not yet parsed
  std::optional<http::request_parser<http::buffer_body>> parser_;
  HttpRequest request_;                       // the current request's head
  std::unique_ptr<HttpExchange> exchange_;    // the current request's exchange
  bool keep_alive_ = false;                   // the client keeps the connection
  bool body_unread_ = false;                  // the client may still be sending a body we refused
  uint64_t body_bytes_ = 0;                   // of the current request's body so far
  std::unique_ptr<char[]> chunk_;             // kChunkBytes while a body moves
  std::optional<http::response<http::string_body>> string_response_;
  std::optional<http::response_serializer<http::string_body>> string_serializer_;  // of string_response_
  std::optional<http::response<http::buffer_body>> stream_response_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
  HttpResponse streamed_;                     // the source of a streamed response
  int64_t streamed_offset_ = 0;
  std::atomic<int64_t> deadline_ns_{0};      // see set_deadline; read by the sweep
  std::atomic<bool> waiting_{false};
  std::atomic<SteadyClock::time_point> waiting_since_{};
};

void HttpServer::State::accept() {
  const asio::any_io_executor lane = lanes[next_lane++ % lanes.size()]->get_executor();
  acceptor.async_accept(lane, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: wait rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    admit(std::move(socket));
    accept();
  });
}

void HttpServer::State::sweep() {
  sweeper.expires_after(sweep_interval);
  sweeper.async_wait([this](beast::error_code ec) {
    if (ec) return;
    const int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
      std::lock_guard lock(mu);
      live.reserve(connections.size());
      for (const auto& weak : connections)
        if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    for (const auto& c : live) c->close_if_expired(now_ns);
    sweep();
  });
}

void HttpServer::State::admit(tcp::socket socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // small JSON answers must not wait for delayed ACKs
  socket.non_blocking(true, ignored);               // HttpConnection::send's write never waits
  auto connection = std::make_shared<HttpConnection>(std::move(socket), *this);
  std::shared_ptr<HttpConnection> make_room;
  bool full = false;
  {
    std::lock_guard lock(mu);
    if (connections.size() >= options.max_connections) {
      for (const auto& weak : connections) {
        auto candidate = weak.lock();
        if (candidate && candidate->waiting() &&
            (!make_room || candidate->waiting_since() < make_room->waiting_since())) {
          make_room = std::move(candidate);
        }
      }
      full = !make_room;
    }
    connection->set_entry(connections.insert(connections.end(), connection));
  }
  if (make_room) make_room->close_if_waiting();
  if (full) return connection->refuse("the server holds " + std::to_string(options.max_connections) +
                                      " connections, all busy; retry later");
  connection->start();
}

void HttpServer::State::forget(std::list<std::weak_ptr<HttpConnection>>::iterator entry) {
  std::lock_guard lock(mu);
  connections.erase(entry);
  if (stopping && connections.empty() && !torn_down) stop_all();
}

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::bind(const std::string& host, int port, HttpHandler handler,
                                                     HttpServerOptions options) {
  // A descriptor per connection: take what the hard limit allows, and keep
  // max_connections under it, less 64 for the process's own files and 3 per
  // lane (its epoll, timer and wake-up descriptors).
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    if (limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
      getrlimit(RLIMIT_NOFILE, &limit);
    }
    const rlim_t reserved = 64 + 3 * static_cast<rlim_t>(std::max(1, options.threads));
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur > 2 * reserved) {
      options.max_connections = std::min<size_t>(options.max_connections, limit.rlim_cur - reserved);
    }
  }
  auto state = std::make_unique<State>(std::move(handler), std::move(options));
  const std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  tcp::resolver resolver(state->io);
  auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return Status::unavailable("cannot listen on " + where + ": " + ec.message());
  const tcp::endpoint endpoint = *endpoints.begin();
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::unavailable("cannot listen on " + where + ": " + ec.message());
  state->port = state->acceptor.local_endpoint().port();
  const auto shortest = std::min({state->options.header_timeout, state->options.idle_timeout, state->options.io_timeout});
  state->sweep_interval = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  state->accept();
  state->sweep();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

int HttpServer::port() const { return state_->port; }

void HttpServer::serve() {
  if (state_->stopping) return;
  std::vector<std::thread> lanes;
  for (auto& lane : state_->lanes) lanes.emplace_back([&lane] { lane->run(); });
  state_->io.run();
  state_->stop_all();
  for (auto& t : lanes) t.join();
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  asio::post(state_->io, [s = state_.get()] {
    beast::error_code ignored;
    s->acceptor.close(ignored);
    s->accept_retry.cancel();
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
      std::lock_guard lock(s->mu);
      for (const auto& weak : s->connections)
        if (auto c = weak.lock()) live.push_back(std::move(c));
      if (s->connections.empty()) s->stop_all();
    }
    for (const auto& c : live) c->close_if_waiting();
    // Requests in flight finish, each closing its connection after its
    // response; whatever is still open after io_timeout is dropped.
    s->drain_deadline.expires_after(s->options.io_timeout);
    s->drain_deadline.async_wait([s](beast::error_code ec) {
      if (!ec) s->stop_all();
    });
  });
}

}  // namespace wattlab
