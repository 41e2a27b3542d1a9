// Kernel ridge regression with a radial-basis-function kernel, on Eigen, and
// the k-fold cross-validation that tunes it: PRE's regressor
// (analysis/pre.h), as the reference study used scikit-learn's KernelRidge.
//
// The model, for training rows x_i and targets y_i:
//   z = (x − mean) / scale        per column; scale is the population standard
//                                 deviation, 1 for a constant column
//   K_ij = exp(−gamma ‖z_i − z_j‖²)
//   c = (K + alpha I)⁻¹ (y − ȳ)    (a Cholesky solve)
//   f(x) = ȳ + Σ_i c_i exp(−gamma ‖z − z_i‖²)
// Centring y is wattlab's addition to scikit-learn's (intercept-free) form:
// far from the training rows a prediction falls back to the mean, not to 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "wattlab/core/status.h"

namespace wattlab {

struct KernelRidgeParams {
  double alpha = 1.0;  // ridge penalty, > 0
  double gamma = 0.1;  // RBF width on standardised features, > 0
};

class KernelRidge {
 public:
  // Fits rows of `x` (n × d) to `y` (n). InvalidArgument for no rows, sizes
  // that differ, a non-finite value, or alpha or gamma not positive; Internal
  // when the solve fails.
  static Result<KernelRidge> fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, KernelRidgeParams params);
  // A fitted model from its parts (as stored): InvalidArgument when their
  // sizes disagree or a value is not finite.
  static Result<KernelRidge> from_parts(KernelRidgeParams params, Eigen::VectorXd feature_mean,
                                        Eigen::VectorXd feature_scale, double target_mean,
                                        Eigen::MatrixXd standardised_rows, Eigen::VectorXd dual_coef);

  // f(x) for each row of `x` (d columns).
  Eigen::VectorXd predict(const Eigen::MatrixXd& x) const;
  // exp(−gamma ‖z − z_i‖²) for each training row i: how much a prediction at
  // `x` leans on each training row.
  Eigen::VectorXd kernel_weights(const Eigen::RowVectorXd& x) const;

  KernelRidgeParams params() const { return params_; }
  const Eigen::VectorXd& feature_mean() const { return mean_; }
  const Eigen::VectorXd& feature_scale() const { return scale_; }
  double target_mean() const { return target_mean_; }
  const Eigen::MatrixXd& standardised_rows() const { return rows_; }  // z_i, n × d
  const Eigen::VectorXd& dual_coef() const { return coef_; }          // c, n

 private:
  Eigen::MatrixXd standardise(const Eigen::MatrixXd& x) const;

  KernelRidgeParams params_;
  Eigen::VectorXd mean_, scale_;
  double target_mean_ = 0;
  Eigen::MatrixXd rows_;
  Eigen::VectorXd coef_;
};

// Assigns each row to one of `k` folds so that rows of the same group share
// a fold: the distinct groups, in order of first appearance, are shuffled by
// a Fisher–Yates shuffle driven by SplitMix64 from `seed` (the same on every
// platform and compiler, unlike std::shuffle), and the i-th group goes to
// fold i mod k. Give every row its own group for plain random folds.
// InvalidArgument when k < 2 or there are fewer distinct groups than k.
Result<std::vector<int>> assign_folds(std::span<const std::string> groups, int k, uint64_t seed);

// Out-of-fold predictions: each row predicted by a model fitted on the rows
// of the other folds. InvalidArgument when `folds` and `y` differ in size, a
// fold leaves no training row, or fit fails.
Result<Eigen::VectorXd> cross_validated_predictions(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                    std::span<const int> folds, KernelRidgeParams params);

// The grid a tuning searches (every pair).
struct KernelRidgeGrid {
  std::vector<double> alphas = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  std::vector<double> gammas = {0.003, 0.01, 0.03, 0.1, 0.3, 1.0};
};

struct TunedKernelRidge {
  KernelRidgeParams params;        // the pair with the lowest mean squared out-of-fold error
  Eigen::VectorXd cv_predictions;  // its out-of-fold predictions
  double cv_mse = 0;               // their mean squared error, in y's units
};

// Cross-validates every pair of `grid` on the same folds; ties go to the
// pair found first (alphas outer, gammas inner). Errors as
// cross_validated_predictions, or InvalidArgument for an empty grid.
Result<TunedKernelRidge> tune_kernel_ridge(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                           std::span<const int> folds, const KernelRidgeGrid& grid = {});

// Errors of predictions against actual values (both positive, same size).
struct PredictionErrors {
  double mape = 0;  // mean |predicted − actual| / actual, a fraction (0.06 = 6 %)
  double rmse = 0;  // root mean squared error, in the values' units
  double r2 = 0;    // 1 − SS_res / SS_tot (NaN when the actual values are all equal)
  size_t count = 0;
};
PredictionErrors prediction_errors(std::span<const double> actual, std::span<const double> predicted);

}  // namespace wattlab
