// Adjusting p-values when several hypotheses are tested at once (all pairs
// of groups after an omnibus test).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

enum class PAdjustment {
  kNone,
  kBonferroni,         // p * m: controls the family-wise error rate, conservative
  kHolm,               // step-down Bonferroni: same guarantee, more power; the default
  kBenjaminiHochberg,  // step-up: controls the false discovery rate instead
};

// "none", "bonferroni", "holm", "bh".
const char* p_adjustment_name(PAdjustment adjustment);
// Inverse of p_adjustment_name (also "fdr_bh"); InvalidArgument otherwise.
Result<PAdjustment> parse_p_adjustment(const std::string& text);

// The adjusted p-values, in the order of `p_values` (statsmodels'
// multipletests: holm, bonferroni, fdr_bh), each at most 1. Values must lie
// in [0, 1].
std::vector<double> adjust_p_values(std::span<const double> p_values, PAdjustment adjustment);

}  // namespace wattlab
