#include "wattlab/server/http_client.h"

#include <httplib.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace wattlab {

namespace {

constexpr int kConnectTries = 3;

}  // namespace

struct HttpClient::Connection {
  explicit Connection(const std::string& uri) : client(uri) {}
  httplib::Client client;
};

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
  std::unique_ptr<HttpClient> client(new HttpClient(base, token));
  return client;
}

HttpClient::HttpClient(std::string uri, std::string token)
    : uri_(std::move(uri)), connection_(std::make_unique<Connection>(uri_)) {
  httplib::Client& c = connection_->client;
  c.set_keep_alive(true);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(120, 0);
  c.set_write_timeout(120, 0);
  if (!token.empty()) c.set_bearer_token_auth(token);
}

HttpClient::~HttpClient() = default;

namespace {

// Sends one request with `send`, retrying a connection that failed before
// the request went out, and turns the answer into an HttpResponse.
template <typename Send>
Result<HttpResponse> send_with_retry(const std::string& uri, Send send) {
  for (int attempt = 1;; ++attempt) {
    httplib::Result res = send();
    if (!res) {
      if (res.error() == httplib::Error::Connection && attempt < kConnectTries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      return Status::unavailable("cannot reach the tracking server at " + uri + " (" +
                                 httplib::to_string(res.error()) + ") — is the server running there?");
    }
    HttpResponse out;
    out.status = res->status;
    out.body = std::move(res->body);
    out.content_type = res->get_header_value("Content-Type");
    return out;
  }
}

}  // namespace

Result<HttpResponse> HttpClient::get(const std::string& target) {
  std::lock_guard lock(mu_);
  return send_with_retry(uri_, [&] { return connection_->client.Get(target.c_str()); });
}

Result<HttpResponse> HttpClient::post(const std::string& target, const std::string& body,
                                      const std::string& content_type) {
  std::lock_guard lock(mu_);
  return send_with_retry(uri_, [&] { return connection_->client.Post(target.c_str(), body, content_type.c_str()); });
}

Result<HttpResponse> HttpClient::put(const std::string& target, const std::string& body,
                                     const std::string& content_type) {
  std::lock_guard lock(mu_);
  return send_with_retry(uri_, [&] { return connection_->client.Put(target.c_str(), body, content_type.c_str()); });
}

Result<HttpResponse> HttpClient::put_file(const std::string& target, const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::not_found("cannot read " + path + ": " + ec.message());
  std::lock_guard lock(mu_);
  return send_with_retry(uri_, [&] {
    // Reopened per try: a retry starts from the file's beginning.
    auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
    return connection_->client.Put(
        target.c_str(), static_cast<size_t>(size),
        [in](size_t offset, size_t length, httplib::DataSink& sink) {
          char buffer[64 * 1024];
          in->seekg(static_cast<std::streamoff>(offset));
          in->read(buffer, static_cast<std::streamsize>(std::min(length, sizeof buffer)));
          const std::streamsize n = in->gcount();
          if (n <= 0) return false;  // shrunk or unreadable: abort the request
          return sink.write(buffer, static_cast<size_t>(n));
        },
        "application/octet-stream");
  });
}

Result<HttpResponse> HttpClient::get_to_file(const std::string& target, const std::string& path) {
  const std::string part = path + ".part";
  std::lock_guard lock(mu_);
  for (int attempt = 1;; ++attempt) {
    std::ofstream out;
    std::string error_body;
    int status = 0;
    std::string content_type;
    bool write_failed = false;
    httplib::Result res = connection_->client.Get(
        target.c_str(),
        [&](const httplib::Response& response) {
          status = response.status;
          content_type = response.get_header_value("Content-Type");
          if (status == 200) out.open(part, std::ios::binary | std::ios::trunc);
          return status != 200 || out.is_open();
        },
        [&](const char* data, size_t length) {
          if (status != 200) {
            error_body.append(data, length);
            return true;
          }
          out.write(data, static_cast<std::streamsize>(length));
          write_failed = !out;
          return !write_failed;
        });
    if (!res && status == 200 && (write_failed || !out.is_open())) {
      std::filesystem::remove(part);
      return Status::io_error("cannot write " + part);
    }
    if (!res) {
      std::filesystem::remove(part);
      if (res.error() == httplib::Error::Connection && attempt < kConnectTries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      return Status::unavailable("cannot reach the tracking server at " + uri_ + " (" +
                                 httplib::to_string(res.error()) + ") — is the server running there?");
    }
    HttpResponse response;
    response.status = res->status;
    response.content_type = content_type;
    if (res->status != 200) {
      response.body = std::move(error_body);
      return response;
    }
    out.close();
    std::error_code ec;
    std::filesystem::rename(part, path, ec);
    if (!out || ec) {
      std::filesystem::remove(part);
      return Status::io_error("cannot write " + path + (ec ? ": " + ec.message() : ""));
    }
    return response;
  }
}

std::string url_encode(const std::string& text, bool keep_slashes) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string query_string(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [key, value] : params) out += (out.empty() ? "" : "&") + url_encode(key) + "=" + url_encode(value);
  return out;
}

}  // namespace wattlab
