// Latency distributions and the energy of a stretch of inference work, for
// the inference benchmarks (model_bench.h, pipeline_bench.h). Torch-free.
#pragma once

#include <optional>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/energy/process_cpu_share.h"

namespace wattlab {

// Percentiles of every measured latency (not of averages), by linear
// interpolation between order statistics (NumPy's default, type 7).
struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0;
  double min_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};
// All zero for no samples.
LatencySummary summarize_latencies(std::vector<double> latencies_ms);
// The q-quantile (q in [0, 1]) of `sorted` (ascending, non-empty), type 7.
double quantile_sorted(const std::vector<double>& sorted, double q);

// Energy of one stretch of work, from a Monitor's window: the machine's total
// (every domain that counts in it), its CPU part, and this process's share of
// the machine's CPU time over the stretch, by which the CPU part is
// attributed to the process (as `wattlab measure` does).
struct EnergyMeasurement {
  double duration_s = 0;
  double energy_j = 0;          // machine-wide, all domains counted in the total
  double cpu_energy_j = 0;      // its CPU domains (RAPL packages or the estimator's CPU)
  // cpu_energy_j x this process's share of the machine's CPU capacity over
  // the stretch: the CPU energy the process is held to account for.
  double attributed_cpu_energy_j = 0;
  bool estimated = false;       // some figure is modelled rather than measured
  bool metered = false;         // a monitor measured it (else only the duration is known)

  // Sums of two stretches.
  EnergyMeasurement& operator+=(const EnergyMeasurement& other);
};

// Opens an energy window and a CPU-time snapshot of this process on
// construction; finish() closes them. With a null monitor it measures time only.
class EnergyScope {
 public:
  EnergyScope(Monitor* monitor, Env& env, std::string name);
  EnergyScope(const EnergyScope&) = delete;
  EnergyScope& operator=(const EnergyScope&) = delete;
  // The stretch since construction. Errors: the monitor's (a failed meter
  // read, naming the meter). Call once.
  Result<EnergyMeasurement> finish();

 private:
  Monitor* monitor_;
  Env& env_;
  Status begin_status_;
  WindowId window_ = 0;
  std::optional<CpuTimesSnapshot> cpu_before_;
  double start_ms_ = 0;
};

}  // namespace wattlab
