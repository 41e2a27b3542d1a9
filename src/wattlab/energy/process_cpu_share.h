// Attribution of CPU energy to a process tree by its share of CPU time.
//
// A snapshot sums, over the tree rooted at a pid (the root and every live
// descendant, found through the ppid field of /proc/<pid>/stat),
// utime + stime + cutime + cstime, and reads the machine's aggregate "cpu"
// line of /proc/stat. Both count the same clock ticks (USER_HZ). cutime and
// cstime hold the time of children the process has waited for, so a child
// that exits and is reaped inside the tree keeps its time in the sum; only a
// child that leaves the tree (re-parented to init, e.g. a daemon) loses it.
//
// Between two snapshots:
//   cpu_share      = Δtree / Δtotal   share of the machine's CPU capacity
//   cpu_busy_share = Δtree / Δbusy    share of the CPU time actually used
//   other_cpu_share = (Δbusy − Δtree) / Δtotal   share of the machine's CPU
//                                    capacity that other processes used
// busy = user + nice + system + irq + softirq; total = busy + idle + iowait +
// steal (the estimator's /proc/stat definition). Multiply a CPU domain's energy by the
// share to attribute it; the machine-wide figure is kept beside it.
#pragma once

#include <cstdint>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct CpuTimesSnapshot {
  uint64_t tree_ticks = 0;   // the process tree's CPU time, clock ticks
  uint64_t busy_ticks = 0;   // the machine's busy time, clock ticks
  uint64_t total_ticks = 0;  // the machine's total time, clock ticks
  int processes = 0;         // processes found in the tree
};

// Reads the snapshot for the tree rooted at `root_pid` under env's proc root.
// NotFound when the root process does not exist (it has exited); an error
// naming the file when /proc/stat cannot be read or parsed. Processes that
// vanish while the tree is read are skipped.
Result<CpuTimesSnapshot> read_process_tree_cpu_times(Env& env, int root_pid);

// Δtree / Δtotal in [0, 1]; 0 when the machine's counters did not move.
double cpu_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after);
// Δtree / Δbusy in [0, 1]; 0 when no busy time passed.
double cpu_busy_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after);
// (Δbusy − Δtree) / Δtotal in [0, 1]: how busy the machine was with work
// outside the tree; 0 when the machine's counters did not move.
double other_cpu_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after);

}  // namespace wattlab
