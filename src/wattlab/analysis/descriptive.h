// Descriptive statistics of one sample, with percentile-bootstrap confidence
// intervals of its mean and median that a seed makes reproducible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct ConfidenceInterval {
  double low = 0;
  double high = 0;
  double level = 0.95;  // coverage the interval was built for
};

// A percentile bootstrap: `resamples` resamples with replacement drawn by a
// SplitMix64 generator seeded with `seed` (the same seed and data give the
// same interval on every platform), and the interval between the
// (1-level)/2 and (1+level)/2 quantiles (linear interpolation) of the
// resampled statistic.
struct BootstrapOptions {
  int resamples = 2000;  // at least 100
  double level = 0.95;   // in (0.5, 1)
  uint64_t seed = 12345;
};
// InvalidArgument when resamples or level is out of range.
Status validate(const BootstrapOptions& options);

struct Descriptives {
  size_t n = 0;
  double mean = 0;
  double sd = 0;  // sample standard deviation (n - 1 denominator); NaN when n < 2
  double median = 0;
  double q1 = 0, q3 = 0;  // 25th and 75th percentiles, linear interpolation (NumPy's default)
  double iqr = 0;         // q3 - q1
  double min = 0, max = 0;
  // Percentile-bootstrap intervals; both ends NaN when n < 2 (nothing to resample).
  ConfidenceInterval mean_ci;
  ConfidenceInterval median_ci;
};

// Descriptives of `sample`. InvalidArgument for an empty sample, a NaN or
// infinite value, or invalid bootstrap options.
Result<Descriptives> describe(const Sample& sample, const BootstrapOptions& bootstrap = {});

// The q-quantile (q in [0, 1]) of ascending `sorted` values by linear
// interpolation between order statistics (Hyndman & Fan type 7, NumPy's
// default). `sorted` must not be empty.
double quantile_sorted(std::span<const double> sorted, double q);
// Median of `values` (any order, not empty).
double median(std::vector<double> values);

// Percentile-bootstrap interval of median(candidate) / median(baseline) - 1,
// resampling each sample independently. InvalidArgument for a sample with
// fewer than 2 values, a non-finite value, or a baseline whose median is not
// positive.
Result<ConfidenceInterval> bootstrap_median_increase(const Sample& baseline, const Sample& candidate,
                                                     const BootstrapOptions& bootstrap = {});

}  // namespace wattlab
