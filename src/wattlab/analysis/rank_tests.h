// Rank-based comparisons of groups, which assume no normality: energy
// figures are skewed and come in few repetitions, so these are the tests a
// decision rests on. Each matches SciPy 1.10 (kruskal, mannwhitneyu) or
// scikit-posthocs' Dunn test, to 1e-6 relative.
#pragma once

#include <vector>

#include "wattlab/analysis/multiple_testing.h"
#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct KruskalWallisResult {
  size_t n = 0;               // values in all groups
  double h = 0;               // H, corrected for ties
  double df = 0;              // k - 1
  double p_value = 0;         // chi-squared approximation
  double tie_correction = 1;  // 1 - sum(t^3 - t) / (N^3 - N); H is divided by it
  // Effect size eta^2_H = (H - k + 1) / (N - k) (Tomczak & Tomczak 2014): the
  // share of rank variance the grouping explains; can be slightly negative
  // when there is no effect.
  double eta_squared_h = 0;
};

// Kruskal–Wallis H test that all groups come from the same distribution.
// InvalidArgument for fewer than two groups, an empty group, a non-finite
// value, no more values than groups, or all values equal.
Result<KruskalWallisResult> kruskal_wallis(const std::vector<Sample>& samples);

struct DunnPair {
  size_t first = 0, second = 0;     // indexes into the samples, first < second
  double mean_rank_difference = 0;  // mean rank of first minus that of second (pooled ranks)
  double z = 0;                     // the difference over its tie-corrected standard error
  double p_value = 0;               // two-sided, unadjusted
  double p_adjusted = 0;            // after the family's adjustment
};

struct DunnResult {
  PAdjustment adjustment = PAdjustment::kHolm;
  std::vector<DunnPair> pairs;  // every pair, (0,1), (0,2), ..., (k-2,k-1)
};

// Dunn's (1964) post-hoc test on the ranks Kruskal–Wallis uses, with the tie
// correction, p-values adjusted over all k(k-1)/2 pairs. The same inputs are
// rejected as kruskal_wallis rejects.
Result<DunnResult> dunn(const std::vector<Sample>& samples, PAdjustment adjustment = PAdjustment::kHolm);

enum class MannWhitneyMethod { kExact, kAsymptotic };
const char* mann_whitney_method_name(MannWhitneyMethod method);  // "exact", "asymptotic"

struct MannWhitneyResult {
  double u = 0;  // U of the first sample: pairs (x, y) with x > y, ties counting 1/2
  double p_value = 0;
  MannWhitneyMethod method = MannWhitneyMethod::kExact;
  Alternative alternative = Alternative::kTwoSided;
};

// Mann–Whitney U test of `first` against `second`, as SciPy's mannwhitneyu
// with method="auto": the exact null distribution when there are no ties and
// either sample has at most 8 values, otherwise the normal approximation
// with tie and continuity corrections. kGreater tests whether `first` tends
// to be larger. InvalidArgument for an empty sample, a non-finite value, or
// all values equal.
Result<MannWhitneyResult> mann_whitney_u(const Sample& first, const Sample& second,
                                         Alternative alternative = Alternative::kTwoSided);

// The smallest p-value the exact test can give with samples of these sizes
// (complete separation): 1 / C(n1 + n2, n1), doubled for a two-sided test.
// Below alpha, a difference can be detected at all; tells "too few runs".
double mann_whitney_smallest_p(size_t n1, size_t n2, Alternative alternative);

}  // namespace wattlab
