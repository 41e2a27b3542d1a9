// The TDP-based estimates PRE is measured against, and what `wattlab
// estimate` falls back to when the store has too few runs to fit PRE:
//
//   Green Algorithms (Lannelongue et al., Adv. Sci. 2021), as the reference
//   study applied it:
//     power_w = CPU TDP per core × cores used × usage
//             + GPU power limit × usage (a CUDA device)
//             + 0.3725 W/GiB × RAM GiB
//     energy_j = power_w × duration_s
//   ML CO2 Impact (Lacoste et al. 2019): (CPU TDP per core × cores used, or
//   the GPU's power limit) × duration_s.
//
// Usage is 1 (full load), the calculators' default for training. Cores used
// are the run's threads; the TDP per core is the package TDP over the logical
// CPUs (PreEnvironment::cpu_tdp_w, which assumes 4 W per logical CPU for a
// CPU the table lacks).
#pragma once

#include <string>

#include "wattlab/analysis/pre.h"

namespace wattlab {

inline constexpr double kGreenAlgorithmsRamWPerGib = 0.3725;

// Green Algorithms' power draw of `environment` while it trains.
double green_algorithms_power_w(const PreEnvironment& environment);
// ML CO2 Impact's power draw of `environment`.
double ml_co2_impact_power_w(const PreEnvironment& environment);

// What a training would take with no measured run to go by: its time from
// its work (pre_work_macs) at an assumed throughput, its power from Green
// Algorithms. Only an order of magnitude: the interval is ÷3 .. ×3.
struct BaselinePrediction {
  double energy_per_epoch_j = 0, energy_low_j = 0, energy_high_j = 0;
  double duration_per_epoch_s = 0, duration_low_s = 0, duration_high_s = 0;
  double power_w = 0;
  // The assumptions, for the user: "Green Algorithms: 8.0 W CPU (4 W per
  // thread, CPU not in the TDP table) + 8.9 W RAM; time at an assumed 2
  // GMAC/s per thread".
  std::string assumptions;
};

// Assumed training throughput with no run to measure it by: multiply-
// accumulates per second per CPU thread, and of a CUDA GPU.
inline constexpr double kAssumedCpuMacsPerSecondPerThread = 2e9;
inline constexpr double kAssumedGpuMacsPerSecond = 2e12;

BaselinePrediction baseline_prediction(const PreWorkload& workload, const PreModelCost& cost);

}  // namespace wattlab
