// An HTTP/1.1 server for many slow, idle or hostile clients at once (Boost
// Asio/Beast underneath, in http_server.cpp only).
//
// Connections wait for data without a thread (epoll): an idle keep-alive
// connection or one trickling its request costs a socket and a few
// kilobytes, never a thread. Connections are dealt in turn to `threads`
// lanes, a thread each, which runs what is ready on its connections
// (parsing, the exchange, writing), one connection's steps in order, with no
// hand-over between threads; accepting and the timeouts below have a thread
// of their own. An exchange that blocks (on the store, on fsync) holds its
// lane: that lane's other connections wait, the other lanes go on.
// Contracts:
// - a request head must arrive whole within header_timeout of its first
//   byte (else the connection is closed) and fit in max_header_bytes (else
//   431); a keep-alive connection idle for idle_timeout is closed (timeouts
//   are checked a few times a second: at most a quarter of the shortest, or
//   250 ms, late);
// - a body or response that makes no progress for io_timeout ends the
//   connection; its exchange is dropped without a response;
// - at most max_connections connections are held: at the limit, the one idle
//   longest makes room; when none is idle the newcomer gets 503;
// - a body longer than its exchange's max_body_bytes() gets the exchange's
//   413 as soon as that is known (from Content-Length, or while reading a
//   chunked body), then the connection is closed; at most max_body_bytes()
//   of it ever reaches the exchange;
// - "Expect: 100-continue" is answered before the body is read;
// - malformed requests get 400 and the connection is closed; every response
//   the server makes itself comes from HttpServerOptions::error_response.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/server/http_message.h"

namespace wattlab {

// One request's exchange: made once the head is read, it takes the body and
// makes the response.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  // The most body bytes this exchange takes (see the 413 contract above).
  virtual uint64_t max_body_bytes() const = 0;
  // Takes the next piece of the body, in order. Should not block for long
  // (a write to a local file is fine): it holds a thread of the pool.
  virtual void append_body(const char* data, size_t length) = 0;
  // The response once the whole body is in; may block (on the store).
  // `request` is the head given to the handler (with its body when the
  // exchange buffers it). Exceptions become a 500.
  virtual HttpResponse respond(HttpRequest& request) = 0;
  // The response to a body longer than max_body_bytes().
  virtual HttpResponse respond_too_large(HttpRequest& request) = 0;
};

// Makes the exchange for a request whose head (all of HttpRequest but the
// body) has been read. Should not block for long; never returns null.
// Called from several threads at once (for different connections).
using HttpHandler = std::function<std::unique_ptr<HttpExchange>(const HttpRequest& head)>;
// A response with this status and message, for the errors the server
// answers itself.
using HttpErrorResponder = std::function<HttpResponse(int status, const std::string& message)>;

// An exchange that keeps the body (at most max_body_bytes) in request.body
// and then answers with `respond`, or `too_large` for a longer body.
std::unique_ptr<HttpExchange> buffered_exchange(uint64_t max_body_bytes,
                                                std::function<HttpResponse(const HttpRequest&)> respond,
                                                std::function<HttpResponse(const HttpRequest&)> too_large);

struct HttpServerOptions {
  int threads = 16;  // lanes (see above); each exchange blocked in respond() holds one
  size_t max_connections = 10000;
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds io_timeout{30'000};
  HttpErrorResponder error_response;  // default: the message as text/plain
};

class HttpServer {
 public:
  // Binds `host` (a name or an address; resolved, the first address taken)
  // on `port` (0: a free one) with SO_REUSEADDR but never SO_REUSEPORT, so a
  // second server cannot share the port. Unavailable naming the address when
  // it cannot be bound.
  static Result<std::unique_ptr<HttpServer>> bind(const std::string& host, int port, HttpHandler handler,
                                                  HttpServerOptions options = {});
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when `port` was 0).
  int port() const;
  // Serves on the calling thread (accepting, timeouts) and `threads` more
  // (the lanes) until stop();
  // returns at once when stop() came first.
  void serve();
  // Stops accepting, closes idle connections, lets requests in flight finish
  // (waiting at most io_timeout for them), and makes serve() return.
  // Thread-safe, idempotent, and safe before serve().
  void stop();

 private:
  struct State;
  friend class HttpConnection;
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wattlab
