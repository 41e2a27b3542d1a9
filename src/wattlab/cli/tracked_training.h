// One training run, metered and tracked: the trainer's phases become energy
// windows, its epoch metrics become run metrics, and the run ends FINISHED,
// KILLED (a stop signal) or FAILED in the store. `wattlab train` and
// `wattlab quickstart` both run trainings through here.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/energy/energy_budget.h"
#include "wattlab/energy/meters.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/run_logger.h"
#include "wattlab/train/trainer.h"

namespace wattlab::cli {

struct TrackedTrainingOptions {
  TrainConfig train;
  std::string experiment = "Default";
  std::string run_name;                   // empty: "<model>-t<threads>-b<batch>"
  MeterOptions meter;
  double sample_interval_ms = 100;        // power timeline resolution
  bool show_progress = true;              // progress bar and one line per epoch on stderr
  EnergyBudgetOptions budget;             // --energy-budget / --carbon-budget; its intensity and PUE give co2e_g
};

struct TrackedTrainingSummary {
  std::string run_id;
  RunStatus status = RunStatus::kRunning;
  std::vector<EpochMetrics> epochs;
  double duration_s = 0;
  double energy_j = 0;        // the whole run: training, evaluation and set-up
  double train_energy_j = 0;  // training passes only
  int64_t train_images = 0;   // images trained on, all epochs
  bool energy_estimated = false;
  std::string stop_reason;    // as TrainResult::stop_reason; also the run's wattlab.stop_reason tag

  // Training energy per trained image, joules (NaN before any image).
  double energy_per_image_j() const;
};

// Trains `options.train` on `data`, metering it with the meters of
// `options.meter` and recording everything through `logger` (a store or a
// tracking server). A stop signal
// (cli/signals.h) ends the run KILLED with what was logged so far flushed;
// that is a summary with status KILLED, not an error. A training or metering
// failure marks the run FAILED and returns the failure.
Result<TrackedTrainingSummary> run_tracked_training(RunLogger& logger, const TrackedTrainingOptions& options,
                                                    const TrainData& data);

}  // namespace wattlab::cli
