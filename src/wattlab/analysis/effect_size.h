// Effect sizes: how large a difference is, next to whether it is real.
// Labels follow the thresholds the reference study used.
#pragma once

#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

enum class EffectMagnitude { kNegligible, kSmall, kMedium, kLarge };
// "negligible", "small", "medium", "large".
const char* effect_magnitude_name(EffectMagnitude magnitude);

// Romano et al. (2006) for Cliff's delta: |d| < 0.147 negligible, < 0.33
// small, < 0.474 medium, else large.
EffectMagnitude cliffs_delta_magnitude(double delta);
// Cohen's (1988) for eta^2 (and eta^2_H, partial eta^2): < 0.01 negligible,
// < 0.06 small, < 0.14 medium, else large.
EffectMagnitude eta_squared_magnitude(double eta_squared);

struct CliffsDelta {
  // P(x > y) - P(x < y) for x from the first sample, y from the second: +1
  // when every first value is larger, -1 when every one is smaller.
  double delta = 0;
  EffectMagnitude magnitude = EffectMagnitude::kNegligible;
};

// Cliff's delta of `first` against `second`, O(n log n). InvalidArgument for
// an empty sample or a non-finite value.
Result<CliffsDelta> cliffs_delta(const Sample& first, const Sample& second);
// The same from a Mann–Whitney U of the first sample (MannWhitneyResult::u)
// and the sample sizes: 2U / (n1 n2) - 1.
CliffsDelta cliffs_delta_from_u(double u, size_t n1, size_t n2);

}  // namespace wattlab
