#include "wattlab/analysis/kernel_ridge.h"

#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wattlab {
namespace {

Eigen::MatrixXd matrix_of(const nlohmann::json& rows) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows[0].size()));
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
  return m;
}

Eigen::VectorXd vector_of(const nlohmann::json& values) {
  const auto v = values.get<std::vector<double>>();
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

void expect_relatively_close(const Eigen::VectorXd& got, const Eigen::VectorXd& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = want.cwiseAbs().maxCoeff();
  for (Eigen::Index i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tolerance * std::max(std::fabs(want[i]), 1e-3 * scale)) << "at " << i;
  }
}

// Fit, predictions and 4-fold out-of-fold predictions against NumPy's
// closed form (testdata/estimation_reference.py), to 1e-6 relative.
TEST(KernelRidgeTest, MatchesTheClosedFormNumpyReference) {
  std::ifstream in(std::string(WATTLAB_ANALYSIS_TESTDATA) + "/kernel_ridge_reference.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json reference = nlohmann::json::parse(in);
  const Eigen::MatrixXd x = matrix_of(reference["X"]);
  const Eigen::VectorXd y = vector_of(reference["y"]);
  const Eigen::MatrixXd query = matrix_of(reference["X_query"]);
  ASSERT_EQ(reference["cases"].size(), 3u);
  for (const auto& c : reference["cases"]) {
    const KernelRidgeParams params{c["alpha"].get<double>(), c["gamma"].get<double>()};
    SCOPED_TRACE("alpha " + std::to_string(params.alpha) + " gamma " + std::to_string(params.gamma));
    auto model = KernelRidge::fit(x, y, params);
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_EQ(model->feature_scale()[3], 1.0);  // the constant column
    expect_relatively_close(model->dual_coef(), vector_of(c["dual_coef"]), 1e-6);
    expect_relatively_close(model->predict(query), vector_of(c["predictions"]), 1e-6);
    const auto folds = c["folds"].get<std::vector<int>>();
    auto cv = cross_validated_predictions(x, y, folds, params);
    ASSERT_TRUE(cv.ok()) << cv.status().message();
    expect_relatively_close(*cv, vector_of(c["cv_predictions"]), 1e-6);
  }
}

TEST(KernelRidgeTest, RebuiltFromItsPartsPredictsTheSame) {
  Eigen::MatrixXd x(6, 2);
  x << 1, 2, 2, 1, 3, 5, 4, 4, 5, 0, 6, 3;
  Eigen::VectorXd y(6);
  y << 1, 2, 1.5, 3, 2.5, 4;
  auto model = KernelRidge::fit(x, y, {0.01, 0.5});
  ASSERT_TRUE(model.ok());
  auto rebuilt = KernelRidge::from_parts(model->params(), model->feature_mean(), model->feature_scale(),
                                         model->target_mean(), model->standardised_rows(), model->dual_coef());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->predict(x), model->predict(x));
  // Far from every training row a prediction falls back to the mean target.
  Eigen::MatrixXd far(1, 2);
  far << 1e3, -1e3;
  EXPECT_NEAR(model->predict(far)[0], y.mean(), 1e-12);
  EXPECT_FALSE(KernelRidge::from_parts(model->params(), model->feature_mean(), model->feature_scale(),
                                       model->target_mean(), model->standardised_rows(), Eigen::VectorXd(2))
                   .ok());
}

TEST(KernelRidgeTest, RefusesBadInput) {
  Eigen::MatrixXd x(3, 1);
  x << 1, 2, 3;
  EXPECT_FALSE(KernelRidge::fit(x, Eigen::VectorXd(2), {}).ok());
  EXPECT_FALSE(KernelRidge::fit(x, Eigen::VectorXd::Ones(3), {0, 1}).ok());
  EXPECT_FALSE(KernelRidge::fit(Eigen::MatrixXd(0, 1), Eigen::VectorXd(0), {}).ok());
  x(1, 0) = NAN;
  EXPECT_FALSE(KernelRidge::fit(x, Eigen::VectorXd::Ones(3), {}).ok());
}

TEST(FoldAssignmentTest, IsDeterministicForASeedAndKeepsGroupsTogether) {
  std::vector<std::string> groups;
  for (int i = 0; i < 40; ++i) groups.push_back("config-" + std::to_string(i / 3));  // 14 groups of up to 3 rows
  auto a = assign_folds(groups, 5, 42);
  auto b = assign_folds(groups, 5, 42);
  auto c = assign_folds(groups, 5, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  // Every row of a group in one fold; groups spread evenly: 14 groups over 5 folds is 3,3,3,3,2.
  std::vector<std::set<int>> folds_of_group(14);
  std::vector<int> groups_in_fold(5, 0);
  for (size_t i = 0; i < groups.size(); ++i) folds_of_group[i / 3].insert((*a)[i]);
  for (const auto& f : folds_of_group) {
    ASSERT_EQ(f.size(), 1u);
    ++groups_in_fold[*f.begin()];
  }
  std::sort(groups_in_fold.begin(), groups_in_fold.end());
  EXPECT_EQ(groups_in_fold, (std::vector<int>{2, 3, 3, 3, 3}));
  EXPECT_FALSE(assign_folds(groups, 1, 42).ok());
  EXPECT_FALSE(assign_folds(std::vector<std::string>{"a", "a", "b"}, 3, 42).ok());
}

// The assignment follows its documented algorithm exactly (so it is the same
// on every platform): against the Python re-statement of it.
TEST(FoldAssignmentTest, MatchesTheReferenceAssignment) {
  std::ifstream in(std::string(WATTLAB_ANALYSIS_TESTDATA) + "/kernel_ridge_reference.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json reference = nlohmann::json::parse(in);
  ASSERT_EQ(reference["fold_assignments"].size(), 3u);
  for (const auto& c : reference["fold_assignments"]) {
    const auto groups = c["groups"].get<std::vector<std::string>>();
    auto folds = assign_folds(groups, c["k"].get<int>(), c["seed"].get<uint64_t>());
    ASSERT_TRUE(folds.ok());
    EXPECT_EQ(*folds, c["folds"].get<std::vector<int>>()) << "seed " << c["seed"];
  }
}

TEST(KernelRidgeTuningTest, PicksTheGridPairWithTheLowestOutOfFoldError) {
  Eigen::MatrixXd x(30, 1);
  Eigen::VectorXd y(30);
  for (int i = 0; i < 30; ++i) {
    x(i, 0) = i / 3.0;
    y[i] = std::sin(x(i, 0));
  }
  std::vector<std::string> rows;
  for (int i = 0; i < 30; ++i) rows.push_back(std::to_string(i));
  auto folds = assign_folds(rows, 5, 1);
  ASSERT_TRUE(folds.ok());
  KernelRidgeGrid grid{{1e-4, 10.0}, {0.01, 1.0}};
  auto tuned = tune_kernel_ridge(x, y, *folds, grid);
  ASSERT_TRUE(tuned.ok());
  for (double alpha : grid.alphas) {
    for (double gamma : grid.gammas) {
      auto cv = cross_validated_predictions(x, y, *folds, {alpha, gamma});
      ASSERT_TRUE(cv.ok());
      EXPECT_LE(tuned->cv_mse, (*cv - y).squaredNorm() / 30 + 1e-15);
    }
  }
  EXPECT_EQ(tuned->params.alpha, 1e-4);  // a smooth noise-free curve wants little smoothing
  EXPECT_LT(tuned->cv_mse, 1e-3);
}

TEST(PredictionErrorsTest, ComputesMapeRmseAndR2) {
  const std::vector<double> actual = {100, 200, 300, 400};
  const std::vector<double> predicted = {110, 190, 300, 440};
  const PredictionErrors e = prediction_errors(actual, predicted);
  EXPECT_NEAR(e.mape, (0.1 + 0.05 + 0 + 0.1) / 4, 1e-15);
  EXPECT_NEAR(e.rmse, std::sqrt((100.0 + 100 + 0 + 1600) / 4), 1e-12);
  EXPECT_NEAR(e.r2, 1 - 1800.0 / 50000.0, 1e-12);
  EXPECT_EQ(e.count, 4u);
}

}  // namespace
}  // namespace wattlab
