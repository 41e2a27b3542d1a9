// HttpClient: the one place where wattlab's client side speaks HTTP (to a
// wattlab server or an MLflow server). Everything above it — RestClient, the
// run logger, the run catalog, artifact transfers — sees only this class, so
// the HTTP library (cpp-httplib today) can be swapped by rewriting
// http_client.cpp alone.
//
// Contracts:
// - one keep-alive connection, requests serialised (thread-safe);
// - a request whose connection failed before anything was sent is retried
//   (3 tries, 0.2 s apart); nothing else is retried, so no write is ever
//   sent twice;
// - a transport failure is Unavailable naming the URI and the fix; any HTTP
//   answer, whatever its status, is a response (the caller judges it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

struct HttpResponse {
  int status = 0;            // HTTP status code
  std::string body;          // empty when streamed to a file (get_to_file)
  std::string content_type;  // the Content-Type header, "" when absent
};

class HttpClient {
 public:
  // `uri` is "http://host:port" (a trailing "/" is fine); `token`, when not
  // empty, is sent as "Authorization: Bearer <token>". InvalidArgument for
  // https (not supported yet: the message says how to proceed), for anything
  // that is not http://, or for a URI with a path. Connects lazily.
  static Result<std::unique_ptr<HttpClient>> connect(const std::string& uri, const std::string& token = "");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // "http://host:port", without a trailing slash.
  const std::string& uri() const { return uri_; }

  // `target` is the path and query ("/api/2.0/mlflow/runs/get?run_id=..."),
  // already encoded (see url_encode).
  Result<HttpResponse> get(const std::string& target);
  Result<HttpResponse> post(const std::string& target, const std::string& body, const std::string& content_type);
  Result<HttpResponse> put(const std::string& target, const std::string& body, const std::string& content_type);
  // PUTs the contents of the local file `path`, read in chunks (never whole
  // in memory). NotFound / IoError name the file.
  Result<HttpResponse> put_file(const std::string& target, const std::string& path);
  // GETs `target`; a 200 answer's body is written to `path` (through
  // path + ".part", renamed into place once complete), any other answer's
  // body is returned in the response as usual. IoError names the file.
  Result<HttpResponse> get_to_file(const std::string& target, const std::string& path);

 private:
  struct Connection;  // the library's client object
  HttpClient(std::string uri, std::string token);

  std::string uri_;
  std::mutex mu_;                           // serialises requests on connection_
  std::unique_ptr<Connection> connection_;
};

// Percent-encodes everything but unreserved characters (RFC 3986), for a
// query value; with keep_slashes, '/' stays (for a path).
std::string url_encode(const std::string& text, bool keep_slashes = false);
// "key=value&..." of `params`, each encoded.
std::string query_string(const std::map<std::string, std::string>& params);

}  // namespace wattlab
