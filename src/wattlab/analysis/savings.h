// The savings table of the reference study: for each configuration (model x
// environment), its median energy per image, how much it saves against a
// baseline configuration, and what it costs in correctness, each difference
// with its significance and effect size.
#pragma once

#include <string>
#include <vector>

#include "wattlab/analysis/effect_size.h"
#include "wattlab/analysis/multiple_testing.h"
#include "wattlab/analysis/rank_tests.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct Configuration {
  std::string label;                        // "mobilenet_v2 / 2-threads"
  std::vector<double> energy_per_image_j;   // one per run
  std::vector<double> correctness;          // one per run with the metric (F1), may be shorter
};

// One configuration compared with the baseline. Tests are two-sided
// Mann–Whitney, p-values adjusted over all rows; deltas are Cliff's, of this
// configuration against the baseline (negative energy delta: it uses less).
struct SavingsRow {
  std::string label;
  bool is_baseline = false;
  size_t n = 0;
  double median_energy_per_image_j = 0;
  double energy_reduction = 0;  // 1 - median / baseline median: 0.81 means 81 % less energy
  Result<MannWhitneyResult> energy_test = Status::unavailable("baseline");
  double energy_p_adjusted = 0;
  Result<CliffsDelta> energy_delta = Status::unavailable("baseline");
  double median_correctness = 0;         // NaN without values
  double correctness_difference = 0;     // median minus the baseline's median (F1 points as a fraction)
  Result<MannWhitneyResult> correctness_test = Status::unavailable("baseline");
  double correctness_p_adjusted = 0;
  Result<CliffsDelta> correctness_delta = Status::unavailable("baseline");
};

struct SavingsTable {
  size_t baseline = 0;  // index of the baseline row
  PAdjustment adjustment = PAdjustment::kHolm;
  std::vector<SavingsRow> rows;  // in the order of the configurations
};

// The table of `configurations` against configurations[baseline].
// InvalidArgument when baseline is out of range, a configuration has no
// energy values or a non-finite one, or the baseline's median energy is not
// positive. A test that cannot run (e.g. all values equal) is recorded in
// its row.
Result<SavingsTable> savings_table(const std::vector<Configuration>& configurations, size_t baseline,
                                   PAdjustment adjustment = PAdjustment::kHolm);

}  // namespace wattlab
