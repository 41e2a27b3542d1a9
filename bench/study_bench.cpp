// What a study's orchestration costs, training excluded (issue 14's goals):
//   - per trial, as a Slurm array task pays it: read the spec, expand it, look
//     the trial up in the store, record the study, and the bookkeeping around
//     the training (goal < 50 ms);
//   - per trial in the local executor (the study's state read once);
//   - `study status` of a 10,000-trial study: the recorded spec, its
//     expansion, every trial's run, the summary (goal < 200 ms).
// On a SQLite store in a temporary folder; medians of repeated runs.
//   build/bench/study_bench [--trials-per-pair 100]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/study/executor.h"
#include "wattlab/study/study_state.h"
#include "wattlab/study/study_testing.h"

namespace {

using namespace wattlab;
namespace fs = std::filesystem;

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Trains nothing: every trial "finishes" at once, without touching the store.
class NullBackend : public StudyBackend {
 public:
  Result<TrainOutcome> train(const TrainRequest&) override { return TrainOutcome{}; }
  bool has_checkpoint(const RunData&) override { return false; }
  Result<double> idle_baseline(const std::string&, double, const std::map<std::string, std::string>&) override {
    return 0.0;
  }
  Result<double> power_w(double) override { return 0.0; }
  bool wait_s(double) override { return true; }
  bool stop_requested() override { return false; }
  int64_t now_ms() override { return Env::system().clock().wall_ms(); }
};

std::string spec_text(const std::string& name, int repetitions) {
  std::string text = "name: " + name + "\nepochs: 2\nmodels:\n";
  for (int m = 0; m < 10; ++m) text += "  - {model: cnn, name: m" + std::to_string(m) + ", width-multiplier: 0." + std::to_string(m + 1) + "}\n";
  text += "environments:\n";
  for (int e = 0; e < 10; ++e) text += "  - {name: e" + std::to_string(e) + ", threads: " + std::to_string(e % 2 + 1) + ", batch-size: " + std::to_string(32 << (e % 3)) + "}\n";
  return text + "repetitions: " + std::to_string(repetitions) + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = 100;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--trials-per-pair") == 0) repetitions = std::atoi(argv[i + 1]);
  }
  TempStore temp;
  Store& store = temp.store();
  TestFlagChecker checker;
  const std::string spec_path = (temp.dir() / "big.yaml").string();
  std::ofstream(spec_path) << spec_text("big", repetitions);
  auto spec = read_study_spec(spec_path, checker);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().to_string().c_str());
    return 1;
  }
  const std::vector<Trial> trials = expand_trials(*spec);

  // Every trial finished but 1 % of them, as a long study nearly done would be.
  double t0 = now_ms();
  auto experiment = record_study(store, *spec);
  std::vector<int> pending;
  for (const Trial& t : trials) {
    if (t.index % 100 == 7) {
      pending.push_back(t.index);
      continue;
    }
    auto run = store.create_run(*experiment, t.key, 1'700'000'000'000);
    std::vector<RunTag> tags;
    for (const auto& [k, v] : trial_tags(*spec, t)) tags.push_back({k, v});
    store.log_batch(run->run_id,
                    {{"energy_j", 100.0 + t.index % 17, 0, 0}, {"duration_s", 10.0 + t.index % 5, 0, 0},
                     {"accuracy", 0.9, 0, 0}},
                    {}, tags);
    store.update_run(run->run_id, RunStatus::kFinished, 1'700'000'010'000);
  }
  std::printf("study_bench: %zu trials (%zu pending) written in %.1f s, SQLite in %s\n", trials.size(),
              pending.size(), (now_ms() - t0) / 1000, temp.dir().c_str());

  // `study status NAME`.
  std::vector<double> status_ms;
  for (int rep = 0; rep < 9; ++rep) {
    const double start = now_ms();
    auto text = recorded_study_spec(store, "big");
    auto recorded = parse_study_spec("big", *text, checker);
    auto all = expand_trials(*recorded);
    auto state = load_study_state(store, *recorded, all, Env::system().clock().wall_ms(), kDefaultStaleAfterMs, false);
    StudySummary s = summarize(*state);
    status_ms.push_back(now_ms() - start);
    if (s.finished + s.pending != s.total) return 1;
  }
  std::printf("study status of %zu trials: median %.1f ms (goal < 200 ms)\n", trials.size(), median(status_ms));

  // One trial as a Slurm task runs it: read the spec file, expand, find the trial, record, run (no training).
  NullBackend backend;
  std::vector<double> task_ms;
  for (int index : pending) {
    const double start = now_ms();
    auto task_spec = read_study_spec(spec_path, checker);
    StudyRunOptions options;
    options.index = index;
    auto result = run_study(store, *task_spec, backend, options);
    task_ms.push_back(now_ms() - start);
    if (!result.ok() || result->ran != 1) {
      std::fprintf(stderr, "trial %d: %s\n", index, result.ok() ? "did not run" : result.status().to_string().c_str());
      return 1;
    }
  }
  std::printf("one trial as a Slurm task (spec read, expansion, store lookups): median %.2f ms over %zu trials "
              "(goal < 50 ms)\n", median(task_ms), task_ms.size());

  // The local executor over a fresh 1,000-trial study: state read once, then each trial.
  std::ofstream(spec_path) << spec_text("local", 10);
  auto local = read_study_spec(spec_path, checker);
  std::vector<double> local_ms;
  for (int rep = 0; rep < 3; ++rep) {
    const double start = now_ms();
    auto result = run_study(store, *local, backend, StudyRunOptions{});
    local_ms.push_back((now_ms() - start) / static_cast<double>(result->ran));
  }
  std::printf("local executor, per trial of a 1,000-trial study: median %.3f ms\n", median(local_ms));
  char cpu[256] = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      std::snprintf(cpu, sizeof cpu, "%s", line.substr(line.find(':') + 2).c_str());
      break;
    }
  }
  std::printf("CPU: %s\n", cpu);
  return 0;
}
