#include "wattlab/analysis/studentized_range.h"

#include <boost/math/quadrature/gauss.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "wattlab/analysis/distributions.h"

namespace wattlab {

namespace {

using Gauss = boost::math::quadrature::gauss<double, 8>;

struct Node {
  double x, weight;
};

// Gauss–Legendre nodes of `panels` equal panels covering [low, high],
// appended to *out.
void add_panels(double low, double high, int panels, std::vector<Node>* out) {
  const double width = (high - low) / panels;
  for (int p = 0; p < panels; ++p) {
    const double centre = low + width * (p + 0.5), half = width / 2;
    for (size_t i = 0; i < Gauss::abscissa().size(); ++i) {
      const double offset = half * Gauss::abscissa()[i], weight = half * Gauss::weights()[i];
      if (offset == 0) {
        out->push_back({centre, weight});
      } else {
        out->push_back({centre - offset, weight});
        out->push_back({centre + offset, weight});
      }
    }
  }
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// The inner integral's nodes over x in [-9, 9] (outside it phi(x) < 1e-18),
// with phi(x) folded into the weight and Phi(x) precomputed.
struct InnerNode {
  double x, weight_times_density, cdf;
};

const std::vector<InnerNode>& inner_nodes() {
  static const std::vector<InnerNode> nodes = [] {
    std::vector<Node> raw;
    add_panels(-9, 9, 18, &raw);
    std::vector<InnerNode> out;
    for (const Node& n : raw)
      out.push_back({n.x, n.weight * std::exp(-0.5 * n.x * n.x) / std::sqrt(2 * M_PI), normal_cdf(n.x)});
    return out;
  }();
  return nodes;
}

// P(range of k standard normals > w) = k * integral over the maximum x of
// phi(x) [Phi(x)^(k-1) - (Phi(x) - Phi(x - w))^(k-1)]; the difference of
// powers is expanded, with a = Phi(x), b = Phi(x - w), as
// b * sum_{j=0}^{k-2} a^j (a-b)^(k-2-j), so that nothing cancels.
double range_sf(double w, int k) {
  if (w <= 0) return 1.0;
  double sum = 0;
  for (const InnerNode& n : inner_nodes()) {
    const double b = normal_cdf(n.x - w), rest = n.cdf - b;
    double powers = 1, rest_power = 1;  // S_i = a S_(i-1) + rest^i
    for (int i = 1; i <= k - 2; ++i) {
      rest_power *= rest;
      powers = n.cdf * powers + rest_power;
    }
    sum += n.weight_times_density * b * powers;
  }
  return std::min(1.0, k * sum);
}

}  // namespace

double studentized_range_sf(double q, int k, double df) {
  if (k < 2 || !(df >= 1) || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return 1.0;
  if (std::isinf(q)) return 0.0;
  if (df > 100000) return range_sf(q, k);
  // Average range_sf(q s) over s = sqrt(chi^2_df / df), integrated in
  // u = log s, where the density is (with its Jacobian) exp(c + df u -
  // df e^(2u) / 2): a bump at u = 0 of width sigma = 1/sqrt(2 df), with a
  // long left tail when df is small. The range holds all but 1e-20 of the
  // mass at either end; panels are 2 sigma wide over the bump and grow
  // geometrically into the left tail.
  const double log_constant = 0.5 * df * std::log(df) - std::lgamma(0.5 * df) - (0.5 * df - 1) * std::log(2.0);
  const double u_low = 0.5 * std::log(dist::chi_squared_quantile(1e-20, df) / df);
  const double u_high = 0.5 * std::log(dist::chi_squared_quantile_upper(1e-20, df) / df);
  const double sigma = 1 / std::sqrt(2 * df);
  std::vector<double> edges;
  for (double z = 0; sigma * z > u_low; z -= z > -6 ? 2 : -z / 6) edges.push_back(sigma * z);
  edges.push_back(u_low);
  std::reverse(edges.begin(), edges.end());
  for (double z = 2; sigma * z < u_high; z += 2) edges.push_back(sigma * z);
  edges.push_back(u_high);
  std::vector<Node> nodes;
  for (size_t e = 0; e + 1 < edges.size(); ++e) add_panels(edges[e], edges[e + 1], 1, &nodes);
  double sum = 0;
  for (const Node& n : nodes) {
    const double s = std::exp(n.x);
    sum += n.weight * std::exp(log_constant + df * n.x - 0.5 * df * s * s) * range_sf(q * s, k);
  }
  return std::min(1.0, sum);
}

}  // namespace wattlab
