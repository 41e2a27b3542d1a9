// Test support for study/ (not part of wattlab_study): a stand-in for `wattlab
// train`'s flags, a backend that records runs as a training would without
// training, and a temporary SQLite store.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "wattlab/study/executor.h"
#include "wattlab/study/spec.h"
#include "wattlab/track/store.h"

namespace wattlab {

// A few of train's flags, typed as train types them.
class TestFlagChecker : public TrainFlagChecker {
 public:
  std::vector<std::string> flag_names() const override;
  Status check(const std::string& name, const std::vector<std::string>& values) const override;
};

// Records each training as a FINISHED run with the request's tags and
// energy_j / duration_s metrics taken from the settings ("epochs" x 10 J, x
// 2 s), without training; a trial may be told to end otherwise.
class FakeBackend : public StudyBackend {
 public:
  explicit FakeBackend(Store& store) : store_(store) {}

  Result<TrainOutcome> train(const TrainRequest& request) override;
  bool has_checkpoint(const RunData& run) override { return checkpoints_.count(run.info.run_id) > 0; }
  Result<double> idle_baseline(const std::string& experiment, double duration_s,
                               const std::map<std::string, std::string>& tags) override;
  Result<double> power_w(double window_s) override;
  bool wait_s(double seconds) override;
  bool stop_requested() override { return stop_; }
  int64_t now_ms() override { return now_ms_; }

  // How the next trainings of a run name end: KILLED leaves a RUNNING run
  // with a heartbeat (a process killed with -9) and, with `checkpoint`, a
  // checkpoint; FAILED a failed run.
  void end_next(const std::string& run_name, RunStatus status, bool checkpoint = false) {
    endings_[run_name] = {status, checkpoint};
  }

  std::vector<std::string> trained;  // run names, in training order ("resumed " prefix when resumed)
  std::vector<double> waits_s;       // every wait_s
  std::vector<double> power_readings_w = {};  // power_w answers, front first; then idle_w
  double idle_w = 20;
  int64_t now_ms_ = 1'700'000'000'000;
  bool stop_ = false;

 private:
  struct Ending {
    RunStatus status;
    bool checkpoint;
  };
  Store& store_;
  std::map<std::string, Ending> endings_;
  std::set<std::string> checkpoints_;
};

// A fresh SQLite store in a temporary folder, removed at the end.
class TempStore {
 public:
  TempStore();
  ~TempStore();
  Store& store() { return *store_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace wattlab
