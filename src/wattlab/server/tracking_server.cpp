#include "wattlab/server/tracking_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "wattlab/server/mlflow_api.h"
#include "wattlab/server/server_metrics.h"
#include "wattlab/server/ui_assets.h"

namespace wattlab {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

HttpResponse json_response(const ApiResponse& r) {
  HttpResponse out;
  out.status = r.http_status;
  out.content_type = "application/json";
  // Non-finite doubles cannot appear (they are encoded as strings); replace
  // invalid UTF-8 rather than throw.
  out.body = r.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

HttpResponse error_response(const std::string& error_code, const std::string& message, int http_status = 0) {
  HttpResponse out = json_response(api_error(error_code, message));
  if (http_status) out.status = http_status;
  return out;
}

// Compares without an early exit so the time taken says nothing about the token.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

// Checks the bearer token (when one is set) in constant time. The scheme is
// case-insensitive (RFC 9110 11.1), followed by one or more spaces.
class Authorizer {
 public:
  explicit Authorizer(std::string token) : token_(std::move(token)) {}
  bool operator()(const HttpRequest& req) const {
    if (token_.empty()) return true;
    const std::string header = req.header("Authorization");
    constexpr std::string_view kScheme = "bearer";
    if (header.size() <= kScheme.size() || header[kScheme.size()] != ' ') return false;
    for (size_t i = 0; i < kScheme.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
    const size_t start = header.find_first_not_of(' ', kScheme.size());
    return start != std::string::npos && constant_time_equal(header.substr(start), token_);
  }
  static HttpResponse refuse() {
    HttpResponse r = error_response("UNAUTHENTICATED", "this server requires `Authorization: Bearer <token>`");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }

 private:
  std::string token_;
};

// Query parameters as MlflowApi expects them: strings, repeated ones as arrays.
json query_json(const HttpRequest& req) {
  json out = json::object();
  for (const auto& [key, value] : req.query) {
    auto it = out.find(key);
    if (it == out.end()) out[key] = value;
    else if (it->is_array()) it->push_back(value);
    else *it = json::array({it->get<std::string>(), value});
  }
  return out;
}

std::string query_value(const HttpRequest& req, const std::string& name) {
  for (const auto& [key, value] : req.query)
    if (key == name) return value;
  return "";
}

HttpResponse body_too_large(uint64_t limit, const char* what) {
  return error_response("INVALID_PARAMETER_VALUE",
                        std::string(what) + " is larger than " + std::to_string(limit) + " bytes; send less at once",
                        413);
}

// `path` less `prefix`; nullopt when it does not start with it.
std::optional<std::string> after(const std::string& path, std::string_view prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return path.substr(prefix.size());
}

// The part of an API path after "/api/2.0/" or "/ajax-api/2.0/".
std::optional<std::string> api_rest(const std::string& path) {
  if (auto rest = after(path, "/api/2.0/")) return rest;
  return after(path, "/ajax-api/2.0/");
}

// An MLflow endpoint name: [A-Za-z0-9_-/]+.
bool plausible_endpoint(const std::string& endpoint) {
  if (endpoint.empty()) return false;
  for (char c : endpoint) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '/') return false;
  }
  return true;
}

double unix_now_s() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The process's start time: from /proc/self/stat when readable, else now.
double process_start_time_s() {
  static const double start = [] {
    FILE* f = std::fopen("/proc/self/stat", "r");
    double boot_s = 0;
    if (FILE* up = std::fopen("/proc/uptime", "r")) {
      double uptime_s = 0;
      if (std::fscanf(up, "%lf", &uptime_s) == 1) boot_s = unix_now_s() - uptime_s;
      std::fclose(up);
    }
    if (!f || boot_s == 0) {
      if (f) std::fclose(f);
      return unix_now_s();
    }
    char buf[4096];
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Field 22 (starttime, in clock ticks after boot) follows the ')' that ends field 2.
    const char* p = std::strrchr(buf, ')');
    if (!p) return unix_now_s();
    unsigned long long ticks = 0;
    int field = 2;
    for (const char* q = p + 1; *q; ++q) {
      if (*q == ' ') {
        ++field;
        if (field == 22) {
          ticks = std::strtoull(q + 1, nullptr, 10);
          break;
        }
      }
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (ticks == 0 || hz <= 0) return unix_now_s();
    return boot_s + static_cast<double>(ticks) / static_cast<double>(hz);
  }();
  return start;
}

Status check_token(const std::string& token) {
  if (token.empty()) return Status();
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status::invalid_argument("the token holds a space or a control character, which HTTP headers cannot "
                                      "carry intact — use letters, digits and punctuation, e.g. `openssl rand -hex 24`");
    }
  }
  if (token.size() < kMinTokenLength) {
    return Status::invalid_argument("the token has " + std::to_string(token.size()) + " characters; use at least " +
                                    std::to_string(kMinTokenLength) + " (e.g. `openssl rand -hex 24`) so that it "
                                    "cannot be guessed");
  }
  return Status();
}

// Uploads a request body into the artifact root (see route_artifact).
class UploadExchange final : public HttpExchange {
 public:
  UploadExchange(std::unique_ptr<ArtifactUpload> upload, Status refused, bool authenticated, uint64_t max_bytes,
                 ServerMetrics* metrics, SteadyClock::time_point start)
      : upload_(std::move(upload)), refused_(std::move(refused)), authenticated_(authenticated),
        max_bytes_(max_bytes), metrics_(metrics), start_(start) {}

  uint64_t max_body_bytes() const override { return max_bytes_; }
  void append_body(const char* data, size_t length) override {
    metrics_->add_request_body_bytes(length);
    if (upload_ && write_status_.ok()) write_status_ = upload_->append(data, length);
  }
  HttpResponse respond(HttpRequest&) override { return count(answer()); }
  HttpResponse respond_too_large(HttpRequest&) override {
    upload_.reset();  // discards the partial file
    return count(authenticated_ ? body_too_large(max_bytes_, "artifact upload") : Authorizer::refuse());
  }

 private:
  HttpResponse answer() {
    if (!authenticated_) return Authorizer::refuse();
    if (!refused_.ok()) return json_response(api_error(refused_));
    if (!write_status_.ok()) return json_response(api_error(write_status_));
    Status committed = upload_->commit();
    if (!committed.ok()) return json_response(api_error(committed));
    metrics_->add_artifact_bytes_written(static_cast<uint64_t>(upload_->bytes_written()));
    return json_response(ApiResponse{200, json::object()});
  }
  HttpResponse count(HttpResponse r) {
    metrics_->record_request("mlflow-artifacts/upload", r.status,
                             std::chrono::duration<double>(SteadyClock::now() - start_).count());
    return r;
  }

  std::unique_ptr<ArtifactUpload> upload_;  // null when refused or unauthenticated
  Status refused_;                          // why begin_upload failed
  bool authenticated_;
  uint64_t max_bytes_;
  ServerMetrics* metrics_;
  SteadyClock::time_point start_;
  Status write_status_;  // the first failed append
};

}  // namespace

bool is_loopback_host(const std::string& host) {
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return false;
  bool loopback = true;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      loopback = loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      const bool mapped_loopback = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
      loopback = loopback && (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || mapped_loopback);
    } else {
      loopback = false;
    }
  }
  freeaddrinfo(found);
  return loopback;
}

TrackingServer::TrackingServer(Store* store, const ServerOptions& options, Clock* clock,
                               std::unique_ptr<ArtifactRoot> artifacts)
    : options_(options),
      artifacts_(std::move(artifacts)),
      metrics_(std::make_unique<ServerMetrics>(process_start_time_s())),
      api_(std::make_unique<MlflowApi>(store, clock, artifacts_.get(), metrics_.get())) {}

TrackingServer::~TrackingServer() {
  stop();
  if (background_.joinable()) background_.join();
}

Result<std::unique_ptr<TrackingServer>> TrackingServer::bind(Store* store, const ServerOptions& options, Clock* clock) {
  WATTLAB_RETURN_IF_ERROR(check_token(options.token));
  if (options.token.empty() && !is_loopback_host(options.host)) {
    return Status::invalid_argument("refusing to listen on " + options.host +
                                    " without a token: anyone who can reach it could read and change every run — "
                                    "set --token or WATTLAB_TOKEN, or listen on 127.0.0.1");
  }
  if (options.port < 0 || options.port > 65535) {
    return Status::invalid_argument("port " + std::to_string(options.port) + " is not in 0..65535");
  }
  if (options.threads < 1) return Status::invalid_argument("threads must be at least 1");
  std::unique_ptr<ArtifactRoot> artifacts;
  if (!options.artifacts_dir.empty()) {
    auto root = ArtifactRoot::open(options.artifacts_dir);
    if (!root.ok()) return root.status();
    artifacts = std::move(root).value();
  }
  std::unique_ptr<TrackingServer> server(new TrackingServer(store, options, clock, std::move(artifacts)));
  HttpServerOptions http_options;
  http_options.max_connections = options.max_connections;
  http_options.threads = options.threads;
  http_options.error_response = [](int status, const std::string& message) {
    return error_response(status == 503 ? "TEMPORARILY_UNAVAILABLE" : status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST",
                          message, status);
  };
  TrackingServer* self = server.get();
  auto http = HttpServer::bind(options.host == "localhost" ? "127.0.0.1" : options.host, options.port,
                               [self](const HttpRequest& head) { return self->route(head); }, http_options);
  if (!http.ok()) {
    return Status::unavailable(http.status().message() +
                               (options.port == 0 ? " — is the address local?"
                                                  : " — the port is in use or the address is not local; choose "
                                                    "another with --port"));
  }
  server->http_ = std::move(http).value();
  return server;
}

int TrackingServer::port() const { return http_->port(); }

std::unique_ptr<HttpExchange> TrackingServer::route(const HttpRequest& head) {
  const auto start = SteadyClock::now();
  ServerMetrics* metrics = metrics_.get();
  const Authorizer authorized(options_.token);
  const uint64_t max_body = options_.max_body_bytes;
  // A buffered exchange counted under `label` (its time: head read to
  // response made) that checks the token, unless `is_public`, before
  // `respond` runs.
  auto counted = [&](std::string label, std::function<HttpResponse(const HttpRequest&)> respond,
                     bool is_public = false) {
    auto finish = [metrics, label, start](HttpResponse r) {
      metrics->record_request(label, r.status, std::chrono::duration<double>(SteadyClock::now() - start).count());
      return r;
    };
    auto allowed = [authorized, is_public](const HttpRequest& req) { return is_public || authorized(req); };
    return buffered_exchange(
        max_body,
        [allowed, metrics, finish, respond = std::move(respond)](const HttpRequest& req) {
          metrics->add_request_body_bytes(req.body.size());
          return finish(allowed(req) ? respond(req) : Authorizer::refuse());
        },
        [allowed, max_body, finish](const HttpRequest& req) {
          return finish(allowed(req) ? body_too_large(max_body, "request body") : Authorizer::refuse());
        });
  };

  if (auto rest = api_rest(head.path)) {
    if (artifacts_) {
      if (auto artifact = after(*rest, "mlflow-artifacts/artifacts")) return route_artifact(head, *artifact);
    }
    const size_t slash = rest->find('/');
    const std::string name = rest->substr(0, slash);
    const std::string endpoint = slash == std::string::npos ? "" : rest->substr(slash + 1);
    if ((name == "mlflow" || name == "wattlab") && plausible_endpoint(endpoint)) {
      MlflowApi* api = api_.get();
      // Only endpoints that exist get a label of their own.
      std::string label = api->has_endpoint(name, endpoint) ? name + "/" + endpoint : "other";
      if (head.method == "GET") {
        return counted(label, [api, name, endpoint](const HttpRequest& req) {
          return json_response(api->handle("GET", name, endpoint, query_json(req)));
        });
      }
      if (head.method == "POST") {
        return counted(label, [api, name, endpoint](const HttpRequest& req) {
          return json_response(api->handle_body("POST", name, endpoint, req.body));
        });
      }
      return counted(label, [](const HttpRequest& req) {
        return error_response("BAD_REQUEST", "method " + req.method + " is not allowed; use GET or POST", 405);
      });
    }
  }
  if (head.path == "/health" && head.method == "GET") {
    return counted("health", [](const HttpRequest&) { return json_response(ApiResponse{200, {{"status", "OK"}}}); });
  }
  if (head.path == "/metrics" && head.method == "GET") {
    return counted("metrics", [metrics](const HttpRequest&) {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics->exposition();
      return r;
    });
  }
  // The web UI's files (ui_assets.h): no token, they hold no data. A path
  // that names no file falls through to the JSON 404.
  if (head.method == "GET") {
    if (auto ui = ui_response(head.path, head.header("If-None-Match"))) {
      return counted("ui", [ui = *ui](const HttpRequest&) {
        HttpResponse r;
        r.status = ui.http_status;
        for (const auto& [name, value] : ui.headers) r.headers.emplace_back(name, value);
        if (ui.http_status == 200) {
          r.content_type = ui.content_type;
          r.body = ui.body;
        }
        return r;
      }, /*is_public=*/true);
    }
  }
  return counted("other", [](const HttpRequest& req) {
    return error_response("ENDPOINT_NOT_FOUND", "no endpoint " + req.method + " " + req.path);
  });
}

// MLflow's artifact proxy. `rest` follows ".../mlflow-artifacts/artifacts":
// empty for the listing (GET ...artifacts?path=<dir>), "/<path>" for a file.
std::unique_ptr<HttpExchange> TrackingServer::route_artifact(const HttpRequest& head, const std::string& rest) {
  const auto start = SteadyClock::now();
  ServerMetrics* metrics = metrics_.get();
  const ArtifactRoot* root = artifacts_.get();
  const Authorizer authorized(options_.token);
  const uint64_t max_body = options_.max_body_bytes;
  auto counted = [&](const char* label, std::function<HttpResponse(const HttpRequest&)> respond) {
    auto finish = [metrics, label, start](HttpResponse r) {
      metrics->record_request(label, r.status, std::chrono::duration<double>(SteadyClock::now() - start).count());
      return r;
    };
    return buffered_exchange(
        max_body,
        [authorized, finish, respond = std::move(respond)](const HttpRequest& req) {
          return finish(authorized(req) ? respond(req) : Authorizer::refuse());
        },
        [authorized, max_body, finish](const HttpRequest& req) {
          return finish(authorized(req) ? body_too_large(max_body, "request body") : Authorizer::refuse());
        });
  };

  if (rest.empty() && head.method == "GET") {
    return counted("mlflow-artifacts/list", [root](const HttpRequest& req) {
      auto entries = root->list(query_value(req, "path"));
      if (!entries.ok()) return json_response(api_error(entries.status()));
      json out = json::object();
      if (!entries->empty()) {
        out["files"] = json::array();
        for (const auto& e : *entries) {
          json file = {{"path", e.name}, {"is_dir", e.is_dir}};
          if (!e.is_dir) file["file_size"] = e.size_bytes;
          out["files"].push_back(file);
        }
      }
      return json_response(ApiResponse{200, out});
    });
  }
  if (rest.empty() || rest[0] != '/') {
    return counted("other", [](const HttpRequest& req) {
      return error_response("ENDPOINT_NOT_FOUND", "no endpoint " + req.method + " " + req.path);
    });
  }
  const std::string path = rest.substr(1);  // after the '/'

  if (head.method == "PUT") {
    // Unauthenticated or refused uploads are read and dropped, never written.
    const bool authenticated = authorized(head);
    std::unique_ptr<ArtifactUpload> upload;
    Status refused;
    if (authenticated) {
      auto begun = root->begin_upload(path);
      if (begun.ok()) upload = std::move(begun).value();
      else refused = begun.status();
    }
    return std::make_unique<UploadExchange>(std::move(upload), refused, authenticated, options_.max_artifact_bytes,
                                            metrics, start);
  }
  if (head.method == "GET") {
    return counted("mlflow-artifacts/download", [root, path](const HttpRequest&) {
      auto opened = root->open_file(path);
      if (!opened.ok()) return json_response(api_error(opened.status()));
      std::shared_ptr<ArtifactFile> file = std::move(opened).value();
      std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
      for (char& c : name)
        if (c == '"' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
      HttpResponse r;
      r.content_type = artifact_content_type(path);
      r.headers = {{"Content-Disposition", "attachment; filename=\"" + name + "\""},
                   {"X-Content-Type-Options", "nosniff"}};
      r.streamed_size = file->size_bytes();
      r.read_body = [file](int64_t offset, char* out, size_t length) { return file->read_at(offset, out, length); };
      return r;
    });
  }
  // DELETE removes a file or a folder with its contents (MLflow's
  // mlflow-artifacts DELETE).
  if (head.method == "DELETE") {
    return counted("mlflow-artifacts/delete", [root, path](const HttpRequest&) {
      Status removed = root->remove(path);
      return removed.ok() ? json_response(ApiResponse{200, json::object()}) : json_response(api_error(removed));
    });
  }
  return counted("mlflow-artifacts/other", [](const HttpRequest& req) {
    return error_response("BAD_REQUEST",
                          "method " + req.method + " is not allowed on artifacts; use GET, PUT or DELETE", 405);
  });
}

Status TrackingServer::serve() {
  http_->serve();
  return Status();
}

void TrackingServer::start_background() {
  background_ = std::thread([this] { http_->serve(); });
}

void TrackingServer::stop() {
  if (http_) http_->stop();
}

}  // namespace wattlab
