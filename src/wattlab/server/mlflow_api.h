// The MLflow tracking REST API 2.0 (and wattlab's own read endpoints) as a
// function from (method, endpoint, request JSON) to (HTTP status, response
// JSON), independent of any HTTP library: the server calls it, tests can too.
//
// Request and response shapes, defaults, limits and error codes follow
// MLflow's REST API: errors are {"error_code": ..., "message": ...} with
// INVALID_PARAMETER_VALUE / RESOURCE_ALREADY_EXISTS / BAD_REQUEST -> 400,
// RESOURCE_DOES_NOT_EXIST / ENDPOINT_NOT_FOUND -> 404, INTERNAL_ERROR -> 500.
// Request bodies nested deeper than kMaxRequestNesting are refused with
// BAD_REQUEST before they are parsed; nothing recurses on client data.
// Errors the client cannot fix (the store's I/O, corruption...) are
// INTERNAL_ERROR / TEMPORARILY_UNAVAILABLE with a generic message; their
// detail, which may name server paths, goes to stderr.
// As in MLflow's JSON (protobuf), empty repeated fields are left out and
// int64 fields are JSON numbers; non-finite metric values are the strings
// "NaN", "Infinity", "-Infinity".
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/server/log_batch_reader.h"
#include "wattlab/track/store.h"

namespace wattlab {

class ArtifactRoot;
class ServerMetrics;

// Deeper than any MLflow or wattlab request needs (they nest 4 levels).
inline constexpr int kMaxRequestNesting = 64;

struct ApiResponse {
  int http_status = 200;
  nlohmann::json body = nlohmann::json::object();
};

// {"error_code": code, "message": message} with the HTTP status MLflow uses
// for `code`.
ApiResponse api_error(const std::string& error_code, const std::string& message);
// The MLflow error for a store Status (InvalidArgument -> INVALID_PARAMETER_VALUE,
// NotFound -> RESOURCE_DOES_NOT_EXIST, AlreadyExists -> RESOURCE_ALREADY_EXISTS,
// with the Status's message; Unavailable -> TEMPORARILY_UNAVAILABLE, anything
// else -> INTERNAL_ERROR, with a generic message, the Status written to stderr).
ApiResponse api_error(const Status& status);
// The HTTP status MLflow uses for an error code (500 for unknown codes).
int http_status_of(const std::string& error_code);

class MlflowApi {
 public:
  // `store` and `clock` (default: the system clock; stamps runs created
  // without a start_time) must outlive the api. Thread-safe as the store is.
  //
  // With `artifacts` (the server proxies artifacts, as `mlflow server
  // --serve-artifacts` does) artifact locations the store made by default are
  // reported as MLflow's proxied URIs: an experiment's as
  // "mlflow-artifacts:/<experiment_id>", a run's as
  // "mlflow-artifacts:/<experiment_id>/<run_id>/artifacts", i.e. the folder
  // <experiment_id>/<run_id>/artifacts of the artifact root; locations given
  // explicitly (experiments/create's artifact_location) are reported as
  // stored. artifacts/list then lists a proxied run's folder. `metrics`, when
  // given, counts the metric points, params and tags written.
  explicit MlflowApi(Store* store, Clock* clock = nullptr, const ArtifactRoot* artifacts = nullptr,
                     ServerMetrics* metrics = nullptr);
  // Not copyable: the route tables' handlers refer to this object.
  MlflowApi(const MlflowApi&) = delete;
  MlflowApi& operator=(const MlflowApi&) = delete;

  // Handles one call. `api` is "mlflow" or "wattlab", `endpoint` the path
  // after "/api/2.0/<api>/" ("runs/get"), `method` "GET" or "POST", and
  // `request` the JSON body (POST) or the query parameters as a JSON object
  // of strings, a repeated parameter as an array (GET). Never throws.
  ApiResponse handle(const std::string& method, const std::string& api, const std::string& endpoint,
                     const nlohmann::json& request);
  // The same for a request given as its body (POST and the like): JSON, an
  // empty body being an empty request; BAD_REQUEST when it is not valid JSON.
  // A runs/log-batch body of the usual shape is read without building a JSON
  // DOM (read_log_batch), with the same response as through handle().
  ApiResponse handle_body(const std::string& method, const std::string& api, const std::string& endpoint,
                          std::string_view body);
  // True when `api` ("mlflow", "wattlab") has `endpoint`, whatever the method.
  bool has_endpoint(const std::string& api, const std::string& endpoint) const;

 private:
  // The store's default artifact folder for experiments (its Default
  // experiment's location less "/0"); empty when it cannot be told.
  std::string default_artifact_root();

  // One endpoint: the methods it takes and what it does.
  struct Route {
    const char* method;  // "GET", "POST", or "GET POST"
    std::function<ApiResponse(const nlohmann::json&)> handler;
  };
  // Fills the route tables; run once, by the constructor.
  void build_routes();

  Store* store_;                     // not owned
  Clock* clock_;                     // not owned
  const ArtifactRoot* artifacts_;    // not owned; null: artifacts are not served
  ServerMetrics* metrics_;           // not owned; may be null
  std::mutex default_root_mu_;       // guards the two below
  bool default_root_known_ = false;  // default_root_ has been looked up
  std::string default_root_;         // see default_artifact_root()
  std::map<std::string, Route> mlflow_routes_;   // endpoint ("runs/get") -> route
  std::map<std::string, Route> wattlab_routes_;  // the same for /api/2.0/wattlab/
  // runs/log-batch once its fields are read: checks, the store, the counts.
  // The run id is batch.run_id, or when that is empty run_id_of(request).
  std::function<ApiResponse(const LogBatchRequest& batch, const nlohmann::json& request)> log_batch_;
};

}  // namespace wattlab
