#include "wattlab/run/session_energy.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace wattlab {
namespace {

constexpr double kBytesPerGib = 1024.0 * 1024.0 * 1024.0;
constexpr double kSampleEveryMs = 200;

double latest(const RunData& run, const char* key, double otherwise) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() || !std::isfinite(it->second.value) ? otherwise : it->second.value;
}

}  // namespace

std::vector<std::pair<std::string, double>> RunTotals::metrics() const {
  return {{"energy_j", energy_j},
          {"attributed_energy_j", attributed_energy_j},
          {"duration_s", duration_s},
          {"cpu_busy_share", cpu_busy_share},
          {"other_cpu_share", other_cpu_share},
          {"resident_memory_gib", resident_memory_gib}};
}

std::string RunTotals::busy_machine_warning() const {
  if (!(other_cpu_share > kBusyMachineCpuShare)) return "";
  char text[256];
  std::snprintf(text, sizeof text,
                "other processes used %.1f %% of the machine's CPU during this run (more than %.0f %%): its machine "
                "figures include their work; compare runs by attributed_energy_j",
                other_cpu_share * 100, kBusyMachineCpuShare * 100);
  return text;
}

SessionEnergy::SessionEnergy(Env& env, Monitor& monitor, WindowId run_window, int pid, const RunData* earlier_runs)
    : env_(env), monitor_(monitor), run_window_(run_window), pid_(pid) {
  if (earlier_runs) {
    earlier_energy_j_ = latest(*earlier_runs, "energy_j", 0);
    earlier_attributed_j_ = latest(*earlier_runs, "attributed_energy_j", earlier_energy_j_);
    earlier_duration_s_ = latest(*earlier_runs, "duration_s", 0);
    // Phases a session killed without warning finished after its last totals.
    auto totals = earlier_runs->latest_metrics.find("energy_j");
    const int64_t totals_ms =
        totals == earlier_runs->latest_metrics.end() ? std::numeric_limits<int64_t>::min() : totals->second.timestamp_ms;
    const double share = earlier_energy_j_ > 0 ? earlier_attributed_j_ / earlier_energy_j_ : 1.0;
    for (const EnergyWindow& w : earlier_runs->energy_windows) {
      if (w.name == kRunWindowName || w.end_ms <= totals_ms) continue;
      earlier_energy_j_ += w.energy_j();
      earlier_attributed_j_ += w.energy_j() * share;
      earlier_duration_s_ += w.duration_s;
    }
  }
  if (auto cpu = read_process_tree_cpu_times(env, pid); cpu.ok()) cpu_start_ = std::make_unique<CpuTimesSnapshot>(*cpu);
  if (auto installed = read_installed_memory_bytes(env); installed.ok()) installed_bytes_ = *installed;
  sample();
}

void SessionEnergy::sample() {
  const double now_ms = env_.clock().monotonic_ms();
  if (now_ms - last_sample_ms_ < kSampleEveryMs) return;
  if (auto resident = read_resident_bytes(env_, pid_); resident.ok()) {
    resident_bytes_.add(now_ms, *resident);
    last_sample_ms_ = now_ms;
  }
}

Result<double> SessionEnergy::energy_so_far_j() {
  auto session = monitor_.window_so_far(run_window_);
  if (!session.ok()) return session.status();
  return earlier_energy_j_ + session->energy_j();
}

Result<RunTotals> SessionEnergy::now() {
  auto session = monitor_.window_so_far(run_window_);
  if (!session.ok()) return session.status();
  sample();
  auto cpu = read_process_tree_cpu_times(env_, pid_);
  return totals(*session, cpu.ok() ? &*cpu : nullptr);
}

RunTotals SessionEnergy::at_end(const EnergyWindow& run_window) {
  last_sample_ms_ = -1e18;  // a last sample, however recent the previous one
  sample();
  auto cpu = read_process_tree_cpu_times(env_, pid_);
  return totals(run_window, cpu.ok() ? &*cpu : nullptr);
}

RunTotals SessionEnergy::totals(const EnergyWindow& session, const CpuTimesSnapshot* cpu_now) {
  RunTotals t;
  AttributionShares shares;
  t.attributed = cpu_start_ && cpu_now && installed_bytes_ > 0;
  if (t.attributed) {
    // A session too short for the tick counters to move keeps the whole share.
    if (cpu_now->busy_ticks > cpu_start_->busy_ticks) shares.cpu_busy_share = cpu_busy_share(*cpu_start_, *cpu_now);
    t.other_cpu_share = other_cpu_share(*cpu_start_, *cpu_now);
    shares.ram_share = resident_bytes_.mean() / installed_bytes_;
    t.resident_memory_gib = resident_bytes_.mean() / kBytesPerGib;
  }
  t.cpu_busy_share = shares.cpu_busy_share;
  t.session_energy_j = session.energy_j();
  t.session_attributed = attribute_energy(session, shares);
  t.energy_j = earlier_energy_j_ + t.session_energy_j;
  t.attributed_energy_j = earlier_attributed_j_ + t.session_attributed.energy_j();
  t.duration_s = earlier_duration_s_ + session.duration_s;
  return t;
}

}  // namespace wattlab
