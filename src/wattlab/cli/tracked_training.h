// One training run, metered and tracked: the trainer's phases become energy
// windows, its epoch metrics become run metrics, and the run ends FINISHED,
// KILLED (a stop signal) or FAILED in the store. `wattlab train` and
// `wattlab quickstart` both run trainings through here.
#pragma once

#include <optional>
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
  // Where a tracking server keeps its artifacts on this machine (its
  // --artifacts): runs recorded through a server, whose artifact URI is
  // "mlflow-artifacts:/P", keep their files in DIR/P. Empty: such runs get
  // no files (no checkpoints, hence no --resume).
  std::string artifacts_dir;
  // The resolved configuration (cli/config_file.h), stored with the run as
  // config.yaml; its hash becomes the environment's config_hash. Empty: none.
  std::string config_yaml;
  // Continue this run (RUNNING again, epochs appended) from the checkpoint in
  // its artifact folder instead of starting a new one.
  std::optional<RunData> resume;
};

// The files of a run in its artifact folder.
inline constexpr const char* kCheckpointFile = "checkpoint.pt";  // after every epoch (trainer.h TrainFiles)
inline constexpr const char* kConfigFile = "config.yaml";        // the resolved configuration

// The local folder of a run's artifacts: the artifact URI itself when it is a
// path (or file://path), `artifacts_dir`/P for a server's "mlflow-artifacts:/P"
// when `artifacts_dir` is given. Unavailable, naming the URI and the fix,
// otherwise.
Result<std::string> run_artifact_dir(const std::string& artifact_uri, const std::string& artifacts_dir);

struct TrackedTrainingSummary {
  std::string run_id;
  RunStatus status = RunStatus::kRunning;
  std::vector<EpochMetrics> epochs;
  double duration_s = 0;
  // With --resume, each figure is the total of every session of the run.
  double energy_j = 0;        // the whole run: training, evaluation and set-up
  double train_energy_j = 0;  // training passes only (a pass a stop interrupted included: its energy was spent)
  int64_t train_images = 0;   // images trained on in the epochs the run completed
  bool energy_estimated = false;
  std::string stop_reason;    // as TrainResult::stop_reason; also the run's wattlab.stop_reason tag

  // Training energy per trained image, joules (NaN before any image): the
  // run's energy_per_image_j metric.
  double energy_per_image_j() const;
};

// Trains `options.train` on `data`, metering it with the meters of
// `options.meter` and recording everything through `logger` (a store or a
// tracking server). A stop signal
// (cli/signals.h) ends the run KILLED with what was logged so far flushed;
// that is a summary with status KILLED, not an error. A training or metering
// failure marks the run FAILED and returns the failure.
// The run's artifact folder receives config.yaml (when options.config_yaml is
// set) and a checkpoint after every epoch; with options.resume the training
// continues from that checkpoint, the run's energy_j, duration_s and
// energy_per_image_j become the totals of all its sessions, and its params are
// left as they were (params are write-once): the tag wattlab.epochs holds the
// --epochs of the latest session, the environment its device and threads.
Result<TrackedTrainingSummary> run_tracked_training(RunLogger& logger, const TrackedTrainingOptions& options,
                                                    const TrainData& data);

}  // namespace wattlab::cli
