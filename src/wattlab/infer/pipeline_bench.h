// Times a user's inference pipeline stage by stage (pre-processing, model,
// post-processing, ...), so that each stage's share of the latency and of
// the energy shows. Torch-free: a stage is any callable.
//
//   std::vector<PipelineStage> stages = {
//       {"locate", [&](int64_t i) { return locate(images[i], &crops[i]); }},
//       {"classify", [&](int64_t i) { return classify(crops[i], &probabilities[i]); }},
//       {"decode", [&](int64_t i) { return decode(probabilities[i], &fens[i]); }}};
//   auto result = bench_pipeline(stages, {.items = 200, .monitor = monitor});
//
// Items run in blocks: each stage runs over a whole block of items under an
// energy window of its own before the next stage starts, so a stage's energy
// is measured (not apportioned by time); every (item, stage) call is timed.
// A stage must therefore keep its per-item output until the next stage has
// run on that item (a vector indexed by item, as above).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/infer/latency.h"

namespace wattlab {

struct PipelineStage {
  std::string name;
  // Processes item `item` (0-based); an error stops the benchmark.
  std::function<Status(int64_t item)> run;
};

struct PipelineBenchOptions {
  int64_t items = 0;          // items to process, at least 1
  int64_t block_items = 32;   // items per block (per energy window of a stage), at least 1
  int64_t warmup_items = 0;   // items processed first, untimed (caches, lazy initialisation); they
                              // are items 0..warmup_items-1 and are then processed again, timed
  Monitor* monitor = nullptr; // started monitor for energy windows; null: latency only
  Env* env = nullptr;         // for the clock and this process's CPU time; null: Env::system()
};

struct StageResult {
  std::string name;
  LatencySummary latency;      // per item
  double total_s = 0;          // sum of the item latencies
  double cpu_s = 0;            // CPU time of the calling thread over the stage's calls (work done
                               // on other threads, e.g. LibTorch's with several, is not in it)
  double latency_share = 0;    // total_s over all stages' total_s
  EnergyMeasurement energy;    // the stage's windows summed
  double energy_share = 0;     // energy.energy_j over all stages' (0 without a monitor)
};

struct PipelineBenchResult {
  std::vector<StageResult> stages;  // in pipeline order
  LatencySummary latency;           // per item, end to end: the sum of its stages' latencies
  int64_t items = 0;
  double items_per_s = 0;           // items / the sum of all stage latencies
  double items_per_cpu_s = 0;       // items / the calling thread's CPU time over all stages: the
                                    // throughput on one unshared core when the stages use one thread
  EnergyMeasurement energy;         // all stages
  double energy_per_item_j = 0;     // energy.energy_j / items (machine-wide)
  double attributed_cpu_energy_per_item_j = 0;  // energy.attributed_cpu_energy_j / items
};

// Runs `stages` over options.items items as described above. InvalidArgument
// for no stages, a stage without a callable, or items / block_items below 1;
// the first error a stage returns (its message prefixed by the stage's name
// and the item); the monitor's errors.
Result<PipelineBenchResult> bench_pipeline(const std::vector<PipelineStage>& stages, const PipelineBenchOptions& options);

}  // namespace wattlab
