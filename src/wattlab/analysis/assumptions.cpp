#include "wattlab/analysis/assumptions.h"

#include <algorithm>
#include <cmath>

#include "wattlab/analysis/descriptive.h"
#include "wattlab/analysis/distributions.h"

namespace wattlab {

namespace {

// c[0] + c[1] x + ... + c[size-1] x^(size-1).
double polynomial(std::initializer_list<double> c, double x) {
  double result = 0;
  for (auto it = std::rbegin(c); it != std::rend(c); ++it) result = result * x + *it;
  return result;
}

// Royston's approximation of the Shapiro–Wilk coefficients a_1..a_{n/2} (the
// upper half; the lower half is their negative), AS R94.
std::vector<double> shapiro_wilk_coefficients(size_t n) {
  const size_t half = n / 2;
  std::vector<double> a(half);
  if (n == 3) {
    a[0] = std::sqrt(0.5);
    return a;
  }
  const double an = static_cast<double>(n);
  std::vector<double> m(half);
  double summ2 = 0;
  for (size_t i = 0; i < half; ++i) {
    m[i] = dist::normal_quantile((static_cast<double>(i + 1) - 0.375) / (an + 0.25));
    summ2 += m[i] * m[i];
  }
  summ2 *= 2;
  const double ssumm2 = std::sqrt(summ2);
  const double rsn = 1 / std::sqrt(an);
  const double a1 = polynomial({0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056}, rsn) - m[0] / ssumm2;
  size_t first_scaled;
  double fac;
  if (n > 5) {
    const double a2 = -m[1] / ssumm2 + polynomial({0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633}, rsn);
    fac = std::sqrt((summ2 - 2 * m[0] * m[0] - 2 * m[1] * m[1]) / (1 - 2 * a1 * a1 - 2 * a2 * a2));
    a[1] = a2;
    first_scaled = 2;
  } else {
    fac = std::sqrt((summ2 - 2 * m[0] * m[0]) / (1 - 2 * a1 * a1));
    first_scaled = 1;
  }
  a[0] = a1;
  for (size_t i = first_scaled; i < half; ++i) a[i] = -m[i] / fac;
  return a;
}

}  // namespace

Result<ShapiroWilkResult> shapiro_wilk(const Sample& sample) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Shapiro–Wilk", {sample}, 1, 3));
  const size_t n = sample.values.size();
  // Centred on the median as SciPy does, which keeps the scaled values small.
  std::vector<double> x = sample.values;
  const double centre = median(x);
  for (double& v : x) v -= centre;
  std::sort(x.begin(), x.end());
  const double range = x.back() - x.front();
  if (!(range > 0)) {
    return Status::invalid_argument("Shapiro–Wilk: all " + std::to_string(n) + " values of '" + sample.name +
                                    "' equal " + format_value(sample.values.front()) +
                                    ", so normality cannot be judged");
  }
  const std::vector<double> half = shapiro_wilk_coefficients(n);
  // W is the squared correlation between the data and the full, antisymmetric
  // coefficient vector; 1 - W is formed directly to keep it exact near 1.
  std::vector<double> a(n, 0.0);
  for (size_t i = 0; i < half.size(); ++i) {
    a[i] = -half[i];
    a[n - 1 - i] = half[i];
  }
  double mean_a = 0, mean_x = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_a += a[i];
    mean_x += x[i] / range;
  }
  mean_a /= static_cast<double>(n);
  mean_x /= static_cast<double>(n);
  double ssa = 0, ssx = 0, sax = 0;
  for (size_t i = 0; i < n; ++i) {
    const double da = a[i] - mean_a, dx = x[i] / range - mean_x;
    ssa += da * da;
    ssx += dx * dx;
    sax += da * dx;
  }
  const double ssassx = std::sqrt(ssa * ssx);
  const double w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx);  // 1 - W

  ShapiroWilkResult r;
  r.n = n;
  r.w = 1 - w1;
  r.p_value_unvalidated = n > 5000;
  const double an = static_cast<double>(n);
  if (n == 3) {  // exact
    constexpr double kSixOverPi = 1.90985931710274, kAsinSqrtThreeQuarters = 1.04719755119660;
    r.p_value = std::max(0.0, kSixOverPi * (std::asin(std::sqrt(r.w)) - kAsinSqrtThreeQuarters));
    return r;
  }
  double y = std::log(w1);
  double mean, sd;
  if (n <= 11) {
    const double gamma = polynomial({-2.273, 0.459}, an);
    if (y >= gamma) {  // W so small that the approximation's transform breaks down
      r.p_value = 1e-99;
      return r;
    }
    y = -std::log(gamma - y);
    mean = polynomial({0.544, -0.39978, 0.025054, -6.714e-4}, an);
    sd = std::exp(polynomial({1.3822, -0.77857, 0.062767, -0.0020322}, an));
  } else {
    const double log_n = std::log(an);
    mean = polynomial({-1.5861, -0.31082, -0.083751, 0.0038915}, log_n);
    sd = std::exp(polynomial({-0.4803, -0.082676, 0.0030302}, log_n));
  }
  r.p_value = dist::normal_sf((y - mean) / sd);
  return r;
}

Result<LeveneResult> levene_median(const std::vector<Sample>& samples) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Levene's test", samples, 2, 1));
  const size_t k = samples.size();
  size_t total = 0;
  std::vector<std::vector<double>> deviations(k);
  std::vector<double> group_mean(k);
  double grand_mean = 0;
  for (size_t g = 0; g < k; ++g) {
    const auto& v = samples[g].values;
    const double centre = median(v);
    double sum = 0;
    for (double x : v) {
      deviations[g].push_back(std::fabs(x - centre));
      sum += deviations[g].back();
    }
    group_mean[g] = sum / static_cast<double>(v.size());
    grand_mean += sum;
    total += v.size();
  }
  if (total <= k) {
    return Status::invalid_argument("Levene's test needs more values than groups (" + std::to_string(total) +
                                    " values in " + std::to_string(k) + " groups) — add repetitions");
  }
  grand_mean /= static_cast<double>(total);
  double between = 0, within = 0;
  for (size_t g = 0; g < k; ++g) {
    between += static_cast<double>(deviations[g].size()) * (group_mean[g] - grand_mean) * (group_mean[g] - grand_mean);
    for (double z : deviations[g]) within += (z - group_mean[g]) * (z - group_mean[g]);
  }
  if (!(within > 0)) {
    return Status::invalid_argument(
        "Levene's test: in every group all values lie equally far from the group's median (constant groups, "
        "or groups of two), so spreads cannot be compared — add repetitions");
  }
  LeveneResult r;
  r.df_between = static_cast<double>(k - 1);
  r.df_within = static_cast<double>(total - k);
  r.statistic = (r.df_within * between) / (r.df_between * within);
  r.p_value = dist::fisher_f_sf(r.statistic, r.df_between, r.df_within);
  return r;
}

}  // namespace wattlab
