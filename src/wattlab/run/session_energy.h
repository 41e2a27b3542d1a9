// The energy of a tracked run as it goes: what the machine used (a Monitor's
// window over this session), the run's attributed share of it
// (energy/attribution.h), and the totals over every session of a resumed run.
//
// A run's totals are logged as metrics at every epoch's end (step = the
// epoch) and when the session ends. A session killed without warning (kill
// -9, a lost node) leaves its totals at its last completed epoch and the
// energy windows of the phases it finished after that; the next session
// starts from both, so only the phase the kill cut short goes uncounted.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/attribution.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/energy/process_cpu_share.h"
#include "wattlab/track/entities.h"

namespace wattlab {

// Above this share of the machine's CPU capacity used by other processes, a
// run is flagged: its machine figures include their work, and comparisons by
// machine energy are not fair.
inline constexpr double kBusyMachineCpuShare = 0.10;

// The energy window spanning a session of a tracked run.
inline constexpr const char* kRunWindowName = "run";

struct RunTotals {
  // Over every session of the run.
  double energy_j = 0;             // the machine's energy
  double attributed_energy_j = 0;  // the run's share of it
  double duration_s = 0;           // metered time (pauses between sessions excluded)
  // This session only.
  double session_energy_j = 0;
  AttributedEnergy session_attributed;
  double cpu_busy_share = 1;       // the run's share of the CPU time the machine used
  double other_cpu_share = 0;      // the machine's CPU capacity other processes used
  double resident_memory_gib = 0;  // the run's mean resident memory
  bool attributed = false;         // false when /proc could not be read: shares 1 and 0 assumed

  // The metrics these totals are stored as: energy_j, attributed_energy_j,
  // duration_s, cpu_busy_share, other_cpu_share, resident_memory_gib.
  std::vector<std::pair<std::string, double>> metrics() const;
  // When other_cpu_share is over kBusyMachineCpuShare: what to tell the user
  // and store in the tag wattlab.busy_machine; empty otherwise.
  std::string busy_machine_warning() const;
};

class SessionEnergy {
 public:
  // Meters this session through `monitor`, whose open window `run_window`
  // spans it, for process `pid` (this one) and its children. `earlier_runs`
  // is the run as stored before this session (a resumed run; nullptr for a
  // new one): its latest energy_j, attributed_energy_j (energy_j when it has
  // none) and duration_s start the totals, plus every phase window (not a
  // kRunWindowName one) that ended after those were logged, its attributed
  // part at the run's share so far. When the process's CPU times or memory
  // cannot be read, the run's share is taken as the whole.
  SessionEnergy(Env& env, Monitor& monitor, WindowId run_window, int pid, const RunData* earlier_runs);
  SessionEnergy(const SessionEnergy&) = delete;
  SessionEnergy& operator=(const SessionEnergy&) = delete;

  // Samples the process's resident memory (at most every 200 ms, however
  // often it is called).
  void sample();
  // The machine's energy of every session so far (the run window read now).
  Result<double> energy_so_far_j();
  // The totals up to now (the run window read, left open).
  Result<RunTotals> now();
  // The totals for the run window as it ended.
  RunTotals at_end(const EnergyWindow& run_window);

 private:
  RunTotals totals(const EnergyWindow& session, const CpuTimesSnapshot* cpu_now);

  Env& env_;
  Monitor& monitor_;
  const WindowId run_window_;
  const int pid_;
  double earlier_energy_j_ = 0;
  double earlier_attributed_j_ = 0;
  double earlier_duration_s_ = 0;
  std::unique_ptr<CpuTimesSnapshot> cpu_start_;  // null when /proc could not be read
  double installed_bytes_ = 0;                   // 0 when unknown
  TimeWeightedMean resident_bytes_;
  double last_sample_ms_ = -1e18;
};

}  // namespace wattlab
