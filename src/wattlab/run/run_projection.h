// STEP (analysis/step.h) inside a tracked training: fed the run's epoch
// windows and power timeline as they are measured, it projects the run's
// total after every epoch, says which metrics to log for it, and gives the
// energy budget its estimate of the next epoch. Torch-free: the tracked
// training (run/tracked_training.h) forwards the trainer's events to it.
//
// Metrics, logged from the first stable epoch on, step = the epoch the
// projection was made at: projected_energy_j, projected_duration_s,
// projected_co2e_g (the whole run, every session of a resumed one) and
// projected_remaining_energy_j, projected_remaining_s (the epochs still to
// run; what `study status` adds up for a running trial).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wattlab/analysis/step.h"
#include "wattlab/energy/energy_budget.h"
#include "wattlab/energy/meter.h"
#include "wattlab/track/entities.h"

namespace wattlab {

class RunProjection {
 public:
  // A run of `epochs` epochs metered over `domains` (those that count in the
  // total make its power); its carbon at budget.intensity and budget.pue.
  // `resumed`: the run continued, whose earlier epochs (its epoch windows)
  // are fed first.
  RunProjection(int epochs, const EnergyBudgetOptions& budget, const std::vector<EnergyDomain>& domains,
                const std::optional<RunData>& resumed);

  // A window the monitor closed ("epoch-3/train", "epoch-3/eval", ...).
  void on_window(const EnergyWindow& window);
  // Power samples (timeline buckets), per domain in the constructor's order.
  void on_power(const std::vector<PowerSample>& samples);
  // Epoch `epoch` ended (its windows were given): the projection after it
  // when the run is stable, else nullopt. Also nullopt for good once the
  // epochs cannot be placed (a resumed run whose earlier windows are missing).
  std::optional<StepProjection> on_epoch_end(int epoch);

  // The metrics for `p` (see above).
  static std::vector<std::pair<std::string, double>> metrics(const StepProjection& p);
  // The budget's verdict after `epoch` with `used_j` spent: the next epoch
  // estimated by the latest stable projection when there is one.
  std::string budget_stop_reason(int epoch, double used_j) const;
  // Once, at the first stable projection that exceeds the budget: a note
  // saying so ("STEP projects 80.1 kJ for the 10 epochs, over the 50 kJ
  // budget: the run will stop before it exceeds it"); else empty.
  std::string budget_note();

 private:
  StepProjector projector_;
  EnergyBudget budget_;
  std::vector<bool> counted_;  // per domain: counts in the total
  EpochEnergy current_;        // the epoch whose windows are arriving
  bool broken_ = false;        // an epoch could not be fed: no more projections
  bool noted_ = false;         // budget_note() has spoken
  std::optional<StepProjection> latest_;  // the latest stable projection
};

}  // namespace wattlab
