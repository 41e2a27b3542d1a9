// Attribution: how much of the machine's energy during a run was the run's.
//
// Meters read the whole machine (RAPL packages, the estimator's model of the
// CPU and RAM), so on a shared machine a run's figures include its
// neighbours' work. Beside every machine figure wattlab records the run's
// attributed share, domain by domain (those that count in the total):
//
//   CPU side (package-N, psys, cpu-estimated): × the run's share of the CPU
//     time the machine used, Δtree/Δbusy (process_cpu_share.h, the process
//     tree of the run). Under a power model linear in utilisation (the
//     estimator's; roughly RAPL's) the dynamic energy is split exactly by CPU
//     time; the idle power is split among the processes that ran, so a run
//     keeps less of it when others run (at most the idle share of the CPU's
//     power: 10 % of TDP in the estimator).
//   RAM (ram-estimated, */dram): × the run's mean resident memory over the
//     installed memory. With the estimator, whose RAM power is installed GiB ×
//     0.375 W/GiB, that is resident GiB × 0.375 W/GiB: the reference study's
//     "memory in use × 3.75e-4 W per MB", counting the run's memory only.
//   GPU (gpu-N): whole; the run is taken to have its GPUs to itself.
#pragma once

#include <cstdint>
#include <string>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"

namespace wattlab {

// One line for records and READMEs: how attribute() splits the energy.
inline constexpr const char* kAttributionMethod =
    "cpu: x the run's share of the CPU time used on the machine (/proc ticks); "
    "ram: x mean resident memory / installed memory; gpu: whole";

enum class DomainKind { kCpu, kRam, kGpu };
// The kind of an energy domain by its name (see above); anything that is not
// RAM or a GPU counts as CPU side.
DomainKind domain_kind(const std::string& domain_name);

struct AttributionShares {
  double cpu_busy_share = 1;  // the run's share of the CPU time used, [0, 1]
  double ram_share = 1;       // the run's resident memory / installed memory, [0, 1]
};

// A window's energy that is the run's, per kind of domain, joules.
struct AttributedEnergy {
  double cpu_j = 0;
  double ram_j = 0;
  double gpu_j = 0;
  double energy_j() const { return cpu_j + ram_j + gpu_j; }
};

// The domains of `window` that count in the total, each times its kind's share.
AttributedEnergy attribute_energy(const EnergyWindow& window, const AttributionShares& shares);

// The resident memory of process `pid` (VmRSS of /proc/PID/status under
// env's proc root), bytes. NotFound when the process is gone; Corrupt naming
// the file when it holds no VmRSS line.
Result<double> read_resident_bytes(Env& env, int pid);
// The machine's installed memory (MemTotal of /proc/meminfo), bytes. An
// error naming the file when it cannot be read or parsed.
Result<double> read_installed_memory_bytes(Env& env);

// The time-weighted mean of a quantity sampled at instants (resident memory
// through a run): samples are joined by straight lines.
class TimeWeightedMean {
 public:
  // A sample `value` at `monotonic_ms`, which must not precede the previous one's.
  void add(double monotonic_ms, double value);
  // The mean over the span of the samples; the only sample's value when the
  // span is empty, 0 before any sample.
  double mean() const;

 private:
  double first_ms_ = 0;
  double last_ms_ = 0;
  double last_value_ = 0;
  double area_ = 0;  // integral of the joined samples, value x ms
  int samples_ = 0;
};

}  // namespace wattlab
