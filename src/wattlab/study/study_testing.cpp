#include "wattlab/study/study_testing.h"

#include <unistd.h>

#include <atomic>
#include <cmath>

#include "wattlab/track/client.h"

namespace wattlab {
namespace {

const std::set<std::string> kIntegerFlags = {"threads", "batch-size", "epochs", "subset", "test-subset",
                                             "early-stopping", "start-from-epoch", "seed"};
const std::set<std::string> kNumberFlags = {"width-multiplier", "lr", "pue", "min-delta"};
const std::vector<std::string> kFlags = {
    "model",         "width-multiplier", "threads",   "batch-size", "epochs",     "data",      "dataset",
    "subset",        "test-subset",      "early-stopping", "min-delta", "start-from-epoch", "monitor",
    "energy-budget", "carbon-budget",    "carbon",    "pue",        "precision",  "device",    "lr",
    "optimizer",     "seed",             "config",    "resume",     "experiment", "run-name",  "tracking-uri",
    "quiet",         "channels-last",    "mean"};

}  // namespace

std::vector<std::string> TestFlagChecker::flag_names() const { return kFlags; }

Status TestFlagChecker::check(const std::string& name, const std::vector<std::string>& values) const {
  if (values.size() != 1 && name != "mean") return Status::invalid_argument("takes one value");
  for (const auto& v : values) {
    char* end = nullptr;
    if (kIntegerFlags.count(name)) {
      std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') return Status::invalid_argument("must be an integer (got '" + v + "')");
    } else if (kNumberFlags.count(name) || name == "mean") {
      std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') return Status::invalid_argument("must be a number (got '" + v + "')");
    }
  }
  return Status();
}

Result<TrainOutcome> FakeBackend::train(const TrainRequest& request) {
  std::string run_id;
  if (request.resume) {
    run_id = request.resume->info.run_id;
    WATTLAB_RETURN_IF_ERROR(store_.update_run(run_id, RunStatus::kRunning, std::nullopt));
    trained.push_back("resumed " + request.run_name);
  } else {
    auto experiment = store_.get_or_create_experiment(request.experiment);
    if (!experiment.ok()) return experiment.status();
    auto run = store_.create_run(*experiment, request.run_name, now_ms_);
    if (!run.ok()) return run.status();
    run_id = run->run_id;
    trained.push_back(request.run_name);
  }
  std::vector<RunTag> tags;
  for (const auto& [k, v] : request.tags) tags.push_back({k, v});
  tags.push_back({kHeartbeatTag, std::to_string(now_ms_)});
  WATTLAB_RETURN_IF_ERROR(store_.log_batch(run_id, {}, {}, tags));
  now_ms_ += 1000;

  TrainOutcome outcome;
  outcome.run_id = run_id;
  auto ending = endings_.find(request.run_name);
  if (ending != endings_.end()) {
    if (ending->second.checkpoint) checkpoints_.insert(run_id);
    outcome.status = ending->second.status;
    endings_.erase(ending);
    if (outcome.status == RunStatus::kKilled) return outcome;  // the process died: the run stays RUNNING
    WATTLAB_RETURN_IF_ERROR(store_.update_run(run_id, outcome.status, now_ms_));
    return outcome;
  }
  auto epochs = request.settings.find("epochs");
  const double n = epochs == request.settings.end() ? 1 : std::stod(epochs->second.values.front());
  outcome.energy_j = 10 * n;
  outcome.duration_s = 2 * n;
  WATTLAB_RETURN_IF_ERROR(store_.log_batch(
      run_id, {{"energy_j", outcome.energy_j, now_ms_, 0}, {"duration_s", outcome.duration_s, now_ms_, 0}}, {}, {}));
  WATTLAB_RETURN_IF_ERROR(store_.update_run(run_id, RunStatus::kFinished, now_ms_));
  return outcome;
}

Result<double> FakeBackend::idle_baseline(const std::string& experiment, double duration_s,
                                          const std::map<std::string, std::string>& tags) {
  auto id = store_.get_or_create_experiment(experiment);
  if (!id.ok()) return id.status();
  auto run = store_.create_run(*id, "idle-baseline", now_ms_);
  if (!run.ok()) return run.status();
  std::vector<RunTag> run_tags;
  for (const auto& [k, v] : tags) run_tags.push_back({k, v});
  WATTLAB_RETURN_IF_ERROR(store_.log_batch(run->run_id, {}, {}, run_tags));
  now_ms_ += static_cast<int64_t>(duration_s * 1000);
  WATTLAB_RETURN_IF_ERROR(store_.update_run(run->run_id, RunStatus::kFinished, now_ms_));
  trained.push_back("idle-baseline");
  return idle_w;
}

Result<double> FakeBackend::power_w(double window_s) {
  now_ms_ += static_cast<int64_t>(window_s * 1000);
  if (power_readings_w.empty()) return idle_w;
  const double p = power_readings_w.front();
  power_readings_w.erase(power_readings_w.begin());
  return p;
}

bool FakeBackend::wait_s(double seconds) {
  waits_s.push_back(seconds);
  now_ms_ += static_cast<int64_t>(seconds * 1000);
  return !stop_;
}

TempStore::TempStore() {
  static std::atomic<int> counter{0};
  dir_ = std::filesystem::temp_directory_path() /
         ("wattlab_study_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  auto store = Store::open((dir_ / "wattlab.db").string());
  if (store.ok()) store_ = std::move(*store);
}

TempStore::~TempStore() {
  store_.reset();
  std::filesystem::remove_all(dir_);
}

}  // namespace wattlab
