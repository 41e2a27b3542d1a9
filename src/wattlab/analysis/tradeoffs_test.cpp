// Pareto fronts, the savings table and the regression gate.
#include <gtest/gtest.h>

#include <random>

#include "wattlab/analysis/pareto.h"
#include "wattlab/analysis/regression_gate.h"
#include "wattlab/analysis/savings.h"

namespace wattlab {
namespace {

TEST(Pareto, ListsWhoDominatesWhom) {
  const std::vector<TradeoffPoint> points = {
      {"cheap", 1.0, 0.80}, {"balanced", 2.0, 0.85}, {"best", 5.0, 0.88}, {"worse", 3.0, 0.84}, {"tie", 2.0, 0.85},
      {"broken", NAN, 0.9}};
  const auto front = pareto_front(points);
  EXPECT_TRUE(front[0].on_front);
  EXPECT_TRUE(front[1].on_front);  // an equal point does not dominate
  EXPECT_TRUE(front[2].on_front);
  EXPECT_FALSE(front[3].on_front);
  EXPECT_EQ(front[3].dominated_by, (std::vector<size_t>{1, 4}));
  EXPECT_FALSE(front[5].on_front);
  EXPECT_TRUE(front[5].dominated_by.empty());
}

TEST(Savings, ReductionSignificanceAndEffectAgainstTheBaseline) {
  std::vector<Configuration> configurations = {
      {"small", {0.010, 0.011, 0.0105, 0.0098, 0.0102, 0.0101}, {0.85, 0.86, 0.84, 0.85, 0.86, 0.85}},
      {"big", {0.050, 0.052, 0.049, 0.051, 0.0505, 0.0495}, {0.87, 0.86, 0.87, 0.88, 0.87, 0.86}},
  };
  auto t = savings_table(configurations, 1);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const SavingsRow& small = t->rows[0];
  EXPECT_TRUE(t->rows[1].is_baseline);
  EXPECT_NEAR(small.energy_reduction, 1 - 0.01015 / 0.05025, 1e-12);  // medians of 6
  ASSERT_TRUE(small.energy_test.ok() && small.energy_delta.ok());
  EXPECT_DOUBLE_EQ(small.energy_delta->delta, -1);
  EXPECT_NEAR(small.correctness_difference, 0.85 - 0.87, 1e-12);
  ASSERT_TRUE(small.correctness_delta.ok());
  EXPECT_LT(small.correctness_delta->delta, 0);
  EXPECT_FALSE(savings_table(configurations, 2).ok());
  configurations[1].energy_per_image_j = {0, 0, 0};
  EXPECT_FALSE(savings_table(configurations, 1).ok());
}

Sample lognormal(const std::string& name, double median, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.02);
  Sample s{name, {}};
  for (size_t i = 0; i < n; ++i) s.values.push_back(median * std::exp(noise(rng)));
  return s;
}

TEST(RegressionGate, NoChangePasses) {
  auto d = decide_regression(lognormal("base", 0.02, 10, 1), lognormal("cand", 0.02, 10, 2));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verdict, GateVerdict::kPass) << d->reason;
  EXPECT_NE(d->reason.find("Pass"), std::string::npos);
}

TEST(RegressionGate, TenPercentCostlierOverTenRunsFails) {
  auto d = decide_regression(lognormal("base", 0.02, 10, 1), lognormal("cand", 0.022, 10, 2));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verdict, GateVerdict::kRegression) << d->reason;
  EXPECT_NEAR(d->increase, 0.10, 0.03);
  ASSERT_TRUE(d->increase_interval && d->test && d->delta);
  EXPECT_LT(d->increase_interval->low, d->increase);
  EXPECT_GT(d->increase_interval->high, d->increase);
  EXPECT_LT(d->test->p_value, 0.05);
  EXPECT_EQ(d->delta->magnitude, EffectMagnitude::kLarge);
}

TEST(RegressionGate, ASmallerIncreaseThanAllowedPasses) {
  RegressionGateOptions options;
  options.max_increase = 0.15;
  auto d = decide_regression(lognormal("base", 0.02, 10, 1), lognormal("cand", 0.022, 10, 2), options);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verdict, GateVerdict::kPass);
  EXPECT_NE(d->reason.find("within the allowed 15 %"), std::string::npos) << d->reason;
}

TEST(RegressionGate, TooFewRunsAreUndecided) {
  auto two = decide_regression(lognormal("base", 0.02, 2, 1), lognormal("cand", 0.03, 2, 2));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->verdict, GateVerdict::kUndecided);
  EXPECT_NE(two->reason.find("run at least 4 of each"), std::string::npos) << two->reason;
  // 2 runs against 10 could reach p = 1/C(12, 2) = 0.015, but two runs are too few to trust.
  auto few = decide_regression(lognormal("base", 0.02, 10, 1), lognormal("cand", 0.03, 2, 2));
  EXPECT_EQ(few->verdict, GateVerdict::kUndecided);
  // 3 against 3: even complete separation gives p = 1/C(6, 3) = 0.05, not below alpha.
  auto three = decide_regression(lognormal("base", 0.02, 3, 1), lognormal("cand", 0.03, 3, 2));
  EXPECT_EQ(three->verdict, GateVerdict::kUndecided);
  EXPECT_NE(three->reason.find("p = 0.05, not below alpha = 0.05"), std::string::npos) << three->reason;
  RegressionGateOptions options;
  EXPECT_EQ(runs_needed_per_side(options), 4u);  // 1/C(8, 4) = 0.014
  options.alpha = 0.2;
  EXPECT_EQ(runs_needed_per_side(options), 3u);
  EXPECT_FALSE(decide_regression({"b", {1.0, NAN}}, {"c", {1.0, 2.0}}).ok());
}

}  // namespace
}  // namespace wattlab
