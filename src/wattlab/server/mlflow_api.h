// The MLflow tracking REST API 2.0 (and wattlab's own read endpoints) as a
// function from (method, endpoint, request JSON) to (HTTP status, response
// JSON), independent of any HTTP library: the server calls it, tests can too.
//
// Request and response shapes, defaults, limits and error codes follow
// MLflow's REST API: errors are {"error_code": ..., "message": ...} with
// INVALID_PARAMETER_VALUE / RESOURCE_ALREADY_EXISTS / BAD_REQUEST -> 400,
// RESOURCE_DOES_NOT_EXIST / ENDPOINT_NOT_FOUND -> 404, INTERNAL_ERROR -> 500.
// As in MLflow's JSON (protobuf), empty repeated fields are left out and
// int64 fields are JSON numbers; non-finite metric values are the strings
// "NaN", "Infinity", "-Infinity".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab {

struct ApiResponse {
  int http_status = 200;
  nlohmann::json body = nlohmann::json::object();
};

// {"error_code": code, "message": message} with the HTTP status MLflow uses
// for `code`.
ApiResponse api_error(const std::string& error_code, const std::string& message);
// The MLflow error for a store Status (InvalidArgument -> INVALID_PARAMETER_VALUE,
// NotFound -> RESOURCE_DOES_NOT_EXIST, AlreadyExists -> RESOURCE_ALREADY_EXISTS,
// anything else -> INTERNAL_ERROR).
ApiResponse api_error(const Status& status);
// The HTTP status MLflow uses for an error code (500 for unknown codes).
int http_status_of(const std::string& error_code);

class MlflowApi {
 public:
  // `store` and `clock` (default: the system clock; stamps runs created
  // without a start_time) must outlive the api. Thread-safe as the store is.
  explicit MlflowApi(Store* store, Clock* clock = nullptr);

  // Handles one call. `api` is "mlflow" or "wattlab", `endpoint` the path
  // after "/api/2.0/<api>/" ("runs/get"), `method` "GET" or "POST", and
  // `request` the JSON body (POST) or the query parameters as a JSON object
  // of strings, a repeated parameter as an array (GET). Never throws.
  ApiResponse handle(const std::string& method, const std::string& api, const std::string& endpoint,
                     const nlohmann::json& request);

 private:
  Store* store_;  // not owned
  Clock* clock_;  // not owned
};

}  // namespace wattlab
