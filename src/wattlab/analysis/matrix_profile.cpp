#include "wattlab/analysis/matrix_profile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wattlab {

size_t matrix_profile_exclusion_zone(size_t window) { return (window + 3) / 4; }

Result<MatrixProfile> compute_matrix_profile(std::span<const double> series, size_t window) {
  if (window < 2) return Status::invalid_argument("matrix profile: the window must be at least 2 samples");
  const size_t exclusion = matrix_profile_exclusion_zone(window);
  if (series.size() < window + exclusion + 1) {
    return Status::invalid_argument("matrix profile: " + std::to_string(series.size()) +
                                    " samples are too few for a window of " + std::to_string(window) +
                                    " (at least " + std::to_string(window + exclusion + 1) + " needed)");
  }
  for (double v : series) {
    if (!std::isfinite(v)) return Status::invalid_argument("matrix profile: the series holds a non-finite value");
  }
  const size_t k = series.size() - window + 1;
  MatrixProfile profile;
  profile.window = window;
  std::vector<double> best_sq(k, std::numeric_limits<double>::infinity());
  profile.index.assign(k, -1);
  auto offer = [&](size_t i, size_t j, double d_sq) {
    if (d_sq < best_sq[i] || (d_sq == best_sq[i] && static_cast<int64_t>(j) < profile.index[i])) {
      best_sq[i] = d_sq;
      profile.index[i] = static_cast<int64_t>(j);
    }
  };
  // Diagonal by diagonal (j = i + lag): each squared distance follows from the
  // previous one on the diagonal by dropping one term and adding one, so the
  // whole profile costs O(k²) however long the window. Differences are
  // squared directly (no dot products), which keeps a large power level from
  // cancelling digits away.
  for (size_t lag = exclusion + 1; lag < k; ++lag) {
    double d_sq = 0;
    for (size_t t = 0; t < window; ++t) {
      const double diff = series[t] - series[lag + t];
      d_sq += diff * diff;
    }
    for (size_t i = 0;; ++i) {
      const double clamped = std::max(d_sq, 0.0);
      offer(i, i + lag, clamped);
      offer(i + lag, i, clamped);
      if (i + lag + 1 >= k) break;
      const double out = series[i] - series[i + lag];
      const double in = series[i + window] - series[i + lag + window];
      d_sq += in * in - out * out;
    }
  }
  profile.distance.resize(k);
  for (size_t i = 0; i < k; ++i) profile.distance[i] = std::sqrt(best_sq[i]);
  return profile;
}

std::vector<double> corrected_arc_curve(std::span<const int64_t> index, size_t window, size_t exclusion_factor) {
  const size_t k = index.size();
  // Arcs crossing each position: +1 where an arc starts, -1 where it ends.
  std::vector<double> marks(k + 1, 0.0);
  for (size_t i = 0; i < k; ++i) {
    if (index[i] < 0 || static_cast<size_t>(index[i]) >= k) continue;
    const size_t j = static_cast<size_t>(index[i]);
    marks[std::min(i, j)] += 1;
    marks[std::max(i, j)] -= 1;
  }
  std::vector<double> cac(k);
  double arcs = 0;
  for (size_t i = 0; i < k; ++i) {
    arcs += marks[i];
    const double ideal = 2.0 * static_cast<double>(i) * static_cast<double>(k - i) / static_cast<double>(k);
    cac[i] = std::min(arcs / std::max(ideal, 1e-10), 1.0);
  }
  const size_t edge = std::min(k, window * exclusion_factor);
  std::fill(cac.begin(), cac.begin() + static_cast<std::ptrdiff_t>(edge), 1.0);
  std::fill(cac.end() - static_cast<std::ptrdiff_t>(edge), cac.end(), 1.0);
  return cac;
}

std::vector<size_t> regime_change_locations(std::span<const double> cac, size_t n_regimes, size_t window,
                                            size_t exclusion_factor) {
  std::vector<size_t> locations;
  if (cac.empty() || n_regimes < 2) return locations;
  std::vector<double> remaining(cac.begin(), cac.end());
  const size_t zone = window * exclusion_factor;
  for (size_t r = 0; r + 1 < n_regimes; ++r) {
    const size_t at = static_cast<size_t>(std::min_element(remaining.begin(), remaining.end()) - remaining.begin());
    locations.push_back(at);
    const size_t from = at > zone ? at - zone : 0;
    const size_t to = std::min(at + zone, remaining.size());
    std::fill(remaining.begin() + static_cast<std::ptrdiff_t>(from), remaining.begin() + static_cast<std::ptrdiff_t>(to),
              1.0);
  }
  return locations;
}

}  // namespace wattlab
