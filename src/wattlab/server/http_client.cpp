#include "wattlab/server/http_client.h"

#include <utility>  // before Asio: Boost 1.74's asio/awaitable.hpp uses std::exchange without it

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <limits>
#include <thread>

namespace wattlab {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// `target` with the bytes a request line cannot carry percent-encoded.
std::string sendable_target(const std::string& target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The request line and header fields every request carries.
template <typename Body>
void set_head(http::request<Body>& req, const std::string& method, const std::string& target,
              const std::string& address, const std::string& content_type, const HttpHeaders& headers,
              const std::string& bearer_token) {
  req.method_string(method);
  req.target(sendable_target(target));
  req.version(11);
  req.set(http::field::host, address);
  req.set(http::field::user_agent, "wattlab");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  if (!bearer_token.empty() && find_header(headers, "Authorization").empty()) {
    req.set(http::field::authorization, "Bearer " + bearer_token);
  }
  for (const auto& [name, value] : headers) req.insert(name, value);
}

// The status and header fields of `res` (its body is the caller's).
template <typename Body>
HttpResponse response_head(const http::response<Body>& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    if (field.name() == http::field::content_type) out.content_type = std::string(field.value());
    else out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

std::string cause_of(beast::error_code ec, std::chrono::milliseconds io_timeout) {
  if (ec != beast::error::timeout) return ec.message();
  return "no answer within " + (io_timeout.count() % 1000 == 0 ? std::to_string(io_timeout.count() / 1000) + " s"
                                                                : std::to_string(io_timeout.count()) + " ms");
}

}  // namespace

// A connected socket as Beast's SyncReadStream and SyncWriteStream, each
// wait bounded by the request's deadline: the descriptor is non-blocking and
// waits are poll()s. (Beast's asynchronous operations on an io_context cost a
// timer update, a scheduler round and a speculative read per step: on a VM,
// where every system call is dear, more than a small request itself.)
class DeadlineSocket {
 public:
  explicit DeadlineSocket(int fd) : fd_(fd) {}
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }

  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    iovec iov[kMaxBuffers];
    const int n = to_iovecs(buffers, iov);
    if (n == 0) return 0;  // nothing asked: no wait (readv would read 0, which means the end)
    // Waits first: an answer is seldom there the moment its request is sent.
    if (!wait(POLLIN, ec)) return 0;
    for (;;) {
      const ssize_t got = ::readv(fd_, iov, n);
      if (got > 0) return static_cast<size_t>(got);
      if (got == 0) {
        ec = asio::error::eof;
        return 0;
      }
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLIN, ec)) {
        if (!ec) ec.assign(errno, boost::system::system_category());
        return 0;
      }
    }
  }
  template <typename ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    iovec iov[kMaxBuffers];
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<size_t>(to_iovecs(buffers, iov));
    for (;;) {
      const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (sent >= 0) return static_cast<size_t>(sent);
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLOUT, ec)) {
        if (!ec) ec.assign(errno, boost::system::system_category());
        return 0;
      }
    }
  }
  // The throwing forms the stream concepts also ask for.
  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    return or_throw([&](beast::error_code& ec) { return read_some(buffers, ec); });
  }
  template <typename ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    return or_throw([&](beast::error_code& ec) { return write_some(buffers, ec); });
  }

 private:
  static constexpr int kMaxBuffers = 16;

  template <typename Step>
  static size_t or_throw(Step step) {
    beast::error_code ec;
    const size_t n = step(ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // At most kMaxBuffers of `buffers` (what is left goes in the next call).
  template <typename Buffers>
  static int to_iovecs(const Buffers& buffers, iovec* iov) {
    int n = 0;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers) && n < kMaxBuffers;
         ++it) {
      const auto b = *it;
      if (b.size() == 0) continue;
      iov[n++] = iovec{const_cast<void*>(static_cast<const void*>(b.data())), b.size()};
    }
    return n;
  }
  // Waits until `events` or the deadline; false with ec set on timeout or a
  // failed poll.
  bool wait(short events, beast::error_code& ec) {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ec = beast::error::timeout;
        return false;
      }
      pollfd p{fd_, events, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) {
        ec.assign(errno, boost::system::system_category());
        return false;
      }
    }
  }

  int fd_;
  std::chrono::steady_clock::time_point deadline_;
};

struct HttpClient::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};  // for connecting; then read and written through `socket`
  DeadlineSocket socket{-1};
  beast::flat_buffer buffer;

  // Runs one asynchronous operation to completion; its error.
  template <typename Start>
  beast::error_code run(Start start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  // False when the server has closed the connection (or sent something
  // unasked) since the last answer.
  bool still_open() {
    pollfd p{stream.socket().native_handle(), POLLIN, 0};
    return buffer.size() == 0 && ::poll(&p, 1, 0) == 0;
  }
};

HttpClient::HttpClient(std::string host, int port, HttpClientOptions options)
    : host_(std::move(host)),
      port_(port),
      address_((host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port)),
      uri_("http://" + address_),
      options_(std::move(options)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::connect(const std::string& uri, const std::string& token) {
  if (uri.rfind("https://", 0) == 0) {
    return Status::invalid_argument("tracking URI " + uri +
                                    ": https is not supported yet; use http:// (wattlab server binds 127.0.0.1, or "
                                    "put it behind a TLS proxy)");
  }
  if (uri.rfind("http://", 0) != 0 || uri.size() <= 7) {
    return Status::invalid_argument("tracking URI \"" + uri + "\" is not an http://host:port address");
  }
  std::string base = uri;
  while (base.size() > 7 && base.back() == '/') base.pop_back();
  if (base.find('/', 7) != std::string::npos) {
    return Status::invalid_argument("tracking URI " + uri + ": give the server's address only (http://host:port), "
                                    "without a path");
  }
  std::string host = base.substr(7);
  int port = 80;
  const size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const std::string digits = host.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) > 65535) {
      return Status::invalid_argument("tracking URI " + uri + " has a bad port — give http://host:port");
    }
    port = std::stoi(digits);
    host.resize(colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return Status::invalid_argument("tracking URI \"" + uri + "\" names no host — give http://host:port");
  HttpClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.io_timeout = std::chrono::seconds(120);
  options.connect_tries = 3;
  options.retry_delay = std::chrono::milliseconds(200);
  options.bearer_token = token;
  auto client = std::make_unique<HttpClient>(std::move(host), port, std::move(options));
  client->uri_ = base;  // as the user spelled it
  return client;
}

Status HttpClient::ensure_connected() {
  if (connection_ && connection_->still_open()) return Status();
  connection_.reset();
  std::string cause;
  for (int attempt = 1;; ++attempt) {
    auto c = std::make_unique<Connection>();
    beast::error_code ec;
    tcp::resolver resolver(c->io);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), tcp::resolver::numeric_service, ec);
    if (!ec) {
      c->stream.expires_after(options_.connect_timeout);
      ec = c->run([&](auto handler) {
        c->stream.async_connect(endpoints, [handler](beast::error_code e, auto&&) mutable { handler(e); });
      });
    }
    if (!ec) c->stream.socket().set_option(tcp::no_delay(true), ec);
    if (!ec) c->stream.socket().non_blocking(true, ec);
    if (!ec) {
      c->stream.expires_never();
      c->socket = DeadlineSocket(c->stream.socket().native_handle());
      connection_ = std::move(c);
      return Status();
    }
    cause = ec == beast::error::timeout ? "connection timed out" : ec.message();
    if (attempt >= options_.connect_tries) break;
    std::this_thread::sleep_for(options_.retry_delay);
  }
  return Status::unavailable("cannot connect to " + address_ + ": " + cause);
}

Status HttpClient::failed(const std::string& what, const std::string& cause) {
  connection_.reset();
  return Status::io_error(what + " " + address_ + " failed: " + cause);
}

template <typename Request>
Status HttpClient::write(Request& req) {
  WATTLAB_RETURN_IF_ERROR(ensure_connected());
  Connection& c = *connection_;
  c.socket.set_deadline(std::chrono::steady_clock::now() + options_.io_timeout);
  beast::error_code ec;
  http::write(c.socket, req, ec);
  // A server that answers before reading the whole body (413) may close
  // while the body is still going out: its answer is then still to be read.
  if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
    return failed("sending a request to", cause_of(ec, options_.io_timeout));
  }
  return Status();
}

template <typename Parser>
Status HttpClient::read(Parser& parser) {
  parser.body_limit(std::numeric_limits<uint64_t>::max());  // (boost::none is broken in Boost 1.74)
  Connection& c = *connection_;
  if (!parser.is_done()) {
    beast::error_code ec;
    http::read(c.socket, c.buffer, parser, ec);
    if (ec) return failed("reading the answer of", cause_of(ec, options_.io_timeout));
  }
  if (!parser.get().keep_alive()) connection_.reset();
  return Status();
}

template <typename Parser>
Result<HttpResponse> HttpClient::read_response(Parser& parser) {
  WATTLAB_RETURN_IF_ERROR(read(parser));
  HttpResponse out = response_head(parser.get());
  out.body = std::move(parser.get().body());
  return out;
}

Result<HttpResponse> HttpClient::request(const std::string& method, const std::string& target,
                                         const std::string& body, const std::string& content_type,
                                         const HttpHeaders& headers) {
  std::lock_guard lock(mu_);
  http::request<http::string_body> req;
  set_head(req, method, target, address_, content_type, headers, options_.bearer_token);
  req.body() = body;
  if (!body.empty() || (method != "GET" && method != "HEAD")) req.prepare_payload();
  WATTLAB_RETURN_IF_ERROR(write(req));
  http::response_parser<http::string_body> parser;
  return read_response(parser);
}

Result<HttpResponse> HttpClient::put_file(const std::string& target, const std::string& path) {
  http::request<http::file_body> req;
  beast::error_code ec;
  req.body().open(path.c_str(), beast::file_mode::scan, ec);
  if (ec) return Status::not_found("cannot read " + path + ": " + ec.message());
  std::lock_guard lock(mu_);
  set_head(req, "PUT", target, address_, "application/octet-stream", {}, options_.bearer_token);
  req.prepare_payload();
  WATTLAB_RETURN_IF_ERROR(write(req));
  http::response_parser<http::string_body> parser;
  return read_response(parser);
}

Result<HttpResponse> HttpClient::get_to_file(const std::string& target, const std::string& path) {
  std::lock_guard lock(mu_);
  http::request<http::empty_body> req;
  set_head(req, "GET", target, address_, "", {}, options_.bearer_token);
  WATTLAB_RETURN_IF_ERROR(write(req));
  // The header first: only a 200's body goes to the file.
  http::response_parser<http::empty_body> head;
  head.body_limit(std::numeric_limits<uint64_t>::max());
  Connection& c = *connection_;
  beast::error_code ec;
  http::read_header(c.socket, c.buffer, head, ec);
  if (ec) return failed("reading the answer of", cause_of(ec, options_.io_timeout));
  if (head.get().result_int() != 200) {
    http::response_parser<http::string_body> rest(std::move(head));
    return read_response(rest);
  }
  const std::string part = path + ".part";
  http::response_parser<http::file_body> rest(std::move(head));
  rest.get().body().open(part.c_str(), beast::file_mode::write, ec);
  if (ec) {
    connection_.reset();  // the answer's body is still unread
    return Status::io_error("cannot write " + part + ": " + ec.message());
  }
  Status read_status = read(rest);
  rest.get().body().close();
  std::error_code renamed;
  if (read_status.ok()) std::filesystem::rename(part, path, renamed);
  if (!read_status.ok() || renamed) {
    std::error_code ignored;
    std::filesystem::remove(part, ignored);
    if (!read_status.ok()) return read_status.with_context("downloading to " + path);
    return Status::io_error("cannot write " + path + ": " + renamed.message());
  }
  return response_head(rest.get());
}

}  // namespace wattlab
