#include "wattlab/energy/idle_baseline.h"

#include <algorithm>
#include <cmath>

namespace wattlab {

Result<IdleBaseline> measure_idle_baseline(Monitor& monitor, Clock& clock, double duration_ms,
                                           SleepInterrupt* interrupt) {
  if (!(std::isfinite(duration_ms) && duration_ms > 0)) {
    return Status::invalid_argument("idle baseline: the duration must be positive, got " +
                                    std::to_string(duration_ms) + " ms");
  }
  auto id = monitor.begin_window("idle-baseline");
  if (!id.ok()) return id.status().with_context("idle baseline");
  const double end_ms = clock.monotonic_ms() + duration_ms;
  for (double now_ms = clock.monotonic_ms(); now_ms < end_ms; now_ms = clock.monotonic_ms()) {
    if (clock.sleep_ms(end_ms - now_ms, interrupt)) {
      (void)monitor.end_window(*id);
      return Status::cancelled("idle baseline interrupted before its " + std::to_string(duration_ms / 1000.0) +
                               " s were up");
    }
  }
  auto window = monitor.end_window(*id);
  if (!window.ok()) return window.status().with_context("idle baseline");
  IdleBaseline baseline;
  baseline.domains = monitor.domains();
  baseline.duration_s = window->duration_s;
  for (const DomainEnergy& domain : window->domains) {
    baseline.power_w.push_back(window->duration_s > 0 ? domain.energy_j / window->duration_s : 0.0);
  }
  return baseline;
}

std::vector<DomainEnergySplit> split_static_dynamic(const EnergyWindow& window, const IdleBaseline& baseline) {
  std::vector<DomainEnergySplit> out;
  for (const DomainEnergy& domain : window.domains) {
    DomainEnergySplit split;
    split.name = domain.name;
    split.estimated = domain.estimated;
    split.counts_in_total = domain.counts_in_total;
    double idle_w = 0;
    for (size_t i = 0; i < baseline.domains.size() && i < baseline.power_w.size(); ++i) {
      if (baseline.domains[i].name == domain.name) idle_w = baseline.power_w[i];
    }
    const double energy_j = std::max(0.0, domain.energy_j);
    split.static_j = std::min(energy_j, std::max(0.0, idle_w) * window.duration_s);
    split.dynamic_j = energy_j - split.static_j;
    out.push_back(std::move(split));
  }
  return out;
}

}  // namespace wattlab
