#include "wattlab/analysis/energy_baseline.h"

#include <algorithm>
#include <cstdio>

#include "wattlab/energy/cpu_tdp.h"

namespace wattlab {

namespace {

bool on_gpu(const PreEnvironment& e) { return e.device.rfind("cuda", 0) == 0; }

double cpu_power_w(const PreEnvironment& e) {
  const int cores = std::max(e.cpu_count, 1);
  return e.cpu_tdp_w / cores * std::clamp(e.threads, 1, cores);
}

}  // namespace

double green_algorithms_power_w(const PreEnvironment& e) {
  return cpu_power_w(e) + (on_gpu(e) ? e.gpu_power_limit_w : 0.0) + kGreenAlgorithmsRamWPerGib * e.ram_gib;
}

double ml_co2_impact_power_w(const PreEnvironment& e) {
  return on_gpu(e) && e.gpu_power_limit_w > 0 ? e.gpu_power_limit_w : cpu_power_w(e);
}

BaselinePrediction baseline_prediction(const PreWorkload& workload, const PreModelCost& cost) {
  const PreEnvironment& e = workload.environment;
  BaselinePrediction b;
  const double macs_per_second =
      on_gpu(e) ? kAssumedGpuMacsPerSecond : kAssumedCpuMacsPerSecondPerThread * std::max(e.threads, 1);
  b.duration_per_epoch_s = pre_work_macs(workload, cost) / macs_per_second;
  b.power_w = green_algorithms_power_w(e);
  b.energy_per_epoch_j = b.power_w * b.duration_per_epoch_s;
  b.energy_low_j = b.energy_per_epoch_j / 3;
  b.energy_high_j = b.energy_per_epoch_j * 3;
  b.duration_low_s = b.duration_per_epoch_s / 3;
  b.duration_high_s = b.duration_per_epoch_s * 3;
  const bool known_cpu = !e.cpu_model.empty() && lookup_cpu_tdp_w(e.cpu_model).has_value();
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "Green Algorithms: %.1f W CPU (%s) + %s%.1f W RAM (0.3725 W/GiB x %.1f GiB), at full load; time at "
                "an assumed %s",
                cpu_power_w(e), known_cpu ? "its TDP per core x threads" : "4 W per thread: CPU not in the TDP table",
                on_gpu(e) ? (std::to_string(static_cast<int>(e.gpu_power_limit_w)) + " W GPU + ").c_str() : "",
                kGreenAlgorithmsRamWPerGib * e.ram_gib, e.ram_gib,
                on_gpu(e) ? "2 TMAC/s on the GPU" : "2 GMAC/s per thread");
  b.assumptions = buf;
  return b;
}

}  // namespace wattlab
