// A blocking HTTP/1.1 client over one keep-alive connection (Boost.Beast
// underneath, in http_client.cpp only): what RestRunLogger, the tests and
// the benchmarks talk to a wattlab server with.
//
// Contracts:
// - one request at a time (not thread-safe; RestRunLogger serialises);
// - a request is written at most once: a kept-alive connection that the
//   server has closed meanwhile is noticed before writing and replaced;
// - connecting is tried `connect_tries` times, `retry_delay` apart (nothing
//   has been sent then, so retrying is safe);
// - a target is sent as given, except that bytes a request line cannot carry
//   (controls, space, non-ASCII) are percent-encoded;
// - each request (writing it and reading the whole answer) must finish
//   within io_timeout.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/server/http_message.h"

namespace wattlab {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds io_timeout{120'000};
  int connect_tries = 1;
  std::chrono::milliseconds retry_delay{200};
};

class HttpClient {
 public:
  // Connects lazily, on the first request.
  HttpClient(std::string host, int port, HttpClientOptions options = {});
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

  // "host:port", for messages.
  const std::string& address() const { return address_; }

 private:
  struct Connection;
  // Connects (again) when there is no usable connection.
  Status ensure_connected();

  std::string host_;
  int port_;
  std::string address_;
  HttpClientOptions options_;
  std::unique_ptr<Connection> connection_;  // null until connected, and after a failure
};

}  // namespace wattlab
