#include "wattlab/analysis/savings.h"

#include <cmath>
#include <limits>

#include "wattlab/analysis/descriptive.h"

namespace wattlab {

namespace {

// Runs the test and the effect size of `sample` against `base` into the
// row's fields, and collects the p-value for adjustment.
void test_against(const Sample& sample, const Sample& base, Result<MannWhitneyResult>* test,
                  Result<CliffsDelta>* delta, std::vector<double*>* adjusted_slots, double* slot,
                  std::vector<double>* p_values) {
  *test = mann_whitney_u(sample, base);
  if (test->ok()) {
    *delta = cliffs_delta_from_u((*test)->u, sample.values.size(), base.values.size());
    p_values->push_back((*test)->p_value);
    adjusted_slots->push_back(slot);
  } else {
    *delta = cliffs_delta(sample, base);
  }
}

}  // namespace

Result<SavingsTable> savings_table(const std::vector<Configuration>& configurations, size_t baseline,
                                   PAdjustment adjustment) {
  if (baseline >= configurations.size()) {
    return Status::invalid_argument("the baseline configuration is out of range (" + std::to_string(baseline) +
                                    " of " + std::to_string(configurations.size()) + ")");
  }
  for (const Configuration& c : configurations) {
    WATTLAB_RETURN_IF_ERROR(check_samples("savings table", {{c.label, c.energy_per_image_j}}, 1, 1));
    WATTLAB_RETURN_IF_ERROR(check_finite("savings table", {c.label, c.correctness}));
  }
  const Configuration& base = configurations[baseline];
  const double base_energy = median(base.energy_per_image_j);
  if (!(base_energy > 0)) {
    return Status::invalid_argument("the baseline '" + base.label + "' has a median energy per image of " +
                                    format_value(base_energy) + "; savings need a positive baseline");
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double base_correctness = base.correctness.empty() ? nan : median(base.correctness);
  SavingsTable table;
  table.baseline = baseline;
  table.adjustment = adjustment;
  std::vector<double> energy_p, correctness_p;
  std::vector<double*> energy_slots, correctness_slots;
  table.rows.resize(configurations.size());
  for (size_t i = 0; i < configurations.size(); ++i) {
    const Configuration& c = configurations[i];
    SavingsRow& row = table.rows[i];
    row.label = c.label;
    row.is_baseline = i == baseline;
    row.n = c.energy_per_image_j.size();
    row.median_energy_per_image_j = median(c.energy_per_image_j);
    row.energy_reduction = 1 - row.median_energy_per_image_j / base_energy;
    row.median_correctness = c.correctness.empty() ? nan : median(c.correctness);
    row.correctness_difference = row.median_correctness - base_correctness;
    if (row.is_baseline) continue;
    test_against({c.label, c.energy_per_image_j}, {base.label, base.energy_per_image_j}, &row.energy_test,
                 &row.energy_delta, &energy_slots, &row.energy_p_adjusted, &energy_p);
    if (c.correctness.empty() || base.correctness.empty()) {
      row.correctness_test = Status::invalid_argument("no correctness metric in these runs");
      row.correctness_delta = row.correctness_test.status();
      continue;
    }
    test_against({c.label, c.correctness}, {base.label, base.correctness}, &row.correctness_test,
                 &row.correctness_delta, &correctness_slots, &row.correctness_p_adjusted, &correctness_p);
  }
  const std::vector<double> energy_adjusted = adjust_p_values(energy_p, adjustment);
  for (size_t i = 0; i < energy_slots.size(); ++i) *energy_slots[i] = energy_adjusted[i];
  const std::vector<double> correctness_adjusted = adjust_p_values(correctness_p, adjustment);
  for (size_t i = 0; i < correctness_slots.size(); ++i) *correctness_slots[i] = correctness_adjusted[i];
  return table;
}

}  // namespace wattlab
