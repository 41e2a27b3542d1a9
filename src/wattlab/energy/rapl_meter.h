// RaplPowercapMeter: CPU package, core, uncore, DRAM and platform (psys)
// energy from the Linux powercap interface (RAPL), on Intel and AMD alike.
//
// Discovery, under Env::sysfs_path("class/powercap"):
//   <type>:N      a top-level zone: package-N (one per socket, or per die as
//                 "package-0-die-1"), or psys (the platform/SoC).
//   <type>:N:M    a sub-zone of zone N: core, uncore, dram.
// <type> is any control type whose name contains "rapl": "intel-rapl" (MSR,
// also used by AMD CPUs), "intel-rapl-mmio" (the same package counter read
// through MMIO on recent Intel parts) and "amd-rapl". Entries without a ':'
// (the control types themselves) are skipped.
//
// Domain names: a top-level zone is named by its `name` file ("package-0",
// "psys"); a sub-zone by its parent's and its own ("package-0/dram",
// "package-1/core"). Should two kept zones share a name, the later one gets
// "@<zone>" appended ("package-0@intel-rapl:1") so that names stay unique.
//
// Duplicates: an MMIO zone whose name matches an MSR zone's is the same
// counter read another way; it is dropped with its sub-zones. An MMIO zone
// with no MSR twin is kept.
//
// Totals (EnergyDomain::counts_in_total): a machine total is the packages
// plus DRAM. core and uncore (and any sub-zone other than dram) are inside
// their package, and psys covers the packages too, so they do not count;
// psys counts only when no package zone exists (some laptops expose only it).
//
// Wraparound: energy_uj counts up to max_energy_range_uj and starts again at
// 0. Each zone is handled on its own: delta = now − prev, or
// now + max_energy_range_uj − prev when now < prev. That is exact when at
// most one wrap happens between two reads, which max_read_interval_ms()
// guarantees: the smallest zone range divided by kMaxPlausibleZonePowerW
// (a 262 kJ range at 1000 W gives 262 s; the Monitor samples far more often).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/meter.h"

namespace wattlab {

// A generous upper bound on one zone's power; it sizes max_read_interval_ms().
inline constexpr double kMaxPlausibleZonePowerW = 1000.0;

// One zone the meter reads.
struct RaplZone {
  std::string zone;             // the powercap entry, e.g. "intel-rapl:0:2"
  std::string domain;           // its domain name, e.g. "package-0/dram"
  bool mmio = false;            // read through an MMIO control type
  bool counts_in_total = true;  // see "Totals" above
  uint64_t max_energy_range_uj = 0;
};

class RaplPowercapMeter final : public Meter {
 public:
  // Discovers the zones and reads each energy_uj once. Fails with
  //   Unavailable       no RAPL zone under the powercap folder (VM, container,
  //                     kernel without intel_rapl), naming the folder;
  //   PermissionDenied  energy_uj is root-only (the default since
  //                     CVE-2020-8694); the message gives the fix;
  //   NotFound/IoError/Corrupt  a zone's files are missing or malformed,
  //                     naming the file.
  // `env` must outlive the meter.
  static Result<std::unique_ptr<RaplPowercapMeter>> create(Env& env);

  RaplPowercapMeter(const RaplPowercapMeter&) = delete;
  RaplPowercapMeter& operator=(const RaplPowercapMeter&) = delete;

  std::string name() const override { return "rapl"; }
  // One per kept zone, in zone order (MSR before MMIO, then by number).
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  // Reads every zone's energy_uj. On an error (naming the file) nothing
  // accumulates for any zone, and the next successful read covers the gap.
  Status read_energy_j(std::vector<double>* energy_j) override;
  // Smallest max_energy_range_uj / kMaxPlausibleZonePowerW, in ms.
  double max_read_interval_ms() const override { return max_read_interval_ms_; }

  const std::vector<RaplZone>& zones() const { return zones_; }
  // One line for `wattlab devices`: the zones and what was dropped, e.g.
  // "intel-rapl:0 → package-0, intel-rapl:0:0 → package-0/core (in package);
  // dropped intel-rapl-mmio:0 (duplicates package-0)".
  std::string describe() const;

 private:
  RaplPowercapMeter(std::filesystem::path powercap, std::vector<RaplZone> zones, std::string dropped);
  Result<std::vector<uint64_t>> read_counters_uj() const;

  std::filesystem::path powercap_;   // the class/powercap folder
  std::vector<RaplZone> zones_;
  std::vector<EnergyDomain> domains_;
  std::string dropped_;              // describe(): zones dropped as duplicates
  double max_read_interval_ms_ = 0;
  std::vector<uint64_t> last_uj_;    // energy_uj at the previous read, per zone
  std::vector<uint64_t> total_uj_;   // cumulative since creation, per zone (exact)
};

namespace internal {
// The user-facing error for a failed read of `path` (an energy_uj file):
// PermissionDenied gets the fix; other codes keep theirs. Exposed for tests,
// which run as root in CI and cannot provoke EACCES.
Status rapl_read_error(const std::filesystem::path& path, const Status& status);
}  // namespace internal

}  // namespace wattlab
