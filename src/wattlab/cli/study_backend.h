// The study executors' backend on this machine: trials and warm-ups become
// tracked `train` runs (run/tracked_training.h) with the spec's flags parsed
// exactly as `wattlab train` parses its own; the idle baseline and the
// cool-downs' power readings go through run/machine_power.h. Progress goes
// to stderr.
#pragma once

#include <memory>
#include <string>

#include "wattlab/energy/meters.h"
#include "wattlab/study/executor.h"
#include "wattlab/track/store.h"
#include "wattlab/train/trainer.h"

namespace wattlab::cli {

class LocalStudyBackend : public StudyBackend {
 public:
  // Runs are recorded in `store` (which must outlive the backend); flags in
  // messages are located in `spec_path`. `show_progress=false` prints nothing.
  LocalStudyBackend(Store& store, std::string spec_path, bool show_progress);

  Result<TrainOutcome> train(const TrainRequest& request) override;
  bool has_checkpoint(const RunData& run) override;
  Result<double> idle_baseline(const std::string& experiment, double duration_s,
                               const std::map<std::string, std::string>& tags) override;
  Result<double> power_w(double window_s) override;
  bool wait_s(double seconds) override;
  bool stop_requested() override;
  int64_t now_ms() override;

 private:
  // The data a config trains on, loaded once for every trial that shares it.
  Result<const TrainData*> data_for(const TrainConfig& config);

  Store& store_;
  std::string spec_path_;
  bool show_progress_;
  MeterOptions meter_;  // the last trial's --meter and --cpu-tdp-w, for the idle readings
  std::string data_key_;                 // what data_ was loaded for
  std::unique_ptr<TrainData> data_;
};

// Prints the executor's notes and one line per trial to stderr.
class TerminalStudyListener : public StudyListener {
 public:
  void on_note(const std::string& text) override;
  void on_trial_start(const TrialProgress& progress) override;
  void on_trial_end(const TrialProgress& progress, const TrainOutcome& outcome) override;
};

}  // namespace wattlab::cli
