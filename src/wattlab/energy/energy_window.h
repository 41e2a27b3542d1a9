// The energy of a named stretch of time (an epoch, an evaluation, a whole
// run), per domain. Produced by Monitor::end_window(); persisted by the
// tracking store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wattlab {

struct DomainEnergy {
  std::string name;        // the EnergyDomain name: "package-0", "cpu-estimated"...
  double energy_j = 0;     // energy used in the window, joules
  bool estimated = false;  // modelled rather than read from a hardware counter
  bool counts_in_total = true;  // false when inside another domain (EnergyDomain::counts_in_total)
};

struct EnergyWindow {
  std::string name;       // as given to begin_window(), e.g. "epoch 3"
  int64_t start_ms = 0;   // wall clock, milliseconds since the Unix epoch
  int64_t end_ms = 0;     // wall clock, milliseconds since the Unix epoch
  double duration_s = 0;  // from the monotonic clock, so immune to wall-clock steps
  std::vector<DomainEnergy> domains;  // in Monitor::domains() order

  // Sum over the domains that count in the total (so RAPL core/uncore and
  // psys are not counted twice), joules. Mixes measured and estimated figures
  // when both are present; check estimated() before presenting it as measured.
  double energy_j() const;
  // True if any domain is estimated.
  bool estimated() const;
};

// Mean power of each domain over one sampling interval.
struct PowerSample {
  int64_t timestamp_ms = 0;     // wall clock at the end of the interval, ms since the Unix epoch
  std::vector<double> power_w;  // per domain, in Monitor::domains() order
};

}  // namespace wattlab
