// The studentized range distribution (of max - min of k standard normal
// means over an independent chi/sqrt(df) scale), which Games–Howell and
// Tukey's HSD take their p-values from. Boost.Math has no such distribution,
// so its double integral is evaluated here by composite Gauss–Legendre
// quadrature on Boost.Math's nodes.
#pragma once

namespace wattlab {

// P(Q > q) for k >= 2 groups and df >= 1 degrees of freedom (df above
// 100,000 is treated as infinite, as SciPy does). The upper tail is
// integrated directly, so small p-values keep their relative precision:
// within 1e-7 relative (and 1e-14 absolute) of a 30-digit mpmath integration
// (testdata/make_reference.py). About 1 ms. 1 for q <= 0; NaN for invalid k
// or df.
double studentized_range_sf(double q, int k, double df);

}  // namespace wattlab
