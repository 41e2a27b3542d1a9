// Ranks with ties averaged (SciPy's rankdata(method="average")), the tie
// term the rank tests correct with, and a merge that ranks two sorted
// samples without sorting them again.
#pragma once

#include <span>
#include <vector>

namespace wattlab {

// 1-based ranks of `values` in their order; equal values share the mean of
// the ranks they span (2, 2 for the 2nd and 3rd smallest being equal: 2.5).
// Values must not be NaN.
std::vector<double> average_ranks(std::span<const double> values);

// Sum over groups of tied values of t^3 - t, t the size of the group; 0 when
// all values differ. `values` in any order.
double tie_term(std::span<const double> values);

// Ranks of two samples pooled, from each sample sorted ascending: the sum of
// the first sample's ranks (ties averaged) and the pooled tie term. O(n1 + n2).
struct PooledRanks {
  double rank_sum_first = 0;
  double tie_term = 0;
};
PooledRanks pooled_ranks_sorted(std::span<const double> first_sorted, std::span<const double> second_sorted);

}  // namespace wattlab
