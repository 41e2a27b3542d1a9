#include "wattlab/analysis/anova.h"

#include <cmath>

#include "wattlab/analysis/distributions.h"
#include "wattlab/analysis/studentized_range.h"

namespace wattlab {

namespace {

struct MeanAndVariance {
  double n = 0, mean = 0, variance = 0;  // variance with n - 1
};

std::vector<MeanAndVariance> moments(const std::vector<Sample>& samples) {
  std::vector<MeanAndVariance> out;
  for (const Sample& s : samples) {
    MeanAndVariance m;
    m.n = static_cast<double>(s.values.size());
    for (double v : s.values) m.mean += v;
    m.mean /= m.n;
    for (double v : s.values) m.variance += (v - m.mean) * (v - m.mean);
    m.variance /= m.n - 1;
    out.push_back(m);
  }
  return out;
}

}  // namespace

Result<WelchAnovaResult> welch_anova(const std::vector<Sample>& samples) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Welch's ANOVA", samples, 2, 2));
  const std::vector<MeanAndVariance> m = moments(samples);
  for (size_t g = 0; g < samples.size(); ++g) {
    if (!(m[g].variance > 0)) {
      return Status::invalid_argument("Welch's ANOVA weighs each group by n/variance; every value of '" +
                                      samples[g].name + "' equals " + format_value(samples[g].values.front()) +
                                      " — use Kruskal–Wallis, or check that this group was measured");
    }
  }
  const double k = static_cast<double>(samples.size());
  double weight_sum = 0, weighted_mean = 0;
  for (const auto& g : m) {
    weight_sum += g.n / g.variance;
    weighted_mean += g.n / g.variance * g.mean;
  }
  weighted_mean /= weight_sum;
  double between = 0, lambda = 0;
  for (const auto& g : m) {
    const double w = g.n / g.variance;
    between += w * (g.mean - weighted_mean) * (g.mean - weighted_mean);
    lambda += (1 - w / weight_sum) * (1 - w / weight_sum) / (g.n - 1);
  }
  WelchAnovaResult r;
  r.df_between = k - 1;
  r.f = (between / (k - 1)) / (1 + 2 * (k - 2) / (k * k - 1) * lambda);
  r.df_within = (k * k - 1) / (3 * lambda);
  r.p_value = dist::fisher_f_sf(r.f, r.df_between, r.df_within);
  return r;
}

Result<GamesHowellResult> games_howell(const std::vector<Sample>& samples) {
  WATTLAB_RETURN_IF_ERROR(check_samples("Games–Howell", samples, 2, 2));
  const std::vector<MeanAndVariance> m = moments(samples);
  const int k = static_cast<int>(samples.size());
  GamesHowellResult r;
  for (size_t a = 0; a < samples.size(); ++a) {
    for (size_t b = a + 1; b < samples.size(); ++b) {
      const double va = m[a].variance / m[a].n, vb = m[b].variance / m[b].n;
      if (!(va + vb > 0)) {
        return Status::invalid_argument("Games–Howell: '" + samples[a].name + "' and '" + samples[b].name +
                                        "' are both constant, so their difference has no standard error");
      }
      GamesHowellPair p;
      p.first = a;
      p.second = b;
      p.mean_difference = m[a].mean - m[b].mean;
      p.standard_error = std::sqrt(va + vb);
      p.t = p.mean_difference / p.standard_error;
      p.df = (va + vb) * (va + vb) / (va * va / (m[a].n - 1) + vb * vb / (m[b].n - 1));
      p.p_value = studentized_range_sf(std::fabs(p.t) * std::sqrt(2.0), k, p.df);
      r.pairs.push_back(p);
    }
  }
  return r;
}

}  // namespace wattlab
