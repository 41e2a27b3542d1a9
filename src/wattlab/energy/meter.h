// Meters: where energy figures come from. A Meter exposes named domains, each
// read as a cumulative energy counter in joules. Hardware counters (RAPL, NVML
// total energy) are read directly; power-only sources integrate inside the
// meter; modelled figures come from the estimator and are flagged estimated.
// Exact reads serve energy windows; the sampler's power timeline may use a
// cheaper approximate read (sample_energy_j) where a counter is costly.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct EnergyDomain {
  std::string name;        // "package-0", "package-0/dram", "psys", "gpu-0", "cpu-estimated"...
  bool estimated = false;  // true when the figure is modelled, not read from a hardware counter
  // False when the domain's energy is already inside another domain's, so a
  // machine total must skip it: RAPL core/uncore (inside their package) and
  // psys (the whole SoC, which contains the packages). Totals are the sum of
  // the domains with counts_in_total; the others are detail.
  bool counts_in_total = true;
};

class Meter {
 public:
  virtual ~Meter() = default;
  // Short identifier of the source: "estimator", "rapl", "nvml".
  virtual std::string name() const = 0;
  // The domains this meter reports, fixed for the meter's lifetime.
  virtual const std::vector<EnergyDomain>& domains() const = 0;
  // Fills `energy_j` (resized to domains().size()) with each domain's energy
  // in joules accumulated since the meter was created. Values never decrease.
  // Must be called at least every max_read_interval_ms() so that counter
  // wraparounds are not lost. Not thread-safe: the Monitor serialises calls.
  virtual Status read_energy_j(std::vector<double>* energy_j) = 0;
  // The sampler's reading for the power timeline, which may trade exactness
  // for cost: like read_energy_j(), but a meter whose exact read is costly
  // may answer from a cheaper source (NVML: power integrated since the last
  // counter read) that can run ahead of or behind the exact figure by its
  // approximation error until the meter's next exact read puts it right.
  // Energy windows never use it. The default is the exact read.
  virtual Status sample_energy_j(std::vector<double>* energy_j) { return read_energy_j(energy_j); }
  // Longest safe gap between two reads, in milliseconds.
  virtual double max_read_interval_ms() const { return 1000.0; }
};

}  // namespace wattlab
