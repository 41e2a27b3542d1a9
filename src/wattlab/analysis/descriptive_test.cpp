#include "wattlab/analysis/descriptive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace wattlab {
namespace {

Sample normal_sample(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(10, 2);
  Sample s{"x", {}};
  for (size_t i = 0; i < n; ++i) s.values.push_back(d(rng));
  return s;
}

TEST(Describe, SameSeedSameIntervalOtherSeedOther) {
  const Sample s = normal_sample(30, 1);
  BootstrapOptions a{2000, 0.95, 42}, b{2000, 0.95, 43};
  auto first = describe(s, a), again = describe(s, a), other = describe(s, b);
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(first->median_ci.low, again->median_ci.low);
  EXPECT_EQ(first->mean_ci.high, again->mean_ci.high);
  EXPECT_NE(first->mean_ci.low, other->mean_ci.low);
}

TEST(Describe, IntervalsBracketTheEstimateAndStayInTheData) {
  const Sample s = normal_sample(40, 2);
  auto d = describe(s);
  ASSERT_TRUE(d.ok());
  EXPECT_LT(d->mean_ci.low, d->mean);
  EXPECT_GT(d->mean_ci.high, d->mean);
  EXPECT_LE(d->median_ci.low, d->median);
  EXPECT_GE(d->median_ci.high, d->median);
  EXPECT_GE(d->median_ci.low, d->min);
  EXPECT_LE(d->median_ci.high, d->max);
  // The mean's interval is about mean +- 1.96 sd / sqrt(n).
  const double half_width = 1.96 * d->sd / std::sqrt(40.0);
  EXPECT_NEAR(d->mean_ci.high - d->mean_ci.low, 2 * half_width, 0.25 * half_width);
}

TEST(Describe, RejectsWhatMakesNoSense) {
  EXPECT_FALSE(describe({"x", {}}).ok());
  EXPECT_FALSE(describe({"x", {1.0, NAN}}).ok());
  EXPECT_FALSE(describe({"x", {1.0, 2.0}}, {50, 0.95, 1}).ok());
  EXPECT_FALSE(describe({"x", {1.0, 2.0}}, {1000, 1.2, 1}).ok());
  auto one = describe({"x", {3.0}});
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(std::isnan(one->sd));
  EXPECT_TRUE(std::isnan(one->median_ci.low));
}

TEST(BootstrapMedianIncrease, CoversTheTrueRatio) {
  Sample base = normal_sample(20, 3), cand = base;
  cand.name = "candidate";
  for (double& v : cand.values) v *= 1.10;  // exactly 10 % costlier
  auto ci = bootstrap_median_increase(base, cand);
  ASSERT_TRUE(ci.ok()) << ci.status().to_string();
  EXPECT_LE(ci->low, 0.10);
  EXPECT_GE(ci->high, 0.10);
  EXPECT_FALSE(bootstrap_median_increase({"b", {-1.0, -2.0}}, cand).ok());
}

TEST(Quantile, MatchesLinearInterpolation) {
  const std::vector<double> v = {1, 2, 4, 8};
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.5), 3);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 1), 8);
  EXPECT_DOUBLE_EQ(median({5, 1, 3}), 3);
}

}  // namespace
}  // namespace wattlab
