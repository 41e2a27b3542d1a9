#include "wattlab/analysis/effect_size.h"

#include <algorithm>
#include <cmath>

#include "wattlab/analysis/ranks.h"

namespace wattlab {

const char* effect_magnitude_name(EffectMagnitude magnitude) {
  switch (magnitude) {
    case EffectMagnitude::kNegligible: return "negligible";
    case EffectMagnitude::kSmall: return "small";
    case EffectMagnitude::kMedium: return "medium";
    case EffectMagnitude::kLarge: return "large";
  }
  return "?";
}

EffectMagnitude cliffs_delta_magnitude(double delta) {
  const double d = std::fabs(delta);
  if (d < 0.147) return EffectMagnitude::kNegligible;
  if (d < 0.33) return EffectMagnitude::kSmall;
  if (d < 0.474) return EffectMagnitude::kMedium;
  return EffectMagnitude::kLarge;
}

EffectMagnitude eta_squared_magnitude(double eta_squared) {
  if (eta_squared < 0.01) return EffectMagnitude::kNegligible;
  if (eta_squared < 0.06) return EffectMagnitude::kSmall;
  if (eta_squared < 0.14) return EffectMagnitude::kMedium;
  return EffectMagnitude::kLarge;
}

Result<CliffsDelta> cliffs_delta(const Sample& first, const Sample& second) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Cliff's delta", {first, second}, 2, 1));
  std::vector<double> x = first.values, y = second.values;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  // U of the first sample counts pairs with x > y, ties 1/2.
  const double n1 = static_cast<double>(x.size());
  return cliffs_delta_from_u(pooled_ranks_sorted(x, y).rank_sum_first - n1 * (n1 + 1) / 2, x.size(), y.size());
}

CliffsDelta cliffs_delta_from_u(double u, size_t n1, size_t n2) {
  CliffsDelta r;
  r.delta = 2 * u / (static_cast<double>(n1) * static_cast<double>(n2)) - 1;
  r.magnitude = cliffs_delta_magnitude(r.delta);
  return r;
}

}  // namespace wattlab
