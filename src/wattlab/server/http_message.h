// HTTP requests and responses as wattlab's server (http_server.h) and client
// (http_client.h) exchange them, independent of the HTTP library (Boost.Beast,
// used in http_server.cpp and http_client.cpp only), and the URL encoding
// both sides share.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wattlab {

// Header fields in the order sent; names as sent (compare them with
// find_header, which ignores ASCII case).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first field called `name` (ASCII case-insensitive); empty
// when there is none.
std::string find_header(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // as sent: "/api/2.0/mlflow/runs/get?run_id=..."
  std::string path;    // the target up to '?', percent-decoded ('+' stays '+'); any byte, NUL included
  std::vector<std::pair<std::string, std::string>> query;  // decoded ('+' is a space), in order
  HttpHeaders headers;
  std::string body;  // the body, when the exchange buffers it (buffered_exchange)

  std::string header(std::string_view name) const { return find_header(headers, name); }
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty: no Content-Type
  std::string body;
  HttpHeaders headers;  // fields besides Content-Type and Content-Length

  // Server side only: a body of `streamed_size` bytes produced by
  // read_body(offset, out, length) -> bytes written to `out` (at most
  // `length`; 0 or less aborts the response by closing the connection)
  // instead of `body`. -1: `body` is the body.
  int64_t streamed_size = -1;
  std::function<int64_t(int64_t offset, char* out, size_t length)> read_body;

  // Content-Type, or the first other field called `name` (ASCII
  // case-insensitive); empty when there is none.
  std::string header(std::string_view name) const;
};

// Decodes %XX escapes (a malformed escape stays as written); with
// `plus_is_space`, '+' decodes to ' ' (query strings).
std::string percent_decode(std::string_view text, bool plus_is_space);
// Escapes every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~):
// a query parameter's value; with `keep_slashes`, '/' stays as well (a path
// in a target).
std::string percent_encode(std::string_view text, bool keep_slashes = false);
// {{"a", "1"}, {"b", "x y"}} -> "a=1&b=x%20y", names and values
// percent-encoded (parse_query's inverse).
std::string query_string(const std::map<std::string, std::string>& params);
// "a=1&b=x%20y" -> {{"a", "1"}, {"b", "x y"}}; a name without '=' gets "".
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace wattlab
