#include "wattlab/infer/model_bench.h"

#include <chrono>
#include <random>
#include <vector>

namespace wattlab {

Result<ModelBenchResult> bench_model(SavedClassifier& classifier, const ModelBenchConfig& config, Monitor* monitor,
                                     Env* env) {
  if (config.batch_size < 1) return Status::invalid_argument("batch size must be at least 1 (got " + std::to_string(config.batch_size) + ")");
  if (config.threads < 1) return Status::invalid_argument("threads must be at least 1 (got " + std::to_string(config.threads) + ")");
  if (!(config.warmup_s >= 0) || !(config.duration_s > 0))
    return Status::invalid_argument("the warm-up must be >= 0 s and the duration > 0 s");
  Env& e = env ? *env : Env::system();
  std::vector<uint8_t> images(static_cast<size_t>(config.batch_size * classifier.image_bytes()));
  std::mt19937_64 rng(config.seed);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : images) b = static_cast<uint8_t>(byte(rng));
  std::vector<float> probabilities(static_cast<size_t>(config.batch_size * classifier.info().num_classes));

  const int previous_threads = set_inference_threads(config.threads);
  auto call = [&] { return classifier.predict(images.data(), config.batch_size, probabilities.data()); };
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  Status failed;
  const auto warmup_start = Clock::now();
  while (failed.ok() && seconds_since(warmup_start) < config.warmup_s) failed = call();
  std::vector<double> latency_ms;
  EnergyScope scope(monitor, e, "infer-bench b" + std::to_string(config.batch_size) + " t" + std::to_string(config.threads));
  const auto start = Clock::now();
  while (failed.ok() && (latency_ms.empty() || seconds_since(start) < config.duration_s)) {
    const auto t0 = Clock::now();
    failed = call();
    latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  auto energy = scope.finish();
  set_inference_threads(previous_threads);
  WATTLAB_RETURN_IF_ERROR(failed);
  if (!energy.ok()) return energy.status();

  ModelBenchResult r;
  r.config = config;
  r.calls = static_cast<int64_t>(latency_ms.size());
  r.inferences = r.calls * config.batch_size;
  double busy_ms = 0;
  for (double ms : latency_ms) busy_ms += ms;
  r.latency = summarize_latencies(std::move(latency_ms));
  r.inferences_per_s = busy_ms > 0 ? r.inferences / (busy_ms / 1000) : 0;
  r.energy = *energy;
  r.energy_per_inference_j = r.energy.energy_j / static_cast<double>(r.inferences);
  r.attributed_cpu_energy_per_inference_j = r.energy.attributed_cpu_energy_j / static_cast<double>(r.inferences);
  return r;
}

}  // namespace wattlab
