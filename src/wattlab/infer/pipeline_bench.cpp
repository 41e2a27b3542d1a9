#include "wattlab/infer/pipeline_bench.h"

#include <time.h>

#include <chrono>

namespace wattlab {

namespace {
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

Result<PipelineBenchResult> bench_pipeline(const std::vector<PipelineStage>& stages, const PipelineBenchOptions& options) {
  if (stages.empty()) return Status::invalid_argument("a pipeline benchmark needs at least one stage");
  for (const auto& stage : stages)
    if (!stage.run) return Status::invalid_argument("pipeline stage \"" + stage.name + "\" has nothing to run");
  if (options.items < 1 || options.block_items < 1 || options.warmup_items < 0)
    return Status::invalid_argument("a pipeline benchmark needs items and block_items of at least 1 and warmup_items >= 0");
  Env& env = options.env ? *options.env : Env::system();
  auto run = [&](size_t k, int64_t item) -> Status {
    Status s = stages[k].run(item);
    return s.ok() ? s : s.with_context("stage \"" + stages[k].name + "\", item " + std::to_string(item));
  };
  for (int64_t i = 0; i < std::min(options.warmup_items, options.items); ++i)
    for (size_t k = 0; k < stages.size(); ++k) WATTLAB_RETURN_IF_ERROR(run(k, i));

  std::vector<std::vector<double>> latency_ms(stages.size(), std::vector<double>(static_cast<size_t>(options.items)));
  std::vector<EnergyMeasurement> energy(stages.size());
  std::vector<double> cpu_s(stages.size(), 0.0);
  for (int64_t begin = 0; begin < options.items; begin += options.block_items) {
    const int64_t end = std::min(options.items, begin + options.block_items);
    for (size_t k = 0; k < stages.size(); ++k) {
      EnergyScope scope(options.monitor, env, stages[k].name);
      const double cpu_start = thread_cpu_s();
      for (int64_t i = begin; i < end; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        WATTLAB_RETURN_IF_ERROR(run(k, i));
        latency_ms[k][i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      }
      cpu_s[k] += thread_cpu_s() - cpu_start;
      auto measured = scope.finish();
      if (!measured.ok()) return measured.status();
      energy[k] += *measured;
    }
  }

  PipelineBenchResult result;
  result.items = options.items;
  std::vector<double> end_to_end(static_cast<size_t>(options.items), 0.0);
  double total_s = 0, total_cpu_s = 0;
  for (size_t k = 0; k < stages.size(); ++k) {
    StageResult stage;
    stage.name = stages[k].name;
    for (int64_t i = 0; i < options.items; ++i) {
      end_to_end[i] += latency_ms[k][i];
      stage.total_s += latency_ms[k][i] / 1000;
    }
    stage.latency = summarize_latencies(latency_ms[k]);
    stage.cpu_s = cpu_s[k];
    total_cpu_s += cpu_s[k];
    stage.energy = energy[k];
    result.energy += energy[k];
    total_s += stage.total_s;
    result.stages.push_back(std::move(stage));
  }
  for (auto& stage : result.stages) {
    stage.latency_share = total_s > 0 ? stage.total_s / total_s : 0;
    stage.energy_share = result.energy.energy_j > 0 ? stage.energy.energy_j / result.energy.energy_j : 0;
  }
  result.latency = summarize_latencies(std::move(end_to_end));
  result.items_per_s = total_s > 0 ? static_cast<double>(options.items) / total_s : 0;
  result.items_per_cpu_s = total_cpu_s > 0 ? static_cast<double>(options.items) / total_cpu_s : 0;
  result.energy_per_item_j = result.energy.energy_j / static_cast<double>(options.items);
  result.attributed_cpu_energy_per_item_j = result.energy.attributed_cpu_energy_j / static_cast<double>(options.items);
  return result;
}

}  // namespace wattlab
