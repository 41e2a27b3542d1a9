// The matrix profile of a series and FLUSS, the regime-change detector built
// on it (Gharghabi et al., "Matrix Profile VIII: Domain Agnostic Online
// Semantic Segmentation at Superhuman Performance Levels", ICDM 2017), as
// stumpy's `stump`/`aamp` and `fluss` compute them. STEP (analysis/step.h)
// runs them on a run's power timeline to find where power stabilises.
//
// Distances are plain Euclidean distances between subsequences (stumpy's
// `aamp`, i.e. normalize=False), not z-normalised ones: z-normalisation
// removes each subsequence's level, and a change of power *level* is exactly
// the regime change a warming-up run shows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// The self-join matrix profile of a series for subsequences of `window`
// samples. Subsequence i is series[i, i + window); there are
// series.size() - window + 1 of them.
struct MatrixProfile {
  size_t window = 0;
  std::vector<double> distance;  // per subsequence: Euclidean distance to its nearest neighbour
  std::vector<int64_t> index;    // per subsequence: the nearest neighbour's start
};

// Trivial matches excluded from a subsequence's neighbours: those starting at
// most ceil(window / 4) samples away (stumpy's default exclusion zone).
size_t matrix_profile_exclusion_zone(size_t window);

// Computes the profile exactly (every pair, O(n²) along diagonals). Ties go
// to the smallest index. InvalidArgument when window < 2, when a value is
// not finite, or when the series is too short for any subsequence to have a
// non-trivial neighbour (at most window + exclusion zone samples).
Result<MatrixProfile> compute_matrix_profile(std::span<const double> series, size_t window);

// FLUSS's corrected arc curve for a profile index: CAC[i] = min(1, arcs
// crossing i / arcs an index without regimes would put across i), the latter
// the ideal parabola 2·i·(k − i)/k for k subsequences (FLUSS's analytic
// idealised arc curve; stumpy fits the same shape empirically). The first
// and last window × exclusion_factor values are 1. Low values mark regime
// boundaries; values near 1, none.
std::vector<double> corrected_arc_curve(std::span<const int64_t> index, size_t window, size_t exclusion_factor);

// The positions of the n_regimes − 1 regime changes a corrected arc curve
// shows, as stumpy's `_rea`: its minimum, then the minimum outside
// window × exclusion_factor of the ones already taken, and so on.
std::vector<size_t> regime_change_locations(std::span<const double> cac, size_t n_regimes, size_t window,
                                            size_t exclusion_factor);

}  // namespace wattlab
