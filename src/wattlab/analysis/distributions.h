// The probability distributions analysis/ needs, from Boost.Math, behind a
// policy that never throws: an argument outside a distribution's domain
// gives NaN (callers validate their inputs first, so NaN here is a bug, not
// a user error). Upper tails are computed as complements, so small p-values
// keep their relative precision.
#pragma once

namespace wattlab::dist {

double normal_cdf(double z);
double normal_sf(double z);         // 1 - Phi(z)
double normal_quantile(double p);   // Phi^-1(p), p in (0, 1)
double chi_squared_sf(double x, double df);
double fisher_f_sf(double x, double df1, double df2);
double students_t_cdf(double t, double df);
double students_t_sf(double t, double df);
double chi_squared_quantile(double p, double df);
double chi_squared_quantile_upper(double q, double df);  // x with P(X > x) = q
double binomial_coefficient(unsigned n, unsigned k);  // as a double (may round above 2^53)

}  // namespace wattlab::dist
