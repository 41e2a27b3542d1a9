// CpuRamEstimatorMeter: modelled CPU and RAM energy for machines without
// hardware counters (VMs, containers, most laptops). Its two domains,
// "cpu-estimated" and "ram-estimated", are always flagged estimated.
//
// The model (after CodeCarbon; the figures are theirs unless stated):
//
//   CPU power_w = package_share × (idle_w + (tdp_w − idle_w) × utilisation)
//     tdp_w        TDP of one CPU package: EstimatorOptions::cpu_tdp_w if set,
//                  else the builtin table (cpu_tdp.h) looked up by the first
//                  "model name" in /proc/cpuinfo. Unknown model: 4 W per
//                  logical CPU (CodeCarbon's per-thread figure for unknown
//                  CPUs) × the logical CPUs visible, treated as one package.
//     idle_w       cpu_idle_fraction × tdp_w; default 10 % (wattlab's choice:
//                  a loaded-vs-idle ratio typical of server parts).
//     package_share  how many packages the TDP applies to: the number of
//                  distinct "physical id" values in /proc/cpuinfo (at least 1)
//                  for table or user TDPs, 1 for the per-thread fallback;
//                  EstimatorOptions::cpu_package_share overrides it (in a VM
//                  that sees 8 of a 64-thread package, 8/64 = 0.125).
//     utilisation  machine-wide busy CPU time between two reads over all
//                  CPU time: utilisation = Δbusy / Δtotal. Steal counts as
//                  not ours (the hypervisor ran someone else) and iowait as
//                  idle. When the counters did not move, the previous
//                  utilisation is kept (0 before the first change). The
//                  source is the cheapest of, in this order (the sampler
//                  reads it every tick; CpuBusySource):
//       1. the root cgroup-v1 cpuacct.usage (sysfs fs/cgroup/cpuacct): the
//          nanoseconds every task ran (steal and, with IRQ time accounting,
//          interrupts excluded); total = Δmonotonic time × the online CPUs
//          (the "cpuN" lines of /proc/stat at creation);
//       2. the root cgroup-v2 cpu.stat (fs/cgroup or fs/cgroup/unified):
//          busy = user_usec + system_usec, total as in 1;
//       3. the aggregate "cpu" line of /proc/stat (its first line): busy =
//          user + nice + system + irq + softirq (guest time is inside
//          user/nice), total = busy + idle + iowait + steal.
//       A cgroup is used only at the root of its hierarchy (v1: it has
//       release_agent; v2: it has no cgroup.type), where it counts the whole
//       machine; inside a container's cgroup namespace it counts only the
//       container, so /proc/stat is used. /proc/stat costs the most: the
//       kernel formats the whole file (every interrupt's count) for each read,
//       ~40 µs of CPU per sample in a VM against ~15 µs for cpuacct.usage.
//   RAM power_w = installed GiB (MemTotal in /proc/meminfo) × 0.375 W/GiB
//                 (CodeCarbon's figure; EstimatorOptions::ram_w_per_gib),
//                 constant: it does not depend on use.
//
// Energy accumulates on each read as power × the monotonic time elapsed
// since the previous read (Env::clock()), with the utilisation of that same
// interval, so the figure is exact for the model however reads are spaced.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/meter.h"

namespace wattlab {

struct EstimatorOptions {
  std::optional<double> cpu_tdp_w;          // TDP of one package, watts; overrides the table
  double cpu_idle_fraction = 0.10;          // idle power as a fraction of TDP, in [0, 1]
  double ram_w_per_gib = 0.375;             // RAM power per installed GiB, watts
  std::optional<double> cpu_package_share;  // packages the TDP applies to; > 0
  // Which domains to report; at least one. make_meters() drops the CPU when
  // RAPL measures it, and the RAM when RAPL has a DRAM zone.
  bool include_cpu = true;
  bool include_ram = true;
};

// The figures the estimator settled on at creation; for `wattlab devices`
// and the run's environment snapshot.
struct CpuRamModel {
  enum class TdpSource { kUser, kTable, kPerThreadFallback };
  std::string cpu_model_name;  // /proc/cpuinfo "model name", or "unknown CPU"
  std::string tdp_table_name;  // the table row that matched; empty unless kTable
  TdpSource tdp_source = TdpSource::kPerThreadFallback;
  double tdp_w = 0;            // per package (the whole fallback for kPerThreadFallback)
  double package_share = 1;
  int logical_cpus = 1;        // "processor" entries in cpuinfo, else cpuN lines in stat
  double idle_fraction = 0.10;
  double ram_gib = 0;          // MemTotal, GiB
  double ram_w_per_gib = 0.375;

  double cpu_idle_w() const { return package_share * idle_fraction * tdp_w; }
  double cpu_max_w() const { return package_share * tdp_w; }
  double cpu_power_w(double utilisation) const {
    return package_share * (idle_fraction * tdp_w + (1 - idle_fraction) * tdp_w * utilisation);
  }
  double ram_power_w() const { return ram_gib * ram_w_per_gib; }
};

// Where the estimator's utilisation comes from (see the model above).
enum class CpuBusySource { kCgroupV1Cpuacct, kCgroupV2CpuStat, kProcStat };
// "cgroup-v1 cpuacct.usage", "cgroup-v2 cpu.stat", "/proc/stat".
const char* cpu_busy_source_name(CpuBusySource source);

class CpuRamEstimatorMeter final : public Meter {
 public:
  // Reads /proc/cpuinfo, /proc/meminfo and /proc/stat under env's proc root,
  // picks the busy-time source (the cgroups under env's sysfs root), and
  // takes the first utilisation reading. Fails (naming the file) when
  // /proc/stat or /proc/meminfo cannot be read or parsed, or when an option
  // is out of range. An unreadable /proc/cpuinfo only makes the CPU unknown;
  // an unreadable or malformed cgroup file only means /proc/stat is used.
  // `env` must outlive the meter.
  static Result<std::unique_ptr<CpuRamEstimatorMeter>> create(Env& env,
                                                              const EstimatorOptions& options = {});

  CpuRamEstimatorMeter(const CpuRamEstimatorMeter&) = delete;
  CpuRamEstimatorMeter& operator=(const CpuRamEstimatorMeter&) = delete;

  std::string name() const override { return "estimator"; }
  // {"cpu-estimated", estimated}, {"ram-estimated", estimated}, less those
  // excluded by EstimatorOptions::include_cpu / include_ram.
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  // Re-reads the busy time and integrates; on error nothing accumulates and
  // the next successful read covers the gap.
  Status read_energy_j(std::vector<double>* energy_j) override;
  // No counter can wrap; reads only set the utilisation resolution.
  double max_read_interval_ms() const override { return 60'000.0; }

  const CpuRamModel& model() const { return model_; }
  CpuBusySource busy_source() const { return busy_source_; }
  // CPU utilisation, in [0, 1], over the interval ending at the latest read.
  double last_utilisation() const { return utilisation_; }
  // One line for `wattlab devices`, e.g. "CPU: AMD EPYC, TDP unknown → 4 W ×
  // 2 threads = 8 W, idle 10 % (estimated), utilisation from /proc/stat;
  // RAM 23.4 GiB × 0.375 W/GiB = 8.78 W (estimated)".
  std::string describe() const;

 private:
  // Busy and total CPU time in the source's unit (jiffies, or nanoseconds).
  struct CpuTimes {
    uint64_t busy = 0;
    uint64_t total = 0;
  };
  CpuRamEstimatorMeter(Env& env, CpuRamModel model, double now_ms, bool include_cpu, bool include_ram);
  // The busy time now from busy_file_ (opened on first use); `now_ms` is the
  // monotonic time of the read, for the cgroup sources' total.
  Result<CpuTimes> read_cpu_times(double now_ms);

  Env& env_;
  CpuRamModel model_;
  std::vector<EnergyDomain> domains_;
  CpuBusySource busy_source_ = CpuBusySource::kProcStat;
  std::filesystem::path busy_path_;          // the file of busy_source_
  int online_cpus_ = 1;                      // for the cgroup sources' total
  std::optional<RereadableFile> busy_file_;  // busy_path_, kept open for the sampler
  CpuTimes last_times_;      // at the previous read
  double last_read_ms_;      // monotonic time of the previous read
  double utilisation_ = 0;   // over the interval ending at the previous read
  double cpu_energy_j_ = 0;  // cumulative since creation
  double ram_energy_j_ = 0;  // cumulative since creation
  bool include_cpu_;         // cpu-estimated is reported
  bool include_ram_;         // ram-estimated is reported
};

}  // namespace wattlab
