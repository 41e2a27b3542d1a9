// Energy and carbon budgets for a training run: `wattlab train
// --energy-budget 50kJ` / `--carbon-budget 10g`. After each epoch the budget
// projects the next epoch's energy (the mean of the epochs so far) and says
// stop when the energy used plus that projection would exceed the budget, so
// training never starts an epoch it cannot afford. Within an epoch (the first
// one, or one costlier than projected) it is asked before every batch, with
// the next batch's projected energy, so a run stops before it would overrun.
// A carbon budget is turned into joules by the grid intensity and PUE the run
// uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/energy/carbon.h"

namespace wattlab {

// "50kJ", "50 kJ", "2.5MJ", "0.1kWh", "750Wh", "1200J", "5mJ", "1200" (joules).
// Case matters only where it must: "50kj" is 50 kJ, but "5mj" is refused
// (mJ or MJ?). InvalidArgument quoting the text and the accepted units
// otherwise, or for a value that is not positive.
Result<double> parse_energy_j(const std::string& text);
// "10g", "1.5kg", "10" (grams of CO2e). InvalidArgument as parse_energy_j.
Result<double> parse_carbon_g(const std::string& text);

struct EnergyBudgetOptions {
  std::optional<double> energy_j;  // at most this much energy
  std::optional<double> carbon_g;  // at most this much CO2e...
  CarbonIntensity intensity = world_average_carbon_intensity();  // ...at this grid intensity
  double pue = 1.0;                                              // ...and PUE
};

class EnergyBudget {
 public:
  explicit EnergyBudget(const EnergyBudgetOptions& options);

  // True when a budget is set.
  bool enabled() const { return limit_j_.has_value(); }
  // The budget in joules (the tighter of the two when both are set).
  std::optional<double> limit_j() const { return limit_j_; }

  // After epoch `epoch` (1-based) with `used_j` joules used by all epochs so
  // far: empty to go on, or why to stop ("energy budget: 41.2 kJ used by 7
  // epochs, the next would take about 6.1 kJ, over the 50 kJ budget"). The
  // next epoch costs `next_epoch_j` when given (a projection from the stable
  // epochs, analysis/step.h), else the mean of the epochs so far.
  std::string after_epoch(int epoch, double used_j, std::optional<double> next_epoch_j = std::nullopt) const;
  // Before a batch of `phase` ("training", "validation", "evaluation") in
  // epoch `epoch`, `images_done` of `images_total` done, with `used_j` joules
  // used so far and `next_j` the next batch's projected energy: empty to go
  // on, or why to stop ("energy budget in epoch 1 (training, 640 of 1500
  // images): 4.61 J used, the next batch would take about 0.41 J, over the
  // 5 J budget").
  std::string before_batch(int epoch, const std::string& phase, int64_t images_done, int64_t images_total,
                           double used_j, double next_j) const;

 private:
  std::optional<double> limit_j_;
  std::string limit_text_;  // "50 kJ" or "10 g CO2e (31.2 kJ at 480 g/kWh, PUE 1.00)"
};

}  // namespace wattlab
