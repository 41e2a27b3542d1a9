#include "wattlab/analysis/ranks.h"

#include <algorithm>
#include <numeric>

namespace wattlab {

std::vector<double> average_ranks(std::span<const double> values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && values[order[j]] == values[order[i]]) ++j;
    // Positions i..j-1 (0-based) share ranks i+1..j: their mean.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    for (size_t k = i; k < j; ++k) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

double tie_term(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double term = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i);
    term += t * t * t - t;
    i = j;
  }
  return term;
}

PooledRanks pooled_ranks_sorted(std::span<const double> first_sorted, std::span<const double> second_sorted) {
  PooledRanks out;
  size_t i = 0, j = 0;
  size_t position = 0;  // values ranked so far
  while (i < first_sorted.size() || j < second_sorted.size()) {
    const double v = j == second_sorted.size() || (i < first_sorted.size() && first_sorted[i] <= second_sorted[j])
                         ? first_sorted[i]
                         : second_sorted[j];
    size_t in_first = 0, in_second = 0;
    while (i < first_sorted.size() && first_sorted[i] == v) ++i, ++in_first;
    while (j < second_sorted.size() && second_sorted[j] == v) ++j, ++in_second;
    const double t = static_cast<double>(in_first + in_second);
    const double rank = static_cast<double>(position) + 0.5 * (t + 1);
    out.rank_sum_first += rank * static_cast<double>(in_first);
    out.tie_term += t * t * t - t;
    position += in_first + in_second;
  }
  return out;
}

}  // namespace wattlab
