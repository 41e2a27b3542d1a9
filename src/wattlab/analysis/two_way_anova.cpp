#include "wattlab/analysis/two_way_anova.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <tuple>

#include "wattlab/analysis/distributions.h"

namespace wattlab {

namespace {

// The data reduced to cells: a least-squares fit on rows of a cell-constant
// design equals a fit on the cell means weighted by sqrt(cell size), plus the
// within-cell sum of squares, so models are fitted on (a x b) rows, not N.
struct Cells {
  size_t a_count = 0, b_count = 0;
  std::vector<double> count, sum;  // per cell a * b_count + b, of log values
  double within_ss = 0;
};

enum Terms { kA = 1, kB = 2, kInteraction = 4 };

struct Fit {
  double rss = 0;
  Eigen::Index rank = 0;
};

// Least squares of the cell means on the intercept and the chosen terms
// (treatment-coded dummies), weighted by cell size.
Fit fit(const Cells& cells, int terms) {
  std::vector<std::pair<size_t, size_t>> occupied;
  for (size_t i = 0; i < cells.a_count; ++i)
    for (size_t j = 0; j < cells.b_count; ++j)
      if (cells.count[i * cells.b_count + j] > 0) occupied.emplace_back(i, j);
  Eigen::Index columns = 1;
  if (terms & kA) columns += static_cast<Eigen::Index>(cells.a_count - 1);
  if (terms & kB) columns += static_cast<Eigen::Index>(cells.b_count - 1);
  if (terms & kInteraction) columns += static_cast<Eigen::Index>((cells.a_count - 1) * (cells.b_count - 1));
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(occupied.size()), columns);
  Eigen::VectorXd y(static_cast<Eigen::Index>(occupied.size()));
  for (size_t r = 0; r < occupied.size(); ++r) {
    const auto [i, j] = occupied[r];
    const double n = cells.count[i * cells.b_count + j];
    const double weight = std::sqrt(n);
    const auto row = static_cast<Eigen::Index>(r);
    y(row) = weight * cells.sum[i * cells.b_count + j] / n;
    Eigen::Index c = 0;
    x(row, c++) = weight;
    if (terms & kA) {
      if (i > 0) x(row, c + static_cast<Eigen::Index>(i - 1)) = weight;
      c += static_cast<Eigen::Index>(cells.a_count - 1);
    }
    if (terms & kB) {
      if (j > 0) x(row, c + static_cast<Eigen::Index>(j - 1)) = weight;
      c += static_cast<Eigen::Index>(cells.b_count - 1);
    }
    if ((terms & kInteraction) && i > 0 && j > 0)
      x(row, c + static_cast<Eigen::Index>((i - 1) * (cells.b_count - 1) + (j - 1))) = weight;
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(x);
  qr.setThreshold(1e-10);
  const Eigen::VectorXd beta = qr.solve(y);
  return {(y - x * beta).squaredNorm() + cells.within_ss, qr.rank()};
}

AnovaTerm term(std::string name, const Fit& without, const Fit& with, const Fit& full, double residual_df) {
  AnovaTerm t;
  t.name = std::move(name);
  t.sum_of_squares = std::max(0.0, without.rss - with.rss);
  t.df = static_cast<double>(with.rank - without.rank);
  t.f = (t.sum_of_squares / t.df) / (full.rss / residual_df);
  t.p_value = dist::fisher_f_sf(t.f, t.df, residual_df);
  t.partial_eta_squared = t.sum_of_squares / (t.sum_of_squares + full.rss);
  t.magnitude = eta_squared_magnitude(t.partial_eta_squared);
  return t;
}

}  // namespace

Result<TwoWayAnovaResult> two_way_anova_log(const TwoFactorData& data) {
  const size_t n = data.values.size();
  if (data.a.size() != n || data.b.size() != n) {
    return Status::invalid_argument("two-way ANOVA: " + std::to_string(n) + " values but " +
                                    std::to_string(data.a.size()) + " and " + std::to_string(data.b.size()) +
                                    " factor levels");
  }
  Cells cells;
  cells.a_count = data.a_levels.size();
  cells.b_count = data.b_levels.size();
  cells.count.assign(cells.a_count * cells.b_count, 0);
  cells.sum.assign(cells.count.size(), 0);
  std::vector<double> logs(n);
  for (size_t i = 0; i < n; ++i) {
    if (data.a[i] >= cells.a_count || data.b[i] >= cells.b_count) {
      return Status::invalid_argument("two-way ANOVA: row " + std::to_string(i + 1) + " names a level out of range");
    }
    if (!(data.values[i] > 0) || !std::isfinite(data.values[i])) {
      return Status::invalid_argument("two-way ANOVA of log values: value " + std::to_string(i + 1) + " (" +
                                      data.a_levels[data.a[i]] + " / " + data.b_levels[data.b[i]] + ") is " +
                                      format_value(data.values[i]) + "; the log needs positive, finite values");
    }
    logs[i] = std::log(data.values[i]);
    const size_t cell = data.a[i] * cells.b_count + data.b[i];
    cells.count[cell] += 1;
    cells.sum[cell] += logs[i];
  }
  std::vector<double> residuals(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t cell = data.a[i] * cells.b_count + data.b[i];
    residuals[i] = logs[i] - cells.sum[cell] / cells.count[cell];
    cells.within_ss += residuals[i] * residuals[i];
  }
  for (const auto& [name, level_count, index] : {std::tuple{&data.a_name, cells.a_count, &data.a},
                                                  std::tuple{&data.b_name, cells.b_count, &data.b}}) {
    std::vector<bool> present(level_count, false);
    for (uint32_t level : *index) present[level] = true;
    const auto distinct = std::count(present.begin(), present.end(), true);
    if (distinct < 2) {
      return Status::invalid_argument("two-way ANOVA: factor '" + *name + "' has " + std::to_string(distinct) +
                                      " level in the data; it needs at least two");
    }
  }
  const Fit intercept_a = fit(cells, kA), intercept_b = fit(cells, kB);
  const Fit additive = fit(cells, kA | kB), full = fit(cells, kA | kB | kInteraction);
  TwoWayAnovaResult r;
  r.n = n;
  r.residual_sum_of_squares = full.rss;
  r.residual_df = static_cast<double>(n) - static_cast<double>(full.rank);
  if (r.residual_df < 1) {
    return Status::invalid_argument("two-way ANOVA: no " + data.a_name + " x " + data.b_name +
                                    " cell holds two values, so nothing estimates the residual variance — "
                                    "run repetitions");
  }
  if (!(full.rss > 0)) {
    return Status::invalid_argument("two-way ANOVA: every value equals its cell's other values, so there is no "
                                    "residual variance to test against");
  }
  if (additive.rank <= intercept_a.rank || additive.rank <= intercept_b.rank || full.rank <= additive.rank) {
    return Status::invalid_argument("two-way ANOVA: the runs do not cross " + data.a_name + " and " + data.b_name +
                                    " (each level of one appears with a single level of the other), so their "
                                    "effects cannot be told apart — run the missing combinations");
  }
  r.a = term(data.a_name, intercept_b, additive, full, r.residual_df);
  r.b = term(data.b_name, intercept_a, additive, full, r.residual_df);
  r.interaction = term(data.a_name + ":" + data.b_name, additive, full, full, r.residual_df);
  auto normality = shapiro_wilk({"residuals", residuals});
  if (normality.ok()) {
    r.residual_normality = *normality;
  } else {
    r.residual_normality_note = normality.status().message();
  }
  return r;
}

}  // namespace wattlab
