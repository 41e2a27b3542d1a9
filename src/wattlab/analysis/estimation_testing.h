// Test support for PRE, estimate and advice (tests and bench/estimate_bench):
// finished training runs with the records `wattlab train` leaves (CONTRACTS.md),
// whose energy follows a known law, written straight into a store.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "wattlab/analysis/pre.h"
#include "wattlab/track/store.h"

namespace wattlab::testing {

// A folder under the system's temporary folder, removed with the object.
class TempFolder {
 public:
  explicit TempFolder(const std::string& name) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            (name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Model figures for the tests' lookup: MACs and parameters of three models
// at 28x28, MACs growing with the image area.
inline Result<PreModelCost> fake_model_cost(const PreModelShape& shape) {
  const double area = static_cast<double>(shape.height * shape.width) / 784.0;
  if (shape.model == "cnn") return PreModelCost{400'000, static_cast<int64_t>(2.5e6 * area)};
  if (shape.model == "lenet5") return PreModelCost{60'000, static_cast<int64_t>(4.2e5 * area)};
  if (shape.model == "resnet18") return PreModelCost{11'000'000, static_cast<int64_t>(1.4e8 * area)};
  return Status::invalid_argument("unknown model " + shape.model);
}

struct SyntheticTraining {
  std::string model = "cnn";
  int threads = 1;
  int64_t train_images = 2000;
  int64_t test_images = 1000;
  int64_t batch_size = 64;
  int epochs = 4;
  std::string cpu_model = "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz";
  std::string hostname = "host1";
  int cpu_count = 8;
  double ram_gib = 16.0;
  std::string experiment = "Default";
  std::string study;  // when set: a study trial (wattlab.study tags)
  std::string study_environment;
  int repetition = 1;
  double noise = 0.0;  // relative deviation of this run's energy from the law
  std::vector<double> f1_by_epoch;  // default: rising and levelling off
  int64_t end_time_ms = 1'700'000'000'000;
};

// The law the synthetic runs follow: power 20 W + 9 W per thread, throughput
// 3e8 MAC/s per thread^0.8, so energy per epoch = power × work / throughput.
inline double synthetic_power_w(int threads) { return 20.0 + 9.0 * threads; }
inline double synthetic_epoch_s(const SyntheticTraining& t) {
  const PreModelCost cost = *fake_model_cost({t.model, 1.0, 1, 28, 28, 10});
  const double work = static_cast<double>(cost.macs_per_image) * static_cast<double>(3 * t.train_images + t.test_images);
  return work / (3e8 * std::pow(t.threads, 0.8));
}

// Writes a FINISHED run of `t` into `store`; returns its id (empty on failure).
inline std::string add_synthetic_training(Store& store, const SyntheticTraining& t) {
  auto experiment_id = store.get_or_create_experiment(t.experiment);
  if (!experiment_id.ok()) return "";
  const double epoch_s = synthetic_epoch_s(t);
  const double power_w = synthetic_power_w(t.threads) * (1 + t.noise);
  const int64_t start_ms = t.end_time_ms - static_cast<int64_t>(epoch_s * t.epochs * 1000) - 1000;
  auto run = store.create_run(*experiment_id, t.model + "-t" + std::to_string(t.threads), start_ms);
  if (!run.ok()) return "";
  std::vector<Param> params = {{"model", t.model},
                               {"width_multiplier", "1"},
                               {"image_size", "28x28"},
                               {"channels", "1"},
                               {"num_classes", "10"},
                               {"batch_size", std::to_string(t.batch_size)},
                               {"train_images", std::to_string(t.train_images)},
                               {"val_images", "0"},
                               {"test_images", std::to_string(t.test_images)},
                               {"threads", std::to_string(t.threads)},
                               {"device", "cpu"},
                               {"precision", "fp32"},
                               {"epochs", std::to_string(t.epochs)}};
  std::vector<Metric> metrics;
  double energy_j = 0;
  for (int e = 1; e <= t.epochs; ++e) {
    const double epoch_j = power_w * epoch_s;
    energy_j += epoch_j;
    const double f1 = e <= static_cast<int>(t.f1_by_epoch.size()) ? t.f1_by_epoch[static_cast<size_t>(e) - 1]
                                                                   : 0.9 - 0.3 * std::pow(0.5, e);
    const int64_t at = start_ms + static_cast<int64_t>(e * epoch_s * 1000);
    metrics.push_back({"train_energy_j", epoch_j * 0.8, at, e});
    metrics.push_back({"eval_energy_j", epoch_j * 0.2, at, e});
    metrics.push_back({"f1_macro", f1, at, e});
  }
  energy_j += power_w * 1.0;  // a second of set-up
  metrics.push_back({"energy_j", energy_j, t.end_time_ms, 0});
  metrics.push_back({"duration_s", epoch_s * t.epochs + 1.0, t.end_time_ms, 0});
  std::vector<RunTag> tags;
  if (!t.study.empty()) {
    tags = {{"wattlab.study", t.study},
            {"wattlab.study.role", "trial"},
            {"wattlab.study.model", t.model},
            {"wattlab.study.environment", t.study_environment},
            {"wattlab.study.repetition", std::to_string(t.repetition)}};
  }
  if (!store.log_batch(run->run_id, metrics, params, tags).ok()) return "";
  const std::map<std::string, std::string> environment = {{"cpu_model", t.cpu_model},
                                                          {"cpu_count", std::to_string(t.cpu_count)},
                                                          {"ram_gib", std::to_string(t.ram_gib)},
                                                          {"hostname", t.hostname},
                                                          {"threads", std::to_string(t.threads)},
                                                          {"device", "cpu"}};
  if (!store.set_environment(run->run_id, environment).ok()) return "";
  if (!store.update_run(run->run_id, RunStatus::kFinished, t.end_time_ms).ok()) return "";
  return run->run_id;
}

}  // namespace wattlab::testing
