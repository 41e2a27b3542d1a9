// Benchmarks a saved classifier's inference: for one configuration (batch
// size, threads), every call is timed and the stretch metered, giving the
// latency distribution, throughput and energy per inference. `wattlab
// infer-bench` runs one per configuration and tracks each as a run.
// The API is free of LibTorch.
#pragma once

#include <cstdint>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/infer/classifier.h"
#include "wattlab/infer/latency.h"

namespace wattlab {

struct ModelBenchConfig {
  int64_t batch_size = 1;  // images per call, at least 1
  int threads = 1;         // LibTorch intra-op threads during the benchmark, at least 1
  double warmup_s = 2;     // calls made first, untimed and unmetered, for this long
  double duration_s = 10;  // then calls timed and metered for (at least) this long, at least one call
  uint64_t seed = 1;       // the input images: uniform random bytes from this seed
};

struct ModelBenchResult {
  ModelBenchConfig config;
  int64_t calls = 0;          // timed calls
  int64_t inferences = 0;     // images classified in them (calls x batch_size)
  LatencySummary latency;     // of every timed call (one batch), milliseconds
  double inferences_per_s = 0;  // inferences / the timed calls' summed latency
  EnergyMeasurement energy;     // of the timed stretch
  double energy_per_inference_j = 0;  // energy.energy_j / inferences (machine-wide)
  double attributed_cpu_energy_per_inference_j = 0;  // energy.attributed_cpu_energy_j / inferences
};

// Runs `config` on `classifier` (predict on random images, so the data's
// content costs nothing to read). `monitor` (started) meters the timed
// stretch; null: latency only. Errors: InvalidArgument for a bad config (the
// field named), the classifier's and the monitor's errors.
Result<ModelBenchResult> bench_model(SavedClassifier& classifier, const ModelBenchConfig& config, Monitor* monitor,
                                     Env* env = nullptr);

}  // namespace wattlab
