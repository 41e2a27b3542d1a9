// The wattlab tracking server: MlflowApi over HTTP (HttpServer).
//
// Serves /api/2.0/mlflow/... and /ajax-api/2.0/mlflow/... (MLflow's REST API)
// and /api/2.0/wattlab/... (wattlab's read endpoints). Contracts:
// - binds 127.0.0.1 unless told otherwise, and refuses an address that does
//   not resolve to loopback only without a bearer token; a token must be at
//   least kMinTokenLength characters, without spaces or control characters;
// - when a token is set, every request must carry `Authorization: Bearer T`
//   (the scheme in any case; 401 UNAUTHENTICATED otherwise);
// - hundreds of clients at once, and idle or slow ones, cost no thread each
//   (see HttpServer for the timeouts and the connection limit);
// - request bodies larger than max_body_bytes (artifact uploads: larger than
//   max_artifact_bytes) are refused with 413 and INVALID_PARAMETER_VALUE,
//   and the connection is closed; at most that much of a body is ever held;
// - with an artifact root, serves MLflow's artifact proxy
//   (/api/2.0/mlflow-artifacts/artifacts/<path>: PUT uploads, GET downloads,
//   GET ...artifacts?path=<dir> lists) and /api/2.0/mlflow/artifacts/list;
//   paths are confined to the root (see ArtifactRoot);
// - /metrics serves the server's metrics in Prometheus text format (see
//   ServerMetrics), under the same authentication as everything else;
// - every response is JSON but artifact downloads and /metrics (errors are
//   JSON there too); no error message shows a server-side path: errors the
//   client cannot fix are INTERNAL_ERROR with a generic message, their
//   detail written to stderr;
// - every write (an artifact: its rename into place) is committed before its
//   response is sent, so stop() loses nothing that was acknowledged.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/server/artifact_root.h"
#include "wattlab/server/http_server.h"
#include "wattlab/server/server_metrics.h"
#include "wattlab/track/store.h"

namespace wattlab {

class MlflowApi;

// The shortest bearer token a server accepts.
inline constexpr size_t kMinTokenLength = 16;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 5000;                         // 0 picks a free port (see TrackingServer::port)
  std::string token;                       // bearer token; empty: no authentication (loopback only)
  size_t max_body_bytes = 16 * 1024 * 1024;  // larger request bodies get 413
  std::string artifacts_dir;               // artifact root (created if missing); empty: artifacts not served
  size_t max_artifact_bytes = size_t{1024} * 1024 * 1024;  // larger artifact uploads get 413
  size_t max_connections = 10000;          // see HttpServerOptions (also bounded by the descriptor limit)
  int threads = 16;                        // lanes serving connections (HttpServerOptions::threads)
};

// True when `host` is a loopback name or address: every address it resolves
// to is in 127.0.0.0/8 or is ::1. False when it does not resolve.
bool is_loopback_host(const std::string& host);

class TrackingServer {
 public:
  // Checks `options`, opens the artifact root (removing uploads that a
  // killed server left unfinished) and binds the listening socket.
  // InvalidArgument for a non-loopback host without a token or a token
  // that is too short; IoError or PermissionDenied when the artifact root
  // cannot be created; Unavailable when the address cannot be bound (in
  // use, not local). `store` and `clock` must outlive the server.
  static Result<std::unique_ptr<TrackingServer>> bind(Store* store, const ServerOptions& options,
                                                      Clock* clock = nullptr);
  ~TrackingServer();  // stops and joins
  TrackingServer(const TrackingServer&) = delete;
  TrackingServer& operator=(const TrackingServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Serves requests on the calling thread until stop().
  Status serve();
  // Serves on a background thread (for tests and embedding); stop() or the
  // destructor ends it.
  void start_background();
  // Stops accepting, finishes requests in flight, and makes serve() return.
  // Thread-safe; idempotent; safe before serve().
  void stop();
  // The counters behind /metrics.
  const ServerMetrics& metrics() const { return *metrics_; }

 private:
  TrackingServer(Store* store, const ServerOptions& options, Clock* clock, std::unique_ptr<ArtifactRoot> artifacts);
  // The exchange for a request, by its path and method.
  std::unique_ptr<HttpExchange> route(const HttpRequest& head);
  std::unique_ptr<HttpExchange> route_artifact(const HttpRequest& head, const std::string& rest);

  ServerOptions options_;
  std::unique_ptr<ArtifactRoot> artifacts_;  // null when artifacts are not served
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<MlflowApi> api_;
  std::unique_ptr<HttpServer> http_;       // destroyed before api_, which its threads call
  std::thread background_;                 // runs serve() after start_background()
};

}  // namespace wattlab
