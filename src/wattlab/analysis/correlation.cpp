#include "wattlab/analysis/correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "wattlab/analysis/distributions.h"
#include "wattlab/analysis/ranks.h"

namespace wattlab {

Result<SpearmanResult> spearman(const Sample& x, const Sample& y, Alternative alternative) {
  if (x.values.size() != y.values.size()) {
    return Status::invalid_argument("Spearman's rho pairs values: '" + x.name + "' has " +
                                    std::to_string(x.values.size()) + " and '" + y.name + "' " +
                                    std::to_string(y.values.size()));
  }
  WATTLAB_RETURN_IF_ERROR(check_samples("Spearman's rho", {x, y}, 2, 3));
  for (const Sample* s : {&x, &y}) {
    if (all_values_equal({*s})) {
      return Status::invalid_argument("Spearman's rho: every value of '" + s->name + "' equals " +
                                      format_value(s->values.front()) + ", so the correlation is undefined");
    }
  }
  const std::vector<double> rx = average_ranks(x.values), ry = average_ranks(y.values);
  const size_t n = rx.size();
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_x += rx[i];
    mean_y += ry[i];
  }
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mean_x) * (ry[i] - mean_y);
    sxx += (rx[i] - mean_x) * (rx[i] - mean_x);
    syy += (ry[i] - mean_y) * (ry[i] - mean_y);
  }
  SpearmanResult r;
  r.n = n;
  r.alternative = alternative;
  r.rho = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  const double df = static_cast<double>(n - 2);
  const double denominator = (1 + r.rho) * (1 - r.rho);
  const double t = denominator > 0 ? r.rho * std::sqrt(df / denominator)
                                   : std::copysign(std::numeric_limits<double>::infinity(), r.rho);
  switch (alternative) {
    case Alternative::kGreater: r.p_value = dist::students_t_sf(t, df); break;
    case Alternative::kLess: r.p_value = dist::students_t_cdf(t, df); break;
    default: r.p_value = 2 * dist::students_t_cdf(-std::fabs(t), df); break;
  }
  return r;
}

}  // namespace wattlab
