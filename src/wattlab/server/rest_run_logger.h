// RestRunLogger: a RunLogger that records runs on a tracking server through
// its REST API — MLflow's endpoints for experiments, runs, metrics, params
// and tags, wattlab's own for energy windows, power samples and the
// environment. `wattlab train|measure --tracking-uri http://host:port` log
// through it (batched by TrackingClient), so every process of a team's study
// lands in one store.
//
// Against a plain MLflow server (RestClient::server_kind() is kMlflow) the
// same facts go through MLflow's own API instead (server/mlflow_native.h):
// the environment as tags and a JSON artifact, energy windows as metrics and
// a JSON artifact, the power timeline as MLflow's system metrics. The JSON
// artifacts need the server's artifact proxy; without one, only the tags and
// metrics are written.
//
// Contracts:
// - calls are thread-safe (the connection serialises them);
// - log_batch is split into requests within MLflow's limits (1000 metrics,
//   100 params, 100 tags); each request is atomic on the server, a split
//   batch is not;
// - nothing is retried but a connection that failed before anything was
//   sent, so no point is ever written twice;
// - errors as RestClient's (server/rest_client.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/server/rest_client.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

class RestRunLogger final : public RunLogger {
 public:
  // As HttpClient::connect. Connects lazily: a server that is down fails the
  // first call, not this one.
  static Result<std::unique_ptr<RestRunLogger>> connect(const std::string& uri, const std::string& token = "");
  ~RestRunLogger() override;
  RestRunLogger(const RestRunLogger&) = delete;
  RestRunLogger& operator=(const RestRunLogger&) = delete;

  const std::string& uri() const { return client_->uri(); }
  // As RestClient::check_reachable.
  Status check_reachable() { return client_->check_reachable(); }
  // As RestClient::server_kind: how this logger writes wattlab's own facts.
  Result<ServerKind> server_kind() { return client_->server_kind(); }
  // The connection, for artifact transfers (remote_artifacts.h).
  RestClient& client() { return *client_; }

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
  // What this process has written of a run to a plain MLflow server: the
  // JSON artifacts are rewritten whole, so they are kept here.
  struct NativeRun {
    bool loaded = false;  // the artifacts already on the server were read
    std::string artifact_uri;
    std::vector<EnergyWindow> windows;
    std::map<std::string, std::string> environment;
    int64_t next_power_step = 0;  // steps of the system metrics
    bool power_domains_tagged = false;  // kPowerDomainsTag was set
  };

  explicit RestRunLogger(std::unique_ptr<RestClient> client) : client_(std::move(client)) {}
  // True when wattlab's facts must go through MLflow's API.
  Result<bool> native();
  // The run's NativeRun, its artifacts read on first use. Caller holds native_mu_.
  Result<NativeRun*> native_run_locked(const std::string& run_id);
  // Uploads one of the JSON artifacts; a server without an artifact proxy is
  // not an error (the tags and metrics carry the facts).
  Status upload_json_locked(NativeRun& run, const std::string& path, const std::string& text);

  std::unique_ptr<RestClient> client_;
  std::mutex native_mu_;                       // guards native_runs_
  std::map<std::string, NativeRun> native_runs_;  // by run id
};

// True for "http://..." and "https://..." tracking URIs (as opposed to a
// store location such as a file or sqlite:/// URI).
bool is_http_tracking_uri(const std::string& uri);

}  // namespace wattlab
