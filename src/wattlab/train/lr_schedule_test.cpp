#include "wattlab/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace wattlab {
namespace {

TEST(LrScheduleTest, NoneKeepsTheBaseRate) {
  LrSchedule s(LrScheduleOptions{}, 0.05, 5);
  for (int e = 1; e <= 5; ++e) EXPECT_DOUBLE_EQ(s.lr(e), 0.05);
  EXPECT_FALSE(s.observe(1.0));
}

TEST(LrScheduleTest, StepMultipliesByGammaEveryStep) {
  LrScheduleOptions o;
  o.kind = "step";
  o.step_epochs = 2;
  o.gamma = 0.5;
  LrSchedule s(o, 0.8, 6);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.8);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.8);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.4);
  EXPECT_DOUBLE_EQ(s.lr(5), 0.2);
  EXPECT_DOUBLE_EQ(s.lr(6), 0.2);
}

TEST(LrScheduleTest, CosineFallsFromBaseTowardsZero) {
  LrScheduleOptions o;
  o.kind = "cosine";
  LrSchedule s(o, 1.0, 4);
  EXPECT_DOUBLE_EQ(s.lr(1), 1.0);
  EXPECT_NEAR(s.lr(2), (1 + std::cos(std::numbers::pi / 4)) / 2, 1e-12);
  EXPECT_NEAR(s.lr(3), 0.5, 1e-12);
  EXPECT_NEAR(s.lr(4), (1 + std::cos(3 * std::numbers::pi / 4)) / 2, 1e-12);
}

TEST(LrScheduleTest, CosineWarmupRampsLinearlyThenDecays) {
  LrScheduleOptions o;
  o.kind = "cosine";
  o.warmup_epochs = 2;
  LrSchedule s(o, 0.1, 6);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.1);
  EXPECT_NEAR(s.lr(5), 0.05, 1e-12);
  EXPECT_LT(s.lr(6), s.lr(5));
}

TEST(LrScheduleTest, PlateauAppliesTheFactorAfterPatienceIsExceeded) {
  LrScheduleOptions o;
  o.kind = "plateau";
  o.plateau_factor = 0.5;
  o.plateau_patience = 1;
  LrSchedule s(o, 1.0, 10);
  EXPECT_FALSE(s.observe(1.0));  // best
  EXPECT_FALSE(s.observe(0.9));  // better
  EXPECT_FALSE(s.observe(0.95)); // 1 bad epoch: within patience
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);
  EXPECT_TRUE(s.observe(0.91));  // 2 bad epochs > patience 1
  EXPECT_DOUBLE_EQ(s.lr(5), 0.5);
  EXPECT_FALSE(s.observe(0.92)); // count restarted
  EXPECT_TRUE(s.observe(0.93));
  EXPECT_DOUBLE_EQ(s.lr(7), 0.25);
}

TEST(LrScheduleTest, PlateauMinDeltaAndMinLr) {
  LrScheduleOptions o;
  o.kind = "plateau";
  o.plateau_factor = 0.1;
  o.plateau_patience = 0;
  o.plateau_min_delta = 0.05;
  o.min_lr = 0.02;
  LrSchedule s(o, 1.0, 10);
  s.observe(1.0);
  EXPECT_TRUE(s.observe(0.96));  // improves by 0.04 < min_delta: a bad epoch
  EXPECT_DOUBLE_EQ(s.lr(3), 0.1);
  EXPECT_FALSE(s.observe(0.90)); // by 0.1: improvement
  EXPECT_TRUE(s.observe(0.90));
  EXPECT_DOUBLE_EQ(s.lr(5), 0.02);  // 0.01 floored at min_lr
  EXPECT_FALSE(s.observe(0.90));    // already at the floor: no change reported
}

TEST(LrScheduleTest, ValidateNamesTheFlag) {
  LrScheduleOptions o;
  EXPECT_TRUE(validate(o).ok());
  o.kind = "linear";
  EXPECT_EQ(validate(o).message(), "--schedule must be none, step, cosine or plateau (got \"linear\")");
  o = LrScheduleOptions{};
  o.gamma = 1.5;
  EXPECT_EQ(validate(o).message(), "--lr-gamma must be in (0, 1] (got 1.500000)");
  o = LrScheduleOptions{};
  o.step_epochs = 0;
  EXPECT_FALSE(validate(o).ok());
}

}  // namespace
}  // namespace wattlab
