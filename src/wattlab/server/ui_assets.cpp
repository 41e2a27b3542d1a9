#include "wattlab/server/ui_assets.h"

#include <cstdint>
#include <map>
#include <string>

#include "wattlab/server/ui_bundle.h"

namespace wattlab {

namespace {

std::string_view content_type_of(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},    {".svg", "image/svg+xml"},
      {".json", "application/json"},          {".png", "image/png"},
      {".ico", "image/x-icon"},               {".woff2", "font/woff2"},
      {".map", "application/json"},           {".txt", "text/plain; charset=utf-8"},
  };
  const size_t dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    auto it = kTypes.find(path.substr(dot));
    if (it != kTypes.end()) return it->second;
  }
  return "application/octet-stream";
}

// A file ready to serve: its bytes, type and validator.
struct Asset {
  std::string_view body;
  std::string_view content_type;
  bool immutable = false;  // a content-hashed name under assets/
  std::string etag;        // "\"<FNV-1a 64 of the bytes, hex>\""
};

std::string etag_of(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(hash >> shift) & 0xf];
  return out + "\"";
}

// "/<path>" -> asset, built once from the embedded bundle.
const std::map<std::string, Asset, std::less<>>& assets() {
  static const std::map<std::string, Asset, std::less<>> table = [] {
    std::map<std::string, Asset, std::less<>> out;
    for (size_t i = 0; i < ui_bundle::kFileCount; ++i) {
      const ui_bundle::EmbeddedFile& f = ui_bundle::kFiles[i];
      const std::string path = f.path;
      Asset a;
      a.body = std::string_view(reinterpret_cast<const char*>(f.data), f.size);
      a.content_type = content_type_of(path);
      a.immutable = path.rfind("assets/", 0) == 0;
      a.etag = etag_of(a.body);
      out["/" + path] = std::move(a);
    }
    return out;
  }();
  return table;
}

// Does the If-None-Match header name `etag` ("*", or a list of tags)?
bool names_etag(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  size_t at = 0;
  while (at < if_none_match.size()) {
    size_t comma = if_none_match.find(',', at);
    std::string_view item = if_none_match.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.rfind("W/", 0) == 0) item.remove_prefix(2);  // weak comparison, as RFC 9110 asks for If-None-Match
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return false;
}

// The page may load scripts, styles and data from the server only; uPlot
// sets inline style attributes, hence 'unsafe-inline' for styles alone.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

}  // namespace

std::optional<UiResponse> ui_response(std::string_view path, std::string_view if_none_match) {
  if (path == "/") path = "/index.html";
  const auto& table = assets();
  auto it = table.find(path);
  if (it == table.end()) return std::nullopt;
  const Asset& asset = it->second;
  UiResponse r;
  r.content_type = asset.content_type;
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"ETag", asset.etag});
  r.headers.push_back({"Cache-Control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache"});
  if (asset.content_type.rfind("text/html", 0) == 0) {
    r.headers.push_back({"Content-Security-Policy", kPagePolicy});
    r.headers.push_back({"Referrer-Policy", "no-referrer"});
  }
  if (names_etag(if_none_match, asset.etag)) {
    r.http_status = 304;
    return r;
  }
  r.body = asset.body;
  return r;
}

bool ui_is_built() { return ui_bundle::kBuilt; }

}  // namespace wattlab
