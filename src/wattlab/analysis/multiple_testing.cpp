#include "wattlab/analysis/multiple_testing.h"

#include <algorithm>
#include <numeric>

namespace wattlab {

const char* p_adjustment_name(PAdjustment adjustment) {
  switch (adjustment) {
    case PAdjustment::kNone: return "none";
    case PAdjustment::kBonferroni: return "bonferroni";
    case PAdjustment::kHolm: return "holm";
    case PAdjustment::kBenjaminiHochberg: return "bh";
  }
  return "?";
}

Result<PAdjustment> parse_p_adjustment(const std::string& text) {
  if (text == "fdr_bh") return PAdjustment::kBenjaminiHochberg;
  for (PAdjustment a : {PAdjustment::kNone, PAdjustment::kBonferroni, PAdjustment::kHolm,
                        PAdjustment::kBenjaminiHochberg}) {
    if (text == p_adjustment_name(a)) return a;
  }
  return Status::invalid_argument("p-value adjustment \"" + text + "\": use holm, bonferroni, bh or none");
}

std::vector<double> adjust_p_values(std::span<const double> p_values, PAdjustment adjustment) {
  const size_t m = p_values.size();
  std::vector<double> adjusted(p_values.begin(), p_values.end());
  if (m == 0 || adjustment == PAdjustment::kNone) return adjusted;
  const double count = static_cast<double>(m);
  if (adjustment == PAdjustment::kBonferroni) {
    for (double& p : adjusted) p = std::min(1.0, p * count);
    return adjusted;
  }
  std::vector<size_t> order(m);  // ascending p
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
  if (adjustment == PAdjustment::kHolm) {
    double running_max = 0;
    for (size_t rank = 0; rank < m; ++rank) {
      running_max = std::max(running_max, (count - static_cast<double>(rank)) * p_values[order[rank]]);
      adjusted[order[rank]] = std::min(1.0, running_max);
    }
    return adjusted;
  }
  double running_min = 1;  // Benjamini–Hochberg, from the largest p down
  for (size_t rank = m; rank-- > 0;) {
    running_min = std::min(running_min, count / static_cast<double>(rank + 1) * p_values[order[rank]]);
    adjusted[order[rank]] = running_min;
  }
  return adjusted;
}

}  // namespace wattlab
