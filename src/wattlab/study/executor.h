// Runs a study's unfinished trials on this machine, one at a time: the idle
// baseline, the warm-up and the cool-downs the spec asks for, then each trial
// as a tracked training run. Idempotent: FINISHED trials are skipped, KILLED
// and FAILED ones resumed from their checkpoint (or run anew, the old run
// marked superseded), so running a study again after a crash, a reboot or a
// cancelled job completes it without duplicating a trial. The local executor
// runs every unfinished trial; a Slurm array task (study/slurm.h) runs one.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/study/spec.h"
#include "wattlab/study/study_state.h"
#include "wattlab/study/trials.h"
#include "wattlab/track/stale_runs.h"
#include "wattlab/track/store.h"

namespace wattlab {

// One training the executor needs: a trial, or the warm-up.
struct TrainRequest {
  std::string experiment;
  std::string run_name;
  SpecSettings settings;                     // train flags (Trial::settings)
  std::map<std::string, std::string> tags;   // the run's study tags
  std::map<std::string, std::string> files;  // written into the run's artifact folder (spec.yaml)
  std::optional<RunData> resume;             // continue this run from its checkpoint instead of starting one
  double max_duration_s = 0;  // warm-up by time: end at the first epoch's end past this (0: no limit)
  int64_t max_steps = 0;      // warm-up by steps: train this many batches (0: the settings' epochs)
  std::string label;          // what progress lines call it ("[3/8] cnn 1-thread r2")
};

struct TrainOutcome {
  std::string run_id;
  RunStatus status = RunStatus::kFinished;
  double energy_j = 0;
  double duration_s = 0;
  std::string message;  // why it failed, when it did
};

// What the executor needs done that is not bookkeeping: training (LibTorch),
// metering, waiting. The CLI supplies the real one; tests a fake.
class StudyBackend {
 public:
  virtual ~StudyBackend() = default;
  // Trains as `request` says, recorded as a run of request.experiment.
  // A stop request ends it KILLED (an outcome, not an error); errors are
  // for what prevented the run (bad settings, unreadable data).
  virtual Result<TrainOutcome> train(const TrainRequest& request) = 0;
  // True when `run` left a checkpoint to resume from.
  virtual bool has_checkpoint(const RunData& run) = 0;
  // Meters the idle machine for `duration_s` and records it as a run of
  // `experiment` with `tags`; returns its mean power, W.
  virtual Result<double> idle_baseline(const std::string& experiment, double duration_s,
                                       const std::map<std::string, std::string>& tags) = 0;
  // The machine's mean power over the next `window_s`, W.
  virtual Result<double> power_w(double window_s) = 0;
  // Waits `seconds`; false when a stop was requested meanwhile.
  virtual bool wait_s(double seconds) = 0;
  // True once the user asked to stop (a signal).
  virtual bool stop_requested() = 0;
  // Wall ms now.
  virtual int64_t now_ms() = 0;
};

// Where the executor is, for progress lines.
struct TrialProgress {
  const Trial* trial = nullptr;
  int position = 0;  // 1-based among the trials this invocation runs
  int count = 0;     // trials this invocation runs
  int study_total = 0;
  bool resumed = false;  // continues an earlier run of the trial
  double eta_s = NAN;    // the study's remaining time before this trial, NaN while unknown
};

class StudyListener {
 public:
  virtual ~StudyListener() = default;
  virtual void on_note(const std::string& text) {}
  virtual void on_trial_start(const TrialProgress& progress) {}
  virtual void on_trial_end(const TrialProgress& progress, const TrainOutcome& outcome) {}
};

struct StudyRunOptions {
  std::optional<int> index;  // run only this trial (a Slurm array task); nullopt: every unfinished one
  int64_t stale_after_ms = kDefaultStaleAfterMs;
  // A file remembering, between processes on this machine, its idle power,
  // its warm-up and when its last trial ended (Slurm tasks sharing a node);
  // empty: remembered for this invocation only.
  std::string node_state_path;
};

struct StudyRunResult {
  int ran = 0;       // trials started (or resumed) by this invocation
  int finished = 0;  // of them, those that finished
  int failed = 0;    // ...that failed
  bool interrupted = false;  // a stop request ended it early
  StudySummary summary;      // the study after it (with an index: that trial alone)
};

// Runs the unfinished trials of `spec` (or only options.index) through
// `backend`, recording the study in `store`. Errors: InvalidArgument naming
// every finished trial the spec now changes (and how), or an index out of
// range; the store's errors. A failed trial is counted and the next one runs.
Result<StudyRunResult> run_study(Store& store, const StudySpec& spec, StudyBackend& backend,
                                 const StudyRunOptions& options, StudyListener* listener = nullptr);

// The refusal of an incompatible spec: one line per changed finished trial,
// and what to do instead. OK when `state` is compatible.
Status check_spec_compatible(const StudySpec& spec, const StudyState& state);

}  // namespace wattlab
