// Rank correlation between two measurements of the same runs (energy per
// image against F1: does paying more buy correctness?).
#pragma once

#include <vector>

#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct SpearmanResult {
  size_t n = 0;
  double rho = 0;      // Pearson correlation of the average ranks, in [-1, 1]
  double p_value = 0;  // from t = rho sqrt((n-2) / (1-rho^2)) on n-2 degrees of freedom
  Alternative alternative = Alternative::kTwoSided;
};

// Spearman's rho of paired values x[i], y[i], as SciPy's spearmanr (ties
// averaged; kGreater tests for a positive correlation). InvalidArgument when
// the sizes differ, for fewer than 3 pairs, a non-finite value, or a constant
// x or y (the correlation is undefined).
Result<SpearmanResult> spearman(const Sample& x, const Sample& y, Alternative alternative = Alternative::kTwoSided);

}  // namespace wattlab
