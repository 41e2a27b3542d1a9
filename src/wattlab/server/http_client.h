// A blocking HTTP/1.1 client over one keep-alive connection (Boost.Beast
// underneath, in http_client.cpp only): the one place where wattlab's client
// side speaks HTTP — RestClient (and through it the run logger, the run
// catalog and artifact transfers), the tests and the benchmarks.
//
// Contracts:
// - thread-safe: requests on one client are serialised (one at a time on
//   its connection);
// - a request is written at most once: a kept-alive connection that the
//   server has closed meanwhile is noticed before writing and replaced;
// - connecting is tried `connect_tries` times, `retry_delay` apart (nothing
//   has been sent then, so retrying is safe); nothing else is retried;
// - a target is sent as given, except that bytes a request line cannot carry
//   (controls, space, non-ASCII) are percent-encoded;
// - each request (writing it and reading the whole answer, file transfers
//   included) must finish within io_timeout;
// - any HTTP answer, whatever its status, is a response (the caller judges it).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/server/http_message.h"

namespace wattlab {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds io_timeout{120'000};
  int connect_tries = 1;
  std::chrono::milliseconds retry_delay{200};
  // When not empty, every request carries "Authorization: Bearer <token>"
  // (unless its `headers` name an Authorization of their own).
  std::string bearer_token;
};

class HttpClient {
 public:
  // Connects lazily, on the first request.
  HttpClient(std::string host, int port, HttpClientOptions options = {});
  // A client of a tracking server: `uri` is "http://host[:port]" (a trailing
  // "/" is fine; port 80 when none; "[v6]" hosts), `token`, when not empty,
  // the bearer token. 3 connection tries 0.2 s apart, 5 s to connect, 120 s
  // per request. InvalidArgument for https (not supported yet: the message
  // says how to proceed), for anything that is not http://, for a URI with a
  // path, or a bad port.
  static Result<std::unique_ptr<HttpClient>> connect(const std::string& uri, const std::string& token = "");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method` `target` with `body` (and Content-Type `content_type`
  // when not empty) plus `headers`, and reads the answer, whatever its
  // status. Unavailable when no connection could be made (nothing was
  // sent); IoError when the connection failed or timed out afterwards (the
  // server may have acted on the request). Both name host:port and the cause.
  Result<HttpResponse> request(const std::string& method, const std::string& target, const std::string& body = "",
                               const std::string& content_type = "", const HttpHeaders& headers = {});
  Result<HttpResponse> get(const std::string& target, const HttpHeaders& headers = {}) {
    return request("GET", target, "", "", headers);
  }
  Result<HttpResponse> post(const std::string& target, const std::string& body,
                            const std::string& content_type = "application/json", const HttpHeaders& headers = {}) {
    return request("POST", target, body, content_type, headers);
  }
  Result<HttpResponse> put(const std::string& target, const std::string& body,
                           const std::string& content_type = "application/octet-stream",
                           const HttpHeaders& headers = {}) {
    return request("PUT", target, body, content_type, headers);
  }
  // PUTs the contents of the local file `path` (application/octet-stream),
  // streamed from the file (never whole in memory). NotFound names an
  // unreadable file; otherwise as request().
  Result<HttpResponse> put_file(const std::string& target, const std::string& path);
  // GETs `target`; a 200 answer's body is streamed to `path` (through
  // path + ".part", renamed into place once complete, removed on failure) and
  // left out of the response; any other answer's body is in the response as
  // usual. IoError names a file that cannot be written; otherwise as request().
  Result<HttpResponse> get_to_file(const std::string& target, const std::string& path);

  // "host:port", for messages.
  const std::string& address() const { return address_; }
  // "http://host:port" (connect()'s `uri` without a trailing "/"), for messages.
  const std::string& uri() const { return uri_; }

 private:
  struct Connection;
  // Connects (again) when there is no usable connection. Caller holds mu_.
  Status ensure_connected();
  // Connects when needed and writes `req` (a Beast request) once, under
  // io_timeout. Caller holds mu_.
  template <typename Request>
  Status write(Request& req);
  // Reads the rest of an answer into `parser` (a Beast response parser),
  // still under write()'s io_timeout. Caller holds mu_.
  template <typename Parser>
  Status read(Parser& parser);
  // read(), then the answer (its body as text, `parser` holding a string
  // body) as an HttpResponse. Caller holds mu_.
  template <typename Parser>
  Result<HttpResponse> read_response(Parser& parser);
  // Drops the connection; IoError "<what> host:port failed: <cause>".
  Status failed(const std::string& what, const std::string& cause);

  std::string host_;
  int port_;
  std::string address_;
  std::string uri_;
  HttpClientOptions options_;
  std::mutex mu_;                           // serialises requests on connection_
  std::unique_ptr<Connection> connection_;  // null until connected, and after a failure
};

}  // namespace wattlab
