#include "wattlab/track/run_catalog.h"

namespace wattlab {

namespace {

class StoreRunCatalog final : public RunCatalog {
 public:
  StoreRunCatalog(std::unique_ptr<Store> store, std::string location)
      : store_(std::move(store)), location_(std::move(location)) {}

  const std::string& location() const override { return location_; }
  Result<RunsPage> search_runs(const SearchRunsOptions& options) override { return store_->search_runs(options); }
  Result<RunData> get_run(const std::string& run_id_or_prefix) override { return store_->get_run(run_id_or_prefix); }
  Result<std::vector<Metric>> get_metric_history(const std::string& run_id, const std::string& key) override {
    return store_->get_metric_history(run_id, key);
  }
  Result<PowerTimeline> get_power_samples(const std::string& run_id) override {
    return store_->get_power_samples(run_id);
  }
  Status delete_run(const std::string& run_id) override { return store_->delete_run(run_id); }
  Status restore_run(const std::string& run_id) override { return store_->restore_run(run_id); }
  Result<ExperimentsPage> search_experiments(const SearchExperimentsOptions& options) override {
    return store_->search_experiments(options);
  }
  Result<Experiment> get_experiment(const std::string& experiment_id) override {
    return store_->get_experiment(experiment_id);
  }
  Result<Experiment> get_experiment_by_name(const std::string& name) override {
    return store_->get_experiment_by_name(name);
  }
  Result<std::string> create_experiment(const std::string& name,
                                        const std::map<std::string, std::string>& tags) override {
    return store_->create_experiment(name, "", tags);
  }
  Status rename_experiment(const std::string& experiment_id, const std::string& new_name) override {
    return store_->rename_experiment(experiment_id, new_name);
  }
  Status delete_experiment(const std::string& experiment_id) override {
    return store_->delete_experiment(experiment_id);
  }
  Status restore_experiment(const std::string& experiment_id) override {
    return store_->restore_experiment(experiment_id);
  }

 private:
  std::unique_ptr<Store> store_;
  std::string location_;
};

}  // namespace

std::unique_ptr<RunCatalog> store_run_catalog(std::unique_ptr<Store> store, std::string location) {
  return std::make_unique<StoreRunCatalog>(std::move(store), std::move(location));
}

}  // namespace wattlab
