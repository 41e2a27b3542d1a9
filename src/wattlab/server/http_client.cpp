#include "wattlab/server/http_client.h"

#include <utility>  // before Asio: Boost 1.74's asio/awaitable.hpp uses std::exchange without it

#include <poll.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

}  // namespace

struct HttpClient::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
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
    : host_(std::move(host)), port_(port), address_(host_ + ":" + std::to_string(port)), options_(options) {}

HttpClient::~HttpClient() = default;

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
      ec = c->run([&](auto handler) { c->stream.async_connect(endpoints, [handler](beast::error_code e, auto&&) mutable { handler(e); }); });
    }
    if (!ec) {
      c->stream.socket().set_option(tcp::no_delay(true), ec);
      connection_ = std::move(c);
      return Status();
    }
    cause = ec == beast::error::timeout ? "connection timed out" : ec.message();
    if (attempt >= options_.connect_tries) break;
    std::this_thread::sleep_for(options_.retry_delay);
  }
  return Status::unavailable("cannot connect to " + address_ + ": " + cause);
}

Result<HttpResponse> HttpClient::request(const std::string& method, const std::string& target,
                                         const std::string& body, const std::string& content_type,
                                         const HttpHeaders& headers) {
  WATTLAB_RETURN_IF_ERROR(ensure_connected());
  Connection& c = *connection_;
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(sendable_target(target));
  req.version(11);
  req.set(http::field::host, address_);
  req.set(http::field::user_agent, "wattlab");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = body;
  if (!body.empty() || (method != "GET" && method != "HEAD")) req.prepare_payload();

  auto failed = [&](const char* what, beast::error_code ec) {
    connection_.reset();
    return Status::io_error(std::string(what) + " " + address_ + " failed: " +
                            (ec == beast::error::timeout ? "no answer within " +
                                                               std::to_string(options_.io_timeout.count() / 1000) + " s"
                                                         : ec.message()));
  };
  c.stream.expires_after(options_.io_timeout);
  beast::error_code ec = c.run([&](auto handler) { http::async_write(c.stream, req, handler); });
  // A server that answers before reading the whole body (413) may close
  // while the body is still going out: its answer is then still to be read.
  if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
    return failed("sending a request to", ec);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<uint64_t>::max());  // (boost::none is broken in Boost 1.74)
  ec = c.run([&](auto handler) { http::async_read(c.stream, c.buffer, parser, handler); });
  if (ec) return failed("reading the answer of", ec);
  const auto& res = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    if (field.name() == http::field::content_type) out.content_type = std::string(field.value());
    else out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = res.body();
  if (!res.keep_alive()) connection_.reset();
  return out;
}

}  // namespace wattlab
