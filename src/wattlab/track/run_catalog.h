// RunCatalog: what reading and managing tracked runs needs of wherever they
// are kept — search, read a run whole, its metric histories and power
// timeline, delete and restore, and the experiments. The CLI's `runs`,
// `experiments` and `infer` commands use it, so they read a local store
// (store_run_catalog) and a tracking server (server/rest_run_catalog.h)
// alike.
//
// Contracts are Store's (track/store.h) unless a method says otherwise.
// Every method is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab {

class RunCatalog {
 public:
  virtual ~RunCatalog() = default;

  // Where the runs are, for messages: "wattlab.db", "http://host:5000".
  virtual const std::string& location() const = 0;

  // As Store::search_runs; experiment_ids nullopt means every experiment.
  virtual Result<RunsPage> search_runs(const SearchRunsOptions& options) = 0;
  // As Store::get_run (a full id or a prefix of 6+ hex digits): the run with
  // its energy windows and environment, deleted or not.
  virtual Result<RunData> get_run(const std::string& run_id_or_prefix) = 0;
  // Every point of a metric (full run id), in step order.
  virtual Result<std::vector<Metric>> get_metric_history(const std::string& run_id, const std::string& key) = 0;
  // The run's power timeline (full run id).
  virtual Result<PowerTimeline> get_power_samples(const std::string& run_id) = 0;
  // Marks a run deleted / active again (full run id).
  virtual Status delete_run(const std::string& run_id) = 0;
  virtual Status restore_run(const std::string& run_id) = 0;

  virtual Result<ExperimentsPage> search_experiments(const SearchExperimentsOptions& options) = 0;
  virtual Result<Experiment> get_experiment(const std::string& experiment_id) = 0;
  virtual Result<Experiment> get_experiment_by_name(const std::string& name) = 0;
  virtual Result<std::string> create_experiment(const std::string& name,
                                                const std::map<std::string, std::string>& tags) = 0;
  virtual Status rename_experiment(const std::string& experiment_id, const std::string& new_name) = 0;
  virtual Status delete_experiment(const std::string& experiment_id) = 0;
  virtual Status restore_experiment(const std::string& experiment_id) = 0;
};

// A catalog over a store it owns; `location` names it in messages.
std::unique_ptr<RunCatalog> store_run_catalog(std::unique_ptr<Store> store, std::string location);

}  // namespace wattlab
