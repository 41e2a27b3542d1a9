#include "wattlab/analysis/kernel_ridge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace wattlab {

namespace {

bool all_finite(const Eigen::MatrixXd& m) { return m.allFinite(); }

// exp(−gamma ‖a_i − b_j‖²) for rows a_i of `a` and b_j of `b`.
Eigen::MatrixXd rbf_kernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double gamma) {
  const Eigen::VectorXd a_sq = a.rowwise().squaredNorm();
  const Eigen::VectorXd b_sq = b.rowwise().squaredNorm();
  Eigen::MatrixXd sq = (-2.0 * a * b.transpose()).colwise() + a_sq;
  sq.rowwise() += b_sq.transpose();
  return (-gamma * sq.cwiseMax(0.0)).array().exp().matrix();
}

// Rows of `x` whose fold is (or is not) `fold`.
Eigen::MatrixXd select_rows(const Eigen::MatrixXd& x, std::span<const int> folds, int fold, bool in_fold) {
  std::vector<Eigen::Index> rows;
  for (size_t i = 0; i < folds.size(); ++i) {
    if ((folds[i] == fold) == in_fold) rows.push_back(static_cast<Eigen::Index>(i));
  }
  return x(rows, Eigen::all);
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A uniform integer in [0, bound) by rejection (no modulo bias).
uint64_t uniform_below(uint64_t& state, uint64_t bound) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  for (;;) {
    const uint64_t r = splitmix64(state);
    if (r < limit) return r % bound;
  }
}

Status check_folds(std::span<const int> folds, Eigen::Index rows) {
  if (static_cast<Eigen::Index>(folds.size()) != rows) {
    return Status::invalid_argument("cross-validation: " + std::to_string(folds.size()) + " fold labels for " +
                                    std::to_string(rows) + " rows");
  }
  return Status();
}

}  // namespace

Result<KernelRidge> KernelRidge::fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, KernelRidgeParams params) {
  if (x.rows() == 0) return Status::invalid_argument("kernel ridge: no training rows");
  if (x.rows() != y.size()) {
    return Status::invalid_argument("kernel ridge: " + std::to_string(x.rows()) + " rows but " +
                                    std::to_string(y.size()) + " targets");
  }
  if (!all_finite(x) || !y.allFinite()) return Status::invalid_argument("kernel ridge: a non-finite training value");
  if (!(params.alpha > 0) || !(params.gamma > 0)) {
    return Status::invalid_argument("kernel ridge: alpha and gamma must be positive");
  }
  KernelRidge model;
  model.params_ = params;
  model.mean_ = x.colwise().mean().transpose();
  model.scale_ = ((x.rowwise() - model.mean_.transpose()).array().square().colwise().mean().sqrt()).transpose();
  for (Eigen::Index j = 0; j < model.scale_.size(); ++j) {
    if (!(model.scale_[j] > 0)) model.scale_[j] = 1.0;
  }
  model.rows_ = model.standardise(x);
  model.target_mean_ = y.mean();
  Eigen::MatrixXd k = rbf_kernel(model.rows_, model.rows_, params.gamma);
  k.diagonal().array() += params.alpha;
  Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) return Status::internal("kernel ridge: the kernel matrix is not positive definite");
  model.coef_ = llt.solve((y.array() - model.target_mean_).matrix());
  if (!model.coef_.allFinite()) return Status::internal("kernel ridge: the solve gave non-finite coefficients");
  return model;
}

Result<KernelRidge> KernelRidge::from_parts(KernelRidgeParams params, Eigen::VectorXd feature_mean,
                                            Eigen::VectorXd feature_scale, double target_mean,
                                            Eigen::MatrixXd standardised_rows, Eigen::VectorXd dual_coef) {
  if (feature_mean.size() != feature_scale.size() || standardised_rows.cols() != feature_mean.size() ||
      standardised_rows.rows() != dual_coef.size()) {
    return Status::invalid_argument("kernel ridge: stored parts of inconsistent sizes");
  }
  if (!feature_mean.allFinite() || !feature_scale.allFinite() || !std::isfinite(target_mean) ||
      !standardised_rows.allFinite() || !dual_coef.allFinite() || !(params.alpha > 0) || !(params.gamma > 0) ||
      (feature_scale.array() <= 0).any()) {
    return Status::invalid_argument("kernel ridge: a stored part is not finite or out of range");
  }
  KernelRidge model;
  model.params_ = params;
  model.mean_ = std::move(feature_mean);
  model.scale_ = std::move(feature_scale);
  model.target_mean_ = target_mean;
  model.rows_ = std::move(standardised_rows);
  model.coef_ = std::move(dual_coef);
  return model;
}

Eigen::MatrixXd KernelRidge::standardise(const Eigen::MatrixXd& x) const {
  return (x.rowwise() - mean_.transpose()).array().rowwise() / scale_.transpose().array();
}

Eigen::VectorXd KernelRidge::predict(const Eigen::MatrixXd& x) const {
  return (rbf_kernel(standardise(x), rows_, params_.gamma) * coef_).array() + target_mean_;
}

Eigen::VectorXd KernelRidge::kernel_weights(const Eigen::RowVectorXd& x) const {
  return rbf_kernel(standardise(x), rows_, params_.gamma).row(0).transpose();
}

Result<std::vector<int>> assign_folds(std::span<const std::string> groups, int k, uint64_t seed) {
  std::map<std::string, size_t> position;
  std::vector<std::string> distinct;
  for (const std::string& g : groups) {
    if (position.emplace(g, distinct.size()).second) distinct.push_back(g);
  }
  if (k < 2 || distinct.size() < static_cast<size_t>(k)) {
    return Status::invalid_argument("cross-validation needs at least 2 folds and a group for each (" +
                                    std::to_string(k) + " folds, " + std::to_string(distinct.size()) + " groups)");
  }
  std::vector<size_t> order(distinct.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  uint64_t state = seed;
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[uniform_below(state, i + 1)]);
  std::vector<int> fold_of_group(distinct.size());
  for (size_t i = 0; i < order.size(); ++i) fold_of_group[order[i]] = static_cast<int>(i % static_cast<size_t>(k));
  std::vector<int> folds(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) folds[i] = fold_of_group[position[groups[i]]];
  return folds;
}

Result<Eigen::VectorXd> cross_validated_predictions(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                    std::span<const int> folds, KernelRidgeParams params) {
  WATTLAB_RETURN_IF_ERROR(check_folds(folds, y.size()));
  Eigen::VectorXd out(y.size());
  const int fold_count = folds.empty() ? 0 : *std::max_element(folds.begin(), folds.end()) + 1;
  for (int f = 0; f < fold_count; ++f) {
    const Eigen::MatrixXd test = select_rows(x, folds, f, true);
    if (test.rows() == 0) continue;
    const Eigen::MatrixXd train = select_rows(x, folds, f, false);
    if (train.rows() == 0) return Status::invalid_argument("cross-validation: fold " + std::to_string(f) + " holds every row");
    auto model = KernelRidge::fit(train, select_rows(y, folds, f, false), params);
    if (!model.ok()) return model.status();
    const Eigen::VectorXd predicted = model->predict(test);
    Eigen::Index t = 0;
    for (size_t i = 0; i < folds.size(); ++i) {
      if (folds[i] == f) out[static_cast<Eigen::Index>(i)] = predicted[t++];
    }
  }
  return out;
}

Result<TunedKernelRidge> tune_kernel_ridge(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                           std::span<const int> folds, const KernelRidgeGrid& grid) {
  if (grid.alphas.empty() || grid.gammas.empty()) return Status::invalid_argument("kernel ridge: an empty tuning grid");
  TunedKernelRidge best;
  best.cv_mse = INFINITY;
  for (double alpha : grid.alphas) {
    for (double gamma : grid.gammas) {
      auto predicted = cross_validated_predictions(x, y, folds, {alpha, gamma});
      if (!predicted.ok()) return predicted.status();
      const double mse = (*predicted - y).squaredNorm() / static_cast<double>(y.size());
      if (mse < best.cv_mse) {
        best.params = {alpha, gamma};
        best.cv_predictions = std::move(*predicted);
        best.cv_mse = mse;
      }
    }
  }
  return best;
}

PredictionErrors prediction_errors(std::span<const double> actual, std::span<const double> predicted) {
  PredictionErrors e;
  e.count = std::min(actual.size(), predicted.size());
  if (e.count == 0) return {NAN, NAN, NAN, 0};
  double abs_pct = 0, sq = 0, mean = 0;
  for (size_t i = 0; i < e.count; ++i) mean += actual[i];
  mean /= static_cast<double>(e.count);
  double total = 0;
  for (size_t i = 0; i < e.count; ++i) {
    const double diff = predicted[i] - actual[i];
    abs_pct += std::fabs(diff) / std::fabs(actual[i]);
    sq += diff * diff;
    total += (actual[i] - mean) * (actual[i] - mean);
  }
  e.mape = abs_pct / static_cast<double>(e.count);
  e.rmse = std::sqrt(sq / static_cast<double>(e.count));
  e.r2 = total > 0 ? 1.0 - sq / total : NAN;
  return e;
}

}  // namespace wattlab
