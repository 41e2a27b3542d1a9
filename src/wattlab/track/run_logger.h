// RunLogger: what a process that records runs needs of a store — find or
// create the experiment, create the run, append to it, end it. Store
// implements it in-process (track/store.h); RestRunLogger sends the same
// calls to a wattlab server (track/rest_run_logger.h). TrackingClient writes
// through either.
//
// Every method is thread-safe. Methods that write several records do so
// atomically: all of them land, or none does.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"
#include "wattlab/track/entities.h"

namespace wattlab {

class RunLogger {
 public:
  virtual ~RunLogger() = default;

  // Id of the active experiment called `name`, created (with a default
  // artifact location) if there is none. InvalidArgument for an empty name.
  virtual Result<std::string> get_or_create_experiment(const std::string& name) = 0;
  // A new RUNNING run with a fresh 32-hex id in the given experiment
  // (NotFound if it does not exist).
  virtual Result<RunInfo> create_run(const std::string& experiment_id, const std::string& run_name,
                                     int64_t start_time_ms) = 0;
  // Sets a run's status and, when given, its end time. NotFound for an
  // unknown run id (full ids only).
  virtual Status update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) = 0;
  // Writes metrics (appended to their histories), params and tags of one run
  // atomically. Params are write-once: logging a key again with the same
  // value is accepted, with another value is InvalidArgument naming the key,
  // and then nothing of the batch is written. Keys must be 1-250 characters
  // of letters, digits, '_', '-', '.', ' ', '/' or ':'; param values at most
  // kMaxParamValueLength and tag values kMaxTagValueLength bytes.
  // InvalidArgument for a deleted run.
  virtual Status log_batch(const std::string& run_id, const std::vector<Metric>& metrics,
                           const std::vector<Param>& params, const std::vector<RunTag>& tags) = 0;
  // Appends energy windows to a run, atomically.
  virtual Status log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) = 0;
  // Appends power samples; `samples[k].power_w[i]` is the power of
  // `domain_names[i]` (InvalidArgument if the sizes differ).
  virtual Status log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                                   const std::vector<PowerSample>& samples) = 0;
  // Merges `environment` into the run's environment snapshot (keys given
  // overwrite earlier values).
  virtual Status set_environment(const std::string& run_id,
                                 const std::map<std::string, std::string>& environment) = 0;
};

}  // namespace wattlab
