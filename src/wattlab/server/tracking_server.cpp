#include "wattlab/server/tracking_server.h"

#include <httplib.h>
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

namespace {

// /api/2.0/<api>/<endpoint> and /ajax-api/2.0/<api>/<endpoint>.
constexpr const char* kRoutePattern = R"(/(?:api|ajax-api)/2\.0/(mlflow|wattlab)/([A-Za-z0-9_\-/]+))";

void send(httplib::Response& res, const ApiResponse& r) {
  res.status = r.http_status;
  // Non-finite doubles cannot appear (they are encoded as strings); replace
  // invalid UTF-8 rather than throw.
  res.set_content(r.body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// Compares without an early exit so the time taken says nothing about the token.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

// Query parameters as MlflowApi expects them: strings, repeated ones as arrays.
json query_json(const httplib::Request& req) {
  json out = json::object();
  for (const auto& [key, value] : req.params) {
    auto it = out.find(key);
    if (it == out.end()) out[key] = value;
    else if (it->is_array()) it->push_back(value);
    else *it = json::array({it->get<std::string>(), value});
  }
  return out;
}

// The request being handled on this thread: when its headers were read and
// the endpoint label it counts under. httplib handles a connection's requests
// on one thread, from the pre-routing handler to the post-routing handler.
struct RequestContext {
  std::chrono::steady_clock::time_point start;
  bool started = false;
  std::string endpoint;  // a label from a bounded set; empty: "other"
};
thread_local RequestContext tl_request;

enum class BodyRead { kOk, kTooLarge, kFailed };

// Reads a request body through `reader`, keeping at most `limit` bytes in
// `*body`: the rest is read and dropped so that the connection stays usable,
// and the result is kTooLarge. kFailed when the body could not be read.
BodyRead read_body(const httplib::ContentReader& reader, size_t limit, std::string* body, ServerMetrics* metrics) {
  bool too_large = false;
  bool read = reader([&](const char* data, size_t length) {
    metrics->add_request_body_bytes(length);
    if (too_large) return true;
    if (body->size() + length > limit) {
      too_large = true;
      body->clear();
      body->shrink_to_fit();
      return true;
    }
    body->append(data, length);
    return true;
  });
  if (!read) return BodyRead::kFailed;
  return too_large ? BodyRead::kTooLarge : BodyRead::kOk;
}

ApiResponse body_too_large(size_t limit, const char* what) {
  return api_error("INVALID_PARAMETER_VALUE", std::string(what) + " is larger than " + std::to_string(limit) + " bytes");
}

// The response when a body could not be read: httplib's 413 when it exceeded
// the largest payload, 400 otherwise; the connection is closed either way.
void body_unreadable(httplib::Response& res) {
  const bool too_large = res.status == 413;
  send(res, too_large ? api_error("INVALID_PARAMETER_VALUE", "request body is too large")
                      : api_error("BAD_REQUEST", "the request body could not be read"));
  if (too_large) res.status = 413;
  res.set_header("Connection", "close");
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

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

TrackingServer::TrackingServer(Store* store, const ServerOptions& options, Clock* clock,
                               std::unique_ptr<ArtifactRoot> artifacts)
    : options_(options),
      artifacts_(std::move(artifacts)),
      metrics_(std::make_unique<ServerMetrics>(process_start_time_s())),
      api_(std::make_unique<MlflowApi>(store, clock, artifacts_.get(), metrics_.get())),
      http_(std::make_unique<httplib::Server>()) {}

TrackingServer::~TrackingServer() {
  stop();
  if (background_.joinable()) background_.join();
}

Result<std::unique_ptr<TrackingServer>> TrackingServer::bind(Store* store, const ServerOptions& options, Clock* clock) {
  if (!is_loopback_host(options.host) && options.token.empty()) {
    return Status::invalid_argument("refusing to listen on " + options.host +
                                    " without a token: anyone who can reach it could read and change every run — "
                                    "set --token or WATTLAB_TOKEN, or listen on 127.0.0.1");
  }
  if (options.port < 0 || options.port > 65535) {
    return Status::invalid_argument("port " + std::to_string(options.port) + " is not in 0..65535");
  }
  std::unique_ptr<ArtifactRoot> artifacts;
  if (!options.artifacts_dir.empty()) {
    auto root = ArtifactRoot::open(options.artifacts_dir);
    if (!root.ok()) return root.status();
    artifacts = std::move(root).value();
  }
  std::unique_ptr<TrackingServer> server(new TrackingServer(store, options, clock, std::move(artifacts)));
  server->install_routes();
  const std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (options.port == 0) {
    server->port_ = server->http_->bind_to_any_port(host);
    if (server->port_ <= 0) {
      return Status::unavailable("cannot listen on " + options.host + ": no free port or the address is not local");
    }
  } else {
    if (!server->http_->bind_to_port(host, options.port)) {
      return Status::unavailable("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                                 ": the port is in use or the address is not local — choose another with --port");
    }
    server->port_ = options.port;
  }
  return server;
}

namespace {

// Checks the bearer token (when one is set) in constant time.
class Authorizer {
 public:
  explicit Authorizer(std::string token) : token_(std::move(token)) {}
  bool operator()(const httplib::Request& req) const {
    if (token_.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    return header.rfind(prefix, 0) == 0 && constant_time_equal(header.substr(prefix.size()), token_);
  }
  static void refuse(httplib::Response& res) {
    send(res, api_error("UNAUTHENTICATED", "this server requires `Authorization: Bearer <token>`"));
    res.set_header("WWW-Authenticate", "Bearer");
  }

 private:
  std::string token_;
};

}  // namespace

void TrackingServer::install_routes() {
  httplib::Server& http = *http_;
  // httplib's own limit must admit the largest upload; every handler that
  // reads a body enforces its route's limit itself (read_body).
  const size_t max_body = options_.max_body_bytes;
  const size_t max_payload = artifacts_ ? std::max(max_body, options_.max_artifact_bytes) : max_body;
  http.set_payload_max_length(max_payload);
  http.set_keep_alive_max_count(1'000'000);  // long-lived clients log over one connection
  http.set_read_timeout(30, 0);
  http.set_tcp_nodelay(true);  // small JSON responses must not wait for delayed ACKs

  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would
  // let a second server silently share the port.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });

  ServerMetrics* metrics = metrics_.get();
  // Starts each request's clock; refuses a body on a method whose body httplib
  // would buffer whole (GET, ...) when it is larger than max_body_bytes.
  http.set_pre_routing_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    tl_request.start = std::chrono::steady_clock::now();
    tl_request.started = true;
    tl_request.endpoint.clear();
    const bool reads_own_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                                req.method == "DELETE";
    if (!reads_own_body && req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > max_body) {
      send(res, body_too_large(max_body, "request body"));
      res.status = 413;
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Called once a response is ready, before any of it is written: counts it,
  // so that a client holding a response always finds it counted on /metrics
  // (also when the server then closes the connection). The duration is the
  // time to produce the response; a streamed download's body is sent after.
  http.set_post_routing_handler([metrics](const httplib::Request&, httplib::Response& res) {
    double duration_s = -1;
    if (tl_request.started) {
      duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - tl_request.start).count();
    }
    metrics->record_request(tl_request.endpoint.empty() ? "other" : tl_request.endpoint, res.status, duration_s);
    tl_request.started = false;
    tl_request.endpoint.clear();
  });

  // Authentication is checked after the (bounded) body has been read, so an
  // unread body never stays on a kept-alive connection.
  const Authorizer authorized(options_.token);
  auto guarded = [authorized](httplib::Server::Handler handler) {
    return [authorized, handler](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req)) return Authorizer::refuse(res);
      handler(req, res);
    };
  };
  // The same for methods with a body: reads it (at most max_body bytes kept)
  // before checking the token.
  using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string& body)>;
  auto guarded_with_body = [authorized, max_body, metrics](BodyHandler handler) {
    return [authorized, max_body, metrics, handler](const httplib::Request& req, httplib::Response& res,
                                                    const httplib::ContentReader& reader) {
      std::string body;
      switch (read_body(reader, max_body, &body, metrics)) {
        case BodyRead::kOk: break;
        case BodyRead::kTooLarge:
          send(res, body_too_large(max_body, "request body"));
          res.status = 413;
          return;
        case BodyRead::kFailed: return body_unreadable(res);
      }
      if (!authorized(req)) return Authorizer::refuse(res);
      handler(req, res, body);
    };
  };

  // Fills in a JSON error for the responses httplib makes itself (unknown
  // path: 404; body too large: 413; unreadable request: 400).
  http.set_error_handler(httplib::Server::HandlerWithResponse([max_payload, authorized](
                                                                 const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const int status = res.status;
    if (status == 404 && !authorized(req)) {
      Authorizer::refuse(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    ApiResponse r;
    if (status == 404) r = api_error("ENDPOINT_NOT_FOUND", "no endpoint " + req.method + " " + req.path);
    else if (status == 413)
      r = api_error("INVALID_PARAMETER_VALUE", "request body is larger than " + std::to_string(max_payload) +
                                                   " bytes; send smaller batches");
    else r = api_error("BAD_REQUEST", "the request could not be read (HTTP " + std::to_string(status) + ")");
    send(res, r);
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));

  MlflowApi* api = api_.get();
  // Only endpoints that exist get a label of their own.
  auto label = [api](const std::string& name, const std::string& endpoint) {
    if (api->has_endpoint(name, endpoint)) tl_request.endpoint = name + "/" + endpoint;
  };
  http.Get(kRoutePattern, guarded([api, label](const httplib::Request& req, httplib::Response& res) {
             const std::string name = req.matches[1];
             const std::string endpoint = req.matches[2];
             label(name, endpoint);
             send(res, api->handle(req.method, name, endpoint, query_json(req)));
           }));
  http.Post(kRoutePattern, guarded_with_body([api, label](const httplib::Request& req, httplib::Response& res,
                                                          const std::string& body) {
              const std::string name = req.matches[1];
              const std::string endpoint = req.matches[2];
              label(name, endpoint);
              send(res, api->handle_body(req.method, name, endpoint, body));
            }));
  // Other methods on API paths: 405 with a JSON body.
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res, const std::string&) {
    ApiResponse r = api_error("BAD_REQUEST", "method " + req.method + " is not allowed; use GET or POST");
    send(res, r);
    res.status = 405;
  };
  http.Put(kRoutePattern, guarded_with_body(not_allowed));
  http.Delete(kRoutePattern, guarded_with_body(not_allowed));
  http.Patch(kRoutePattern, guarded_with_body(not_allowed));
  http.Get("/health", guarded([](const httplib::Request&, httplib::Response& res) {
             tl_request.endpoint = "health";
             send(res, ApiResponse{200, {{"status", "OK"}}});
           }));
  http.Get("/metrics", guarded([metrics](const httplib::Request&, httplib::Response& res) {
             tl_request.endpoint = "metrics";
             res.status = 200;
             res.set_content(metrics->exposition(), "text/plain; version=0.0.4; charset=utf-8");
           }));
  if (artifacts_) install_artifact_routes();
  // The web UI's files (ui_assets.h): "/", root files and assets/*; no token
  // (they hold no data). A path that names no file falls to the JSON 404.
  http.Get(R"(/|/[^/]+\.[A-Za-z0-9]+|/assets/[^/]+)", [](const httplib::Request& req, httplib::Response& res) {
    tl_request.endpoint = "ui";
    auto ui = ui_response(req.path, req.get_header_value("If-None-Match"));
    if (!ui) {
      res.status = 404;
      return;
    }
    res.status = ui->http_status;
    for (const auto& [name, value] : ui->headers) res.set_header(std::string(name), std::string(value));
    if (ui->http_status == 200) res.set_content(ui->body.data(), ui->body.size(), std::string(ui->content_type));
  });
}

void TrackingServer::install_artifact_routes() {
  httplib::Server& http = *http_;
  const ArtifactRoot* root = artifacts_.get();
  ServerMetrics* metrics = metrics_.get();
  const Authorizer authorized(options_.token);
  const size_t max_artifact = options_.max_artifact_bytes;
  // [\s\S]: any byte, so that hostile paths (newlines, NUL) reach the checks
  // in ArtifactRoot rather than falling through to a 404.
  const std::string kFile = R"(/(?:api|ajax-api)/2\.0/mlflow-artifacts/artifacts/([\s\S]*))";
  const std::string kList = R"(/(?:api|ajax-api)/2\.0/mlflow-artifacts/artifacts/?)";

  http.Put(kFile, [root, metrics, authorized, max_artifact](const httplib::Request& req, httplib::Response& res,
                                                           const httplib::ContentReader& reader) {
    tl_request.endpoint = "mlflow-artifacts/upload";
    const std::string path = req.matches[1];
    std::unique_ptr<ArtifactUpload> upload;
    const bool authenticated = authorized(req);
    Status refused;
    if (authenticated) {
      auto begun = root->begin_upload(path);
      if (begun.ok()) upload = std::move(begun).value();
      else refused = begun.status();
    }
    // Read the whole body even when refusing it, so the connection stays
    // usable; only an accepted upload keeps (up to max_artifact) bytes.
    uint64_t received = 0;
    bool too_large = false;
    Status write_status;
    bool read = reader([&](const char* data, size_t length) {
      metrics->add_request_body_bytes(length);
      received += length;
      if (!upload || too_large || !write_status.ok()) return true;
      if (received > max_artifact) {
        too_large = true;
        return true;
      }
      write_status = upload->append(data, length);
      return true;
    });
    if (!authenticated) return Authorizer::refuse(res);
    if (!refused.ok()) return send(res, api_error(refused));
    if (!read) return body_unreadable(res);  // the upload is discarded
    if (too_large) {
      send(res, body_too_large(max_artifact, "artifact upload"));
      res.status = 413;
      return;
    }
    if (!write_status.ok()) return send(res, api_error(write_status));
    Status committed = upload->commit();
    if (!committed.ok()) return send(res, api_error(committed));
    metrics->add_artifact_bytes_written(static_cast<uint64_t>(upload->bytes_written()));
    send(res, ApiResponse{200, json::object()});
  });

  http.Get(kFile, [root, authorized](const httplib::Request& req, httplib::Response& res) {
    tl_request.endpoint = "mlflow-artifacts/download";
    if (!authorized(req)) return Authorizer::refuse(res);
    const std::string path = req.matches[1];
    auto opened = root->open_file(path);
    if (!opened.ok()) return send(res, api_error(opened.status()));
    std::shared_ptr<ArtifactFile> file = std::move(opened).value();
    std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    for (char& c : name)
      if (c == '"' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
    res.status = 200;
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (file->size_bytes() == 0) return res.set_content("", artifact_content_type(path));
    res.set_content_provider(
        static_cast<size_t>(file->size_bytes()), artifact_content_type(path),
        [file](size_t offset, size_t length, httplib::DataSink& sink) {
          char buffer[64 * 1024];
          int64_t n = file->read_at(static_cast<int64_t>(offset), buffer, std::min(length, sizeof(buffer)));
          if (n <= 0) return false;  // shrunk or unreadable: abort the response
          return sink.write(buffer, static_cast<size_t>(n));
        });
  });

  http.Get(kList, [root, authorized](const httplib::Request& req, httplib::Response& res) {
    tl_request.endpoint = "mlflow-artifacts/list";
    if (!authorized(req)) return Authorizer::refuse(res);
    const std::string path = req.get_param_value("path");
    auto entries = root->list(path);
    if (!entries.ok()) return send(res, api_error(entries.status()));
    json out = json::object();
    if (!entries->empty()) {
      out["files"] = json::array();
      for (const auto& e : *entries) {
        json file = {{"path", e.name}, {"is_dir", e.is_dir}};
        if (!e.is_dir) file["file_size"] = e.size_bytes;
        out["files"].push_back(file);
      }
    }
    send(res, ApiResponse{200, out});
  });

  // DELETE removes a file or a folder with its contents (MLflow's
  // mlflow-artifacts DELETE), after reading (and dropping) any body.
  http.Delete(kFile, [root, metrics, authorized](const httplib::Request& req, httplib::Response& res,
                                                  const httplib::ContentReader& reader) {
    tl_request.endpoint = "mlflow-artifacts/delete";
    std::string ignored;
    if (read_body(reader, 0, &ignored, metrics) == BodyRead::kFailed) return body_unreadable(res);
    if (!authorized(req)) return Authorizer::refuse(res);
    Status removed = root->remove(req.matches[1]);
    send(res, removed.ok() ? ApiResponse{200, json::object()} : api_error(removed));
  });

  // Other methods: 405, after reading (and dropping) any body.
  auto not_allowed = [metrics, authorized](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
    tl_request.endpoint = "mlflow-artifacts/other";
    std::string ignored;
    if (read_body(reader, 0, &ignored, metrics) == BodyRead::kFailed) return body_unreadable(res);
    if (!authorized(req)) return Authorizer::refuse(res);
    send(res, api_error("BAD_REQUEST", "method " + req.method + " is not allowed on artifacts; use GET, PUT or DELETE"));
    res.status = 405;
  };
  http.Post(kFile, not_allowed);
  http.Patch(kFile, not_allowed);
}

Status TrackingServer::serve() {
  if (!http_->listen_after_bind()) {
    return Status::io_error("the server on port " + std::to_string(port_) + " stopped listening unexpectedly");
  }
  return Status();
}

void TrackingServer::start_background() {
  background_ = std::thread([this] {
    (void)serve();
    background_done_ = true;
  });
  while (!http_->is_running() && !background_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void TrackingServer::stop() {
  if (http_) http_->stop();
}

}  // namespace wattlab
