#include "wattlab/analysis/rank_tests.h"

#include <algorithm>
#include <cmath>

#include "wattlab/analysis/distributions.h"
#include "wattlab/analysis/ranks.h"

namespace wattlab {

namespace {

// Ranks of all samples pooled, the per-group rank sums and the tie term.
struct PooledGroupRanks {
  size_t n = 0;
  std::vector<double> rank_sums;
  double tie_term = 0;
};

PooledGroupRanks pool_ranks(const std::vector<Sample>& samples) {
  std::vector<double> all;
  for (const Sample& s : samples) all.insert(all.end(), s.values.begin(), s.values.end());
  const std::vector<double> ranks = average_ranks(all);
  PooledGroupRanks out;
  out.n = all.size();
  size_t at = 0;
  for (const Sample& s : samples) {
    double sum = 0;
    for (size_t i = 0; i < s.values.size(); ++i) sum += ranks[at + i];
    out.rank_sums.push_back(sum);
    at += s.values.size();
  }
  out.tie_term = tie_term(all);
  return out;
}

Status check_rank_test_input(const std::string& test, const std::vector<Sample>& samples) {
  WATTLAB_RETURN_IF_ERROR(check_samples(test, samples, 2, 1));
  size_t total = 0;
  for (const Sample& s : samples) total += s.values.size();
  if (total <= samples.size()) {
    return Status::invalid_argument(test + " needs more values than groups (" + std::to_string(total) +
                                    " values in " + std::to_string(samples.size()) + " groups) — add repetitions");
  }
  if (all_values_equal(samples)) {
    return Status::invalid_argument(test + ": all " + std::to_string(total) + " values equal " +
                                    format_value(samples.front().values.front()) +
                                    ", so their ranks carry no information — is the right column selected?");
  }
  return Status::ok_status();
}

// Number of ways, for each k, that m values from one sample and n from the
// other can be ordered so that U = k: the coefficients of the Gaussian
// binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). Exact
// in 128-bit integers while C(m+n, m) stays below ~1e37.
std::vector<__int128> mann_whitney_counts(size_t m, size_t n) {
  std::vector<__int128> poly(m * n + 1, 0);
  poly[0] = 1;
  size_t degree = 0;  // of [n+i-1 choose i-1]_q, the product so far
  for (size_t i = 1; i <= m; ++i) {
    const size_t new_degree = degree + n;
    // Multiply by (1 - q^(n+i)), keeping the terms up to the quotient's degree.
    for (size_t k = new_degree; k >= n + i; --k) poly[k] -= poly[k - n - i];
    // Divide by (1 - q^i), exactly: b_k = a_k + b_(k-i).
    for (size_t k = i; k <= new_degree; ++k) poly[k] += poly[k - i];
    degree = new_degree;
  }
  return poly;
}

}  // namespace

Result<KruskalWallisResult> kruskal_wallis(const std::vector<Sample>& samples) {
  WATTLAB_RETURN_IF_ERROR(check_rank_test_input("Kruskal–Wallis", samples));
  const PooledGroupRanks pooled = pool_ranks(samples);
  const double n = static_cast<double>(pooled.n);
  const double k = static_cast<double>(samples.size());
  double between = 0;
  for (size_t g = 0; g < samples.size(); ++g)
    between += pooled.rank_sums[g] * pooled.rank_sums[g] / static_cast<double>(samples[g].values.size());
  KruskalWallisResult r;
  r.n = pooled.n;
  r.tie_correction = 1 - pooled.tie_term / (n * n * n - n);
  r.h = (12.0 / (n * (n + 1)) * between - 3 * (n + 1)) / r.tie_correction;
  r.df = k - 1;
  r.p_value = dist::chi_squared_sf(r.h, r.df);
  r.eta_squared_h = (r.h - k + 1) / (n - k);
  return r;
}

Result<DunnResult> dunn(const std::vector<Sample>& samples, PAdjustment adjustment) {
  WATTLAB_RETURN_IF_ERROR(check_rank_test_input("Dunn's test", samples));
  const PooledGroupRanks pooled = pool_ranks(samples);
  const double n = static_cast<double>(pooled.n);
  const double variance_unit = n * (n + 1) / 12.0 - pooled.tie_term / (12.0 * (n - 1));
  DunnResult r;
  r.adjustment = adjustment;
  std::vector<double> p_values;
  for (size_t a = 0; a < samples.size(); ++a) {
    for (size_t b = a + 1; b < samples.size(); ++b) {
      const double na = static_cast<double>(samples[a].values.size());
      const double nb = static_cast<double>(samples[b].values.size());
      DunnPair pair;
      pair.first = a;
      pair.second = b;
      pair.mean_rank_difference = pooled.rank_sums[a] / na - pooled.rank_sums[b] / nb;
      pair.z = pair.mean_rank_difference / std::sqrt(variance_unit * (1 / na + 1 / nb));
      pair.p_value = std::min(1.0, 2 * dist::normal_sf(std::fabs(pair.z)));
      p_values.push_back(pair.p_value);
      r.pairs.push_back(pair);
    }
  }
  const std::vector<double> adjusted = adjust_p_values(p_values, adjustment);
  for (size_t i = 0; i < r.pairs.size(); ++i) r.pairs[i].p_adjusted = adjusted[i];
  return r;
}

const char* mann_whitney_method_name(MannWhitneyMethod method) {
  return method == MannWhitneyMethod::kExact ? "exact" : "asymptotic";
}

Result<MannWhitneyResult> mann_whitney_u(const Sample& first, const Sample& second, Alternative alternative) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Mann–Whitney U", {first, second}, 2, 1));
  if (all_values_equal({first, second})) {
    return Status::invalid_argument("Mann–Whitney U: all values of '" + first.name + "' and '" + second.name +
                                    "' equal " + format_value(first.values.front()) + ", so there is nothing to rank");
  }
  std::vector<double> x = first.values, y = second.values;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  const PooledRanks pooled = pooled_ranks_sorted(x, y);
  const size_t n1 = x.size(), n2 = y.size();
  const double n1d = static_cast<double>(n1), n2d = static_cast<double>(n2);
  MannWhitneyResult r;
  r.alternative = alternative;
  r.u = pooled.rank_sum_first - n1d * (n1d + 1) / 2;
  const double u2 = n1d * n2d - r.u;
  // The statistic whose upper tail is the p-value, and how many tails count.
  double u_tail;
  double tails = 1;
  switch (alternative) {
    case Alternative::kGreater: u_tail = r.u; break;
    case Alternative::kLess: u_tail = u2; break;
    default: u_tail = std::max(r.u, u2); tails = 2; break;
  }
  const size_t smaller = std::min(n1, n2), larger = std::max(n1, n2);
  const bool exact_fits = std::lgamma(n1d + n2d + 1) - std::lgamma(n1d + 1) - std::lgamma(n2d + 1) < std::log(1e37);
  r.method = (n1 > 8 && n2 > 8) || pooled.tie_term > 0 || !exact_fits ? MannWhitneyMethod::kAsymptotic
                                                                      : MannWhitneyMethod::kExact;
  if (r.method == MannWhitneyMethod::kExact) {
    const std::vector<__int128> counts = mann_whitney_counts(smaller, larger);
    __int128 total = 0, upper = 0;
    const auto from = static_cast<size_t>(u_tail);  // an integer without ties
    for (size_t k = 0; k < counts.size(); ++k) {
      total += counts[k];
      if (k >= from) upper += counts[k];
    }
    r.p_value = static_cast<double>(static_cast<long double>(upper) / static_cast<long double>(total));
  } else {
    const double n = n1d + n2d;
    const double sd = std::sqrt(n1d * n2d / 12 * ((n + 1) - pooled.tie_term / (n * (n - 1))));
    r.p_value = dist::normal_sf((u_tail - n1d * n2d / 2 - 0.5) / sd);
  }
  r.p_value = std::clamp(tails * r.p_value, 0.0, 1.0);
  return r;
}

double mann_whitney_smallest_p(size_t n1, size_t n2, Alternative alternative) {
  const double one_sided = 1 / dist::binomial_coefficient(static_cast<unsigned>(n1 + n2), static_cast<unsigned>(n1));
  return std::min(1.0, alternative == Alternative::kTwoSided ? 2 * one_sided : one_sided);
}

}  // namespace wattlab
