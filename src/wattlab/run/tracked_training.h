// One training run, metered and tracked: the trainer's phases become energy
// windows, its epoch metrics become run metrics, and the run ends FINISHED,
// KILLED (a stop signal) or FAILED in the store. `wattlab train`, `wattlab
// quickstart` and both study executors run trainings through here; what they
// show on a terminal they learn through a TrainingReporter.
//
// Every figure is recorded twice: the machine's (energy_j, what the meters
// read) and the run's attributed share (attributed_energy_j, see
// energy/attribution.h and run/session_energy.h), because on a shared
// machine the first includes other processes' work.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/analysis/step.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/energy_budget.h"
#include "wattlab/energy/meters.h"
#include "wattlab/run/run_artifacts.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/run_logger.h"
#include "wattlab/train/trainer.h"

namespace wattlab {

// One epoch as a reporter sees it.
struct EpochReport {
  int epoch = 0;                 // 1-based
  int epochs = 0;                // the run's --epochs
  const EpochMetrics* metrics = nullptr;  // the trainer's figures; valid during the call
  double energy_j = 0;           // this epoch's training, validation and evaluation energy (the machine's)
  bool energy_estimated = false;
  std::optional<StepProjection> projection;  // the run's projected total, from its first stable epoch on
};

// What a tracked training tells whoever watches it (a terminal, a study's
// progress line). Called on the training thread; the defaults do nothing.
class TrainingReporter {
 public:
  virtual ~TrainingReporter() = default;
  // The run exists in the store (created, or resumed) and training is about to start.
  virtual void on_run_started(const std::string& run_id) {}
  // During an epoch's `phase` ("training", "validation" or "evaluation"):
  // `images_done` of `images_total`.
  virtual void on_progress(int epoch, int epochs, const std::string& phase, int64_t images_done,
                           int64_t images_total) {}
  virtual void on_epoch_end(const EpochReport& report) {}
  // Something the user should know that is not an error ("run X keeps no checkpoints: ...").
  virtual void on_note(const std::string& text) {}
  // Training ended (any way); whatever is drawn on the terminal should be cleared.
  virtual void on_finished() {}
};

struct TrackedTrainingOptions {
  TrainConfig train;
  std::string experiment = "Default";
  std::string run_name;                   // empty: "<model>-t<threads>-b<batch>"
  MeterOptions meter;
  double sample_interval_ms = 100;        // power timeline resolution
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
  // End at the first epoch's end after this many seconds of training, as a
  // finished run (a study's warm-up); 0: no limit.
  double max_duration_s = 0;
  // Tags set on the run besides wattlab's own (a study's trial tags).
  std::map<std::string, std::string> tags;
  // Files written into the run's artifact folder, by name (a study's spec.yaml).
  std::map<std::string, std::string> files;
};

struct TrackedTrainingSummary {
  std::string run_id;
  RunStatus status = RunStatus::kRunning;
  std::vector<EpochMetrics> epochs;  // of this session
  // With --resume, the figures below are the totals of every session of the
  // run; energies are the machine's unless named attributed.
  double duration_s = 0;             // metered time (pauses between sessions excluded)
  double energy_j = 0;               // the whole run: training, evaluation and set-up
  double attributed_energy_j = 0;    // the run's share of energy_j
  double train_energy_j = 0;  // training passes only (a pass a stop interrupted included: its energy was spent)
  int64_t train_images = 0;   // images trained on in the epochs the run completed
  bool energy_estimated = false;
  // This session: the run's share of the CPU time used, and what other
  // processes held of the machine's CPU; the warning when that was over 10 %
  // (the tag wattlab.busy_machine), else empty.
  double cpu_busy_share = 1;
  double other_cpu_share = 0;
  std::string busy_machine_warning;
  std::string stop_reason;    // as TrainResult::stop_reason; also the run's wattlab.stop_reason tag
  bool stopped_by_budget = false;  // the energy or carbon budget ended it (stop_reason says when)

  // Training energy per trained image, joules (NaN before any image): the
  // run's energy_per_image_j metric.
  double energy_per_image_j() const;
  // The same scaled by the run's attributed share (attributed_energy_j /
  // energy_j): the attributed_energy_per_image_j metric.
  double attributed_energy_per_image_j() const;
};

// Trains `options.train` on `data`, metering it with the meters of
// `options.meter` and recording everything through `logger` (a store or a
// tracking server); `reporter` (may be null) hears of progress.
//
// Everything that can refuse the run is checked before anything is written:
// the meters, the artifact folder and, with options.resume, the checkpoint
// (check_resumable: settings, data, corruption), that a FINISHED run has
// epochs left to train, and the run's lease (track/run_lease.h: no other
// process trains it). A refusal returns its error and leaves the store and
// the run's files byte for byte as they were. A new run takes its lease when
// it is created; a resumed one with take_run_lease (which needs `logger` to be
// a Store: InvalidArgument otherwise).
//
// A stop signal (core/stop_signal.h) ends the run KILLED with what was logged
// so far flushed; that is a summary with status KILLED, not an error. A
// budget (options.budget) ends it FINISHED, before an epoch or a batch it
// could not afford, with the tag wattlab.stop_reason saying where and why and
// the tag wattlab.stopped_by = "budget" (set only then). A training or
// metering failure marks the run FAILED and returns the failure.
// The run's artifact folder receives config.yaml (when options.config_yaml is
// set) and a checkpoint after every epoch; with options.resume the training
// continues from that checkpoint, the run's energy_j, attributed_energy_j,
// duration_s and energy_per_image_j become the totals of all its sessions
// (those totals are logged at every epoch's end, so a session killed without
// warning counts up to its last epoch), and its params are left as they were
// (params are write-once): the tag wattlab.epochs holds the --epochs of the
// latest session, the environment its device and threads.
Result<TrackedTrainingSummary> run_tracked_training(RunLogger& logger, const TrackedTrainingOptions& options,
                                                    const TrainData& data, TrainingReporter* reporter = nullptr);

}  // namespace wattlab
