#include "wattlab/server/tracking_server.h"

#include <httplib.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "wattlab/server/mlflow_api.h"

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

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

TrackingServer::TrackingServer(Store* store, const ServerOptions& options, Clock* clock)
    : options_(options), api_(std::make_unique<MlflowApi>(store, clock)), http_(std::make_unique<httplib::Server>()) {}

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
  std::unique_ptr<TrackingServer> server(new TrackingServer(store, options, clock));
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

void TrackingServer::install_routes() {
  httplib::Server& http = *http_;
  http.set_payload_max_length(options_.max_body_bytes);
  http.set_keep_alive_max_count(1'000'000);  // long-lived clients log over one connection
  http.set_read_timeout(30, 0);
  http.set_tcp_nodelay(true);  // small JSON responses must not wait for delayed ACKs

  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would
  // let a second server silently share the port.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<void*>(&yes), sizeof(yes));
  });

  // Authentication is checked after the (bounded) body has been read, so an
  // unread body never stays on a kept-alive connection.
  const std::string token = options_.token;
  auto authorized = [token](const httplib::Request& req) {
    if (token.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    return header.rfind(prefix, 0) == 0 && constant_time_equal(header.substr(prefix.size()), token);
  };
  auto refuse = [](httplib::Response& res) {
    send(res, api_error("UNAUTHENTICATED", "this server requires `Authorization: Bearer <token>`"));
    res.set_header("WWW-Authenticate", "Bearer");
  };
  auto guarded = [authorized, refuse](httplib::Server::Handler handler) {
    return [authorized, refuse, handler](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req)) return refuse(res);
      handler(req, res);
    };
  };

  // Fills in a JSON error for the responses httplib makes itself (unknown
  // path: 404; body too large: 413; unreadable request: 400).
  const size_t max_body = options_.max_body_bytes;
  http.set_error_handler(httplib::Server::HandlerWithResponse([max_body, authorized, refuse](
                                                                 const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const int status = res.status;
    if (status == 404 && !authorized(req)) {
      refuse(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    ApiResponse r;
    if (status == 404) r = api_error("ENDPOINT_NOT_FOUND", "no endpoint " + req.method + " " + req.path);
    else if (status == 413)
      r = api_error("INVALID_PARAMETER_VALUE", "request body is larger than " + std::to_string(max_body) +
                                                   " bytes; send smaller batches");
    else r = api_error("BAD_REQUEST", "the request could not be read (HTTP " + std::to_string(status) + ")");
    send(res, r);
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));

  MlflowApi* api = api_.get();
  auto handler = [api](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const std::string endpoint = req.matches[2];
    json request = json::object();
    if (req.method == "GET") {
      request = query_json(req);
    } else if (!req.body.empty()) {
      request = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (request.is_discarded()) {
        send(res, api_error("BAD_REQUEST", "the request body is not valid JSON"));
        return;
      }
    }
    send(res, api->handle(req.method, name, endpoint, request));
  };
  http.Get(kRoutePattern, guarded(handler));
  http.Post(kRoutePattern, guarded(handler));
  // Other methods on API paths: 405 with a JSON body.
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    ApiResponse r = api_error("BAD_REQUEST", "method " + req.method + " is not allowed; use GET or POST");
    send(res, r);
    res.status = 405;
  };
  http.Put(kRoutePattern, guarded(not_allowed));
  http.Delete(kRoutePattern, guarded(not_allowed));
  http.Patch(kRoutePattern, guarded(not_allowed));
  http.Get("/health", guarded([](const httplib::Request&, httplib::Response& res) {
             send(res, ApiResponse{200, {{"status", "OK"}}});
           }));
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
