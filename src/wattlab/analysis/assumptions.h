// Tests of the assumptions behind parametric comparisons: normality within a
// group (Shapiro–Wilk) and equal spread across groups (Levene, centred on the
// median: the Brown–Forsythe variant, robust to skewed energy figures).
#pragma once

#include <vector>

#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct ShapiroWilkResult {
  size_t n = 0;
  double w = 0;        // in (0, 1]; near 1 for normal-looking data
  double p_value = 0;  // small: the sample is unlikely to come from a normal distribution
  // True for n > 5000, where Royston's approximation of the p-value has not
  // been validated (SciPy warns likewise).
  bool p_value_unvalidated = false;
};

// Shapiro–Wilk with Royston's (1995) coefficients and p-value, algorithm AS
// R94 in double precision (SciPy's shapiro runs the same algorithm in single
// precision). InvalidArgument for fewer than 3 values, a non-finite value,
// or a sample whose values are all equal.
Result<ShapiroWilkResult> shapiro_wilk(const Sample& sample);

struct LeveneResult {
  double statistic = 0;  // W, F-distributed under equal spreads
  double df_between = 0;  // k - 1
  double df_within = 0;   // N - k
  double p_value = 0;     // small: the spreads differ
};

// Levene's test on absolute deviations from each group's median (SciPy's
// levene(center="median")). InvalidArgument for fewer than two groups, an
// empty group, a non-finite value, as many groups as values, or data in
// which every group's deviations from its median are all equal (constant
// groups, groups of two), where spreads cannot be compared.
Result<LeveneResult> levene_median(const std::vector<Sample>& samples);

}  // namespace wattlab
