#include "wattlab/infer/latency.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace wattlab {

double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double h = (static_cast<double>(sorted.size()) - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

LatencySummary summarize_latencies(std::vector<double> latencies_ms) {
  LatencySummary s;
  if (latencies_ms.empty()) return s;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  s.count = static_cast<int64_t>(latencies_ms.size());
  s.mean_ms = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / static_cast<double>(s.count);
  s.min_ms = latencies_ms.front();
  s.max_ms = latencies_ms.back();
  s.p50_ms = quantile_sorted(latencies_ms, 0.50);
  s.p95_ms = quantile_sorted(latencies_ms, 0.95);
  s.p99_ms = quantile_sorted(latencies_ms, 0.99);
  return s;
}

EnergyMeasurement& EnergyMeasurement::operator+=(const EnergyMeasurement& other) {
  duration_s += other.duration_s;
  energy_j += other.energy_j;
  cpu_energy_j += other.cpu_energy_j;
  attributed_cpu_energy_j += other.attributed_cpu_energy_j;
  estimated = estimated || other.estimated;
  metered = metered || other.metered;
  return *this;
}

EnergyScope::EnergyScope(Monitor* monitor, Env& env, std::string name) : monitor_(monitor), env_(env) {
  auto cpu = read_process_tree_cpu_times(env_, getpid());
  if (cpu.ok()) cpu_before_ = *cpu;
  start_ms_ = env_.clock().monotonic_ms();
  if (monitor_) {
    auto window = monitor_->begin_window(std::move(name));
    if (window.ok()) window_ = *window;
    else begin_status_ = window.status();
  }
}

Result<EnergyMeasurement> EnergyScope::finish() {
  EnergyMeasurement m;
  m.duration_s = (env_.clock().monotonic_ms() - start_ms_) / 1000;
  if (monitor_) {
    if (!begin_status_.ok()) return begin_status_;
    auto window = monitor_->end_window(window_);
    if (!window.ok()) return window.status();
    m.metered = true;
    m.energy_j = window->energy_j();
    m.estimated = window->estimated();
    for (const auto& d : window->domains) {
      const bool cpu = d.name == "cpu-estimated" || (d.name.rfind("package-", 0) == 0 && d.name.find('/') == std::string::npos);
      if (cpu && d.counts_in_total) m.cpu_energy_j += d.energy_j;
    }
  }
  auto cpu_after = read_process_tree_cpu_times(env_, getpid());
  if (cpu_before_ && cpu_after.ok()) m.attributed_cpu_energy_j = m.cpu_energy_j * cpu_share(*cpu_before_, *cpu_after);
  return m;
}

}  // namespace wattlab
