// The web UI's files (ui/), embedded in the binary at build time, as HTTP
// responses: "GET path -> bytes + content type + cache headers", with nothing
// of any HTTP library, so the server can serve them whatever it is built on.
//
// The build turns Vite's output (ui/dist: index.html, favicon.svg,
// assets/<name>-<hash>.js|css) into a C++ source (ui/embed_files.cmake); a
// build without npm embeds one placeholder page saying how to build the UI.
// Contracts:
// - "/" and "/index.html" are the page; every other embedded file is served
//   at "/<its path>"; anything else is not a UI path (nullopt), so the
//   server answers it as it would without a UI;
// - files under assets/ carry a content hash in their names and are cached
//   for a year ("immutable"); the rest (the page) must be revalidated
//   ("no-cache") and carry an ETag, answered with 304 when If-None-Match
//   names it;
// - every response says nosniff, and the page a Content-Security-Policy
//   allowing only the server's own origin (no CDN, no inline script).
// The files hold no data, so they are served without the bearer token; the
// page asks for the token and sends it with every API call.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace wattlab {

struct UiResponse {
  int http_status = 200;  // 200, or 304 when If-None-Match named the file's ETag
  std::string_view content_type;
  std::string_view body;  // static: points into the embedded bundle; empty for 304
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // Cache-Control, ETag, ...
};

// The response to GET `path` (the request path, no query string), or
// nullopt when `path` names no UI file. `if_none_match` is the request's
// If-None-Match header ("" when absent).
std::optional<UiResponse> ui_response(std::string_view path, std::string_view if_none_match);

// True when the embedded UI is the built front end, false for the
// placeholder page of a build without npm.
bool ui_is_built();

}  // namespace wattlab
