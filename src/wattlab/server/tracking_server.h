// The wattlab tracking server: MlflowApi over HTTP (cpp-httplib).
//
// Serves /api/2.0/mlflow/... and /ajax-api/2.0/mlflow/... (MLflow's REST API)
// and /api/2.0/wattlab/... (wattlab's read endpoints). Contracts:
// - binds 127.0.0.1 unless told otherwise, and refuses any non-loopback
//   address without a bearer token;
// - when a token is set, every request must carry `Authorization: Bearer T`
//   (401 UNAUTHENTICATED otherwise);
// - request bodies larger than max_body_bytes (artifact uploads: larger than
//   max_artifact_bytes) are refused with 413 and INVALID_PARAMETER_VALUE; at
//   most that much of a body is ever held (the rest is read and dropped);
// - with an artifact root, serves MLflow's artifact proxy
//   (/api/2.0/mlflow-artifacts/artifacts/<path>: PUT uploads, GET downloads,
//   GET ...artifacts?path=<dir> lists) and /api/2.0/mlflow/artifacts/list;
//   paths are confined to the root (see ArtifactRoot);
// - /metrics serves the server's metrics in Prometheus text format (see
//   ServerMetrics), under the same authentication as everything else;
// - every response is JSON but artifact downloads and /metrics (errors are
//   JSON there too); every write (an artifact: its rename into place) is
//   committed before its response is sent, so stop() loses nothing that was
//   acknowledged.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/server/artifact_root.h"
#include "wattlab/server/server_metrics.h"
#include "wattlab/track/store.h"

namespace httplib {
class Server;
}

namespace wattlab {

class MlflowApi;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 5000;                         // 0 picks a free port (see TrackingServer::port)
  std::string token;                       // bearer token; empty: no authentication (loopback only)
  size_t max_body_bytes = 16 * 1024 * 1024;  // larger request bodies get 413
  std::string artifacts_dir;               // artifact root (created if missing); empty: artifacts not served
  size_t max_artifact_bytes = size_t{1024} * 1024 * 1024;  // larger artifact uploads get 413
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

class TrackingServer {
 public:
  // Checks `options`, opens the artifact root and binds the listening socket.
  // InvalidArgument for a non-loopback host without a token; IoError or
  // PermissionDenied when the artifact root cannot be created; Unavailable
  // when the address cannot be bound (in use, not local). `store` and `clock`
  // must outlive the server.
  static Result<std::unique_ptr<TrackingServer>> bind(Store* store, const ServerOptions& options,
                                                      Clock* clock = nullptr);
  ~TrackingServer();  // stops and joins
  TrackingServer(const TrackingServer&) = delete;
  TrackingServer& operator=(const TrackingServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return port_; }
  // Serves requests on the calling thread until stop(). IoError if the
  // listener fails.
  Status serve();
  // Serves on a background thread (for tests and embedding); stop() or the
  // destructor ends it.
  void start_background();
  // Stops accepting, finishes requests in flight, and makes serve() return.
  // Thread-safe; idempotent.
  void stop();
  // The counters behind /metrics.
  const ServerMetrics& metrics() const { return *metrics_; }

 private:
  TrackingServer(Store* store, const ServerOptions& options, Clock* clock, std::unique_ptr<ArtifactRoot> artifacts);
  void install_routes();
  void install_artifact_routes();

  ServerOptions options_;
  std::unique_ptr<ArtifactRoot> artifacts_;  // null when artifacts are not served
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<MlflowApi> api_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::thread background_;                 // runs serve() after start_background()
  std::atomic<bool> background_done_{false};  // serve() on background_ has returned
};

}  // namespace wattlab
