#include "wattlab/analysis/distributions.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/binomial.hpp>
#include <cmath>
#include <limits>

namespace wattlab::dist {

namespace {

namespace bm = boost::math;
using NoThrow = bm::policies::policy<bm::policies::domain_error<bm::policies::ignore_error>,
                                     bm::policies::pole_error<bm::policies::ignore_error>,
                                     bm::policies::overflow_error<bm::policies::ignore_error>,
                                     bm::policies::evaluation_error<bm::policies::ignore_error>,
                                     bm::policies::rounding_error<bm::policies::ignore_error>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double normal_cdf(double z) {
  if (std::isnan(z)) return kNaN;
  if (std::isinf(z)) return z > 0 ? 1.0 : 0.0;
  return bm::cdf(bm::normal_distribution<double, NoThrow>(), z);
}

double normal_sf(double z) {
  if (std::isnan(z)) return kNaN;
  if (std::isinf(z)) return z > 0 ? 0.0 : 1.0;
  return bm::cdf(bm::complement(bm::normal_distribution<double, NoThrow>(), z));
}

double normal_quantile(double p) { return bm::quantile(bm::normal_distribution<double, NoThrow>(), p); }

double chi_squared_sf(double x, double df) {
  if (std::isnan(x)) return kNaN;
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return bm::cdf(bm::complement(bm::chi_squared_distribution<double, NoThrow>(df), x));
}

double chi_squared_quantile(double p, double df) {
  return bm::quantile(bm::chi_squared_distribution<double, NoThrow>(df), p);
}

double chi_squared_quantile_upper(double q, double df) {
  return bm::quantile(bm::complement(bm::chi_squared_distribution<double, NoThrow>(df), q));
}

double fisher_f_sf(double x, double df1, double df2) {
  if (std::isnan(x)) return kNaN;
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return bm::cdf(bm::complement(bm::fisher_f_distribution<double, NoThrow>(df1, df2), x));
}

double students_t_cdf(double t, double df) {
  if (std::isnan(t)) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  return bm::cdf(bm::students_t_distribution<double, NoThrow>(df), t);
}

double students_t_sf(double t, double df) { return students_t_cdf(-t, df); }

double binomial_coefficient(unsigned n, unsigned k) { return bm::binomial_coefficient<double>(n, k, NoThrow()); }

}  // namespace wattlab::dist
