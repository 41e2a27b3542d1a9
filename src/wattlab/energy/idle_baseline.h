// Idle baseline: the power each domain draws while the machine does nothing
// for us, measured before a run so that reports can split a window's energy
// into static (idle power × duration) and dynamic (the rest) parts.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"
#include "wattlab/energy/meter.h"
#include "wattlab/energy/monitor.h"

namespace wattlab {

struct IdleBaseline {
  std::vector<EnergyDomain> domains;  // Monitor::domains(), in order
  std::vector<double> power_w;        // mean power per domain over the measurement
  double duration_s = 0;              // how long it was measured
};

// Measures the mean power of every domain of `monitor` over `duration_ms`
// (> 0) of `clock` (normally the monitor's Env clock), through an energy
// window named "idle-baseline". The caller keeps the machine idle meanwhile.
// Cancelled when `interrupt` (if given) is triggered before the time is up
// (e.g. on Ctrl-C); a meter's error otherwise.
Result<IdleBaseline> measure_idle_baseline(Monitor& monitor, Clock& clock, double duration_ms,
                                           SleepInterrupt* interrupt = nullptr);

struct DomainEnergySplit {
  std::string name;
  double static_j = 0;   // idle power × window duration, at most the window's energy
  double dynamic_j = 0;  // the window's energy above that; never negative
  bool estimated = false;
  bool counts_in_total = true;
};

// Splits each domain of `window` with the baseline's power for the domain of
// the same name; a domain the baseline lacks is all dynamic.
std::vector<DomainEnergySplit> split_static_dynamic(const EnergyWindow& window, const IdleBaseline& baseline);

}  // namespace wattlab
