// RestRunCatalog: a RunCatalog read from a tracking server through its REST
// API, so that `wattlab runs|experiments|infer --tracking-uri http://...`
// see what `train` and `measure` logged there.
//
// From a wattlab server, runs come whole (energy windows, environment and
// power timeline through wattlab's endpoints). From a plain MLflow server
// they are read back from what RestRunLogger wrote through MLflow's API
// (server/mlflow_native.h): the environment from wattlab/environment.json
// (else the wattlab.env.* tags), the energy windows from
// wattlab/energy_windows.json, the power timeline from the system metrics.
//
// Differences from a local store: a run id prefix is matched by a search
// (on an MLflow server, by paging through every run); search_runs without
// experiment ids asks for every experiment first (MLflow's search needs
// them). Errors as RestClient's.
#pragma once

#include <memory>
#include <string>

#include "wattlab/server/rest_client.h"
#include "wattlab/track/run_catalog.h"

namespace wattlab {

class RestRunCatalog final : public RunCatalog {
 public:
  // As HttpClient::connect; connects lazily.
  static Result<std::unique_ptr<RestRunCatalog>> connect(const std::string& uri, const std::string& token = "");

  // The connection, for artifact transfers (remote_artifacts.h).
  RestClient& client() { return *client_; }

  const std::string& location() const override { return client_->uri(); }
  Result<RunsPage> search_runs(const SearchRunsOptions& options) override;
  Result<RunData> get_run(const std::string& run_id_or_prefix) override;
  Result<std::vector<Metric>> get_metric_history(const std::string& run_id, const std::string& key) override;
  Result<PowerTimeline> get_power_samples(const std::string& run_id) override;
  Status delete_run(const std::string& run_id) override;
  Status restore_run(const std::string& run_id) override;
  Result<ExperimentsPage> search_experiments(const SearchExperimentsOptions& options) override;
  Result<Experiment> get_experiment(const std::string& experiment_id) override;
  Result<Experiment> get_experiment_by_name(const std::string& name) override;
  Result<std::string> create_experiment(const std::string& name,
                                        const std::map<std::string, std::string>& tags) override;
  Status rename_experiment(const std::string& experiment_id, const std::string& new_name) override;
  Status delete_experiment(const std::string& experiment_id) override;
  Status restore_experiment(const std::string& experiment_id) override;

 private:
  explicit RestRunCatalog(std::unique_ptr<RestClient> client) : client_(std::move(client)) {}
  // The full id of the one run whose id starts with `prefix`.
  Result<std::string> resolve_prefix(const std::string& prefix);

  std::unique_ptr<RestClient> client_;
};

}  // namespace wattlab
