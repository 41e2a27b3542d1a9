// RestRunLogger: a RunLogger that records runs on a wattlab server through
// its REST API — MLflow's endpoints for experiments, runs, metrics, params
// and tags, wattlab's own for energy windows, power samples and the
// environment. `wattlab train|measure --tracking-uri http://host:port` log
// through it (batched by TrackingClient), so every process of a team's study
// lands in one store.
//
// Contracts:
// - one keep-alive connection, calls serialised (thread-safe);
// - log_batch is split into requests within MLflow's limits (1000 metrics,
//   100 params, 100 tags); each request is atomic on the server, a split
//   batch is not;
// - a call whose connection failed before anything was sent is retried
//   (3 tries, 0.2 s apart); nothing else is retried, so no point is ever
//   written twice;
// - the server's MLflow errors come back as Status codes: INVALID_PARAMETER_
//   VALUE -> InvalidArgument, RESOURCE_DOES_NOT_EXIST -> NotFound,
//   RESOURCE_ALREADY_EXISTS -> AlreadyExists; an unreachable server ->
//   Unavailable naming the URI and the fix.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "wattlab/core/status.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

class HttpClient;

class RestRunLogger final : public RunLogger {
 public:
  // `uri` is "http://host:port" (a trailing "/" is fine); `token`, when not
  // empty, is sent as "Authorization: Bearer <token>". InvalidArgument for
  // anything but an http:// URI. Connects lazily: a server that is down
  // fails the first call, not this one.
  static Result<std::unique_ptr<RestRunLogger>> connect(const std::string& uri, const std::string& token = "");
  ~RestRunLogger() override;
  RestRunLogger(const RestRunLogger&) = delete;
  RestRunLogger& operator=(const RestRunLogger&) = delete;

  const std::string& uri() const { return uri_; }
  // OK when the server answers GET /health; Unavailable naming the URI otherwise.
  Status check_reachable();

  Result<std::string> get_or_create_experiment(const std::string& name) override;
  Result<RunInfo> create_run(const std::string& experiment_id, const std::string& run_name,
                             int64_t start_time_ms) override;
  Status update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) override;
  Status log_batch(const std::string& run_id, const std::vector<Metric>& metrics, const std::vector<Param>& params,
                   const std::vector<RunTag>& tags) override;
  Status log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) override;
  Status log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                           const std::vector<PowerSample>& samples) override;
  Status set_environment(const std::string& run_id, const std::map<std::string, std::string>& environment) override;

 private:
  RestRunLogger(std::string uri, std::string token);
  // POSTs (or GETs with `query` params) /api/2.0/<path> and returns the
  // response JSON, or the Status of the MLflow error / transport failure.
  Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> get(const std::string& path, const std::string& query);
  // Sends one request; every reply (or failure) as exchange() sees it.
  Result<nlohmann::json> exchange(const std::string& method, const std::string& path, const std::string& target,
                                  const std::string& body);

  std::string uri_;
  std::string token_;
  std::mutex mu_;                           // serialises calls on client_
  std::unique_ptr<HttpClient> client_;
};

// True for "http://..." and "https://..." tracking URIs (as opposed to a
// store location such as a file or sqlite:/// URI).
bool is_http_tracking_uri(const std::string& uri);

}  // namespace wattlab
