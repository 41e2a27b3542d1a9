#include "wattlab/train/early_stopping.h"

#include <gtest/gtest.h>

#include <vector>

namespace wattlab {
namespace {

// The epoch at which `curve` (values of epochs 1, 2, ...) stops, or 0.
int stop_epoch(const EarlyStoppingOptions& o, const std::vector<double>& curve) {
  EarlyStopping s(o);
  for (size_t i = 0; i < curve.size(); ++i)
    if (s.observe(static_cast<int>(i) + 1, curve[i])) return static_cast<int>(i) + 1;
  return 0;
}

TEST(EarlyStoppingTest, StopsWhenPatienceIsExhausted) {
  EarlyStoppingOptions o;
  o.patience = 3;
  EXPECT_EQ(stop_epoch(o, {1.0, 0.8, 0.7, 0.75, 0.71, 0.72, 0.5}), 6);
  EarlyStopping s(o);
  for (int e = 1; e <= 6; ++e) s.observe(e, std::vector<double>{1.0, 0.8, 0.7, 0.75, 0.71, 0.72}[e - 1]);
  EXPECT_EQ(s.best_epoch(), 3);
  EXPECT_DOUBLE_EQ(s.best_value(), 0.7);
  EXPECT_EQ(s.epochs_without_improvement(), 3);
}

TEST(EarlyStoppingTest, ImprovementResetsTheCount) {
  EarlyStoppingOptions o;
  o.patience = 2;
  EXPECT_EQ(stop_epoch(o, {1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.79}), 0);
}

TEST(EarlyStoppingTest, GainsNotAboveMinDeltaDoNotCount) {
  EarlyStoppingOptions o;
  o.patience = 2;
  o.min_delta = 0.05;
  // Gains of 0.03 and 0.01 on the best (1.0) are not enough.
  EXPECT_EQ(stop_epoch(o, {1.0, 0.97, 0.99}), 3);
  // Gains are measured against the best, not the last epoch: a slow creep counts once it adds up.
  EXPECT_EQ(stop_epoch(o, {1.0, 0.96, 0.92, 0.91}), 0);
  // A gain of exactly min_delta is not more than it (values exact in binary).
  o.min_delta = 0.25;
  EXPECT_EQ(stop_epoch(o, {1.0, 0.75, 0.875}), 3);
  o.min_delta = 0.0;
  EXPECT_EQ(stop_epoch(o, {1.0, 0.75, 0.875, 0.5}), 0);
}

TEST(EarlyStoppingTest, StartFromEpochIgnoresWarmup) {
  EarlyStoppingOptions o;
  o.patience = 1;
  o.start_from_epoch = 3;
  // Epochs 1-3 worsen but are not monitored; 4 sets the best, 5 does not improve.
  EXPECT_EQ(stop_epoch(o, {0.5, 0.9, 1.2, 1.0, 1.0}), 5);
  EarlyStopping s(o);
  EXPECT_FALSE(s.observe(3, 0.1));
  EXPECT_EQ(s.best_epoch(), 0);
}

TEST(EarlyStoppingTest, MaximizeForAccuracy) {
  EarlyStoppingOptions o;
  o.patience = 2;
  o.maximize = true;
  EXPECT_EQ(stop_epoch(o, {0.5, 0.6, 0.59, 0.6}), 4);
  EXPECT_EQ(stop_epoch(o, {0.5, 0.6, 0.59, 0.61}), 0);
}

TEST(EarlyStoppingTest, DisabledNeverStops) {
  EXPECT_EQ(stop_epoch(EarlyStoppingOptions{}, {1, 2, 3, 4, 5, 6}), 0);
  EarlyStoppingOptions o;
  o.patience = -1;
  EXPECT_EQ(validate(o).message(), "--early-stopping must be 0 (off) or a patience of 1 or more epochs (got -1)");
}

}  // namespace
}  // namespace wattlab
