// Macro scores against confusion matrices worked out by hand, so that a
// swap of precision and recall (or of rows and columns) cannot pass.
#include "wattlab/train/classification_metrics.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(ClassificationScoresTest, MacroScoresOfAHandWorkedMatrix) {
  // Rows are true classes, columns predictions. Class 2 is never predicted
  // (precision 0), class 3 neither occurs nor is predicted (left out).
  const std::vector<int64_t> confusion = {5, 1, 0, 0,   //
                                          2, 3, 0, 0,   //
                                          1, 3, 0, 0,   //
                                          0, 0, 0, 0};
  // Class 0: P = 5/8, R = 5/6, F1 = 5/7. Class 1: P = 3/7, R = 3/5, F1 = 1/2.
  // Class 2: P = R = F1 = 0. Means over the 3 classes:
  const ClassificationScores s = classification_scores(confusion, 4);
  EXPECT_DOUBLE_EQ(s.accuracy, 8.0 / 15.0);
  EXPECT_DOUBLE_EQ(s.precision_macro, (5.0 / 8 + 3.0 / 7) / 3);  // 59/168 = 0.3512
  EXPECT_DOUBLE_EQ(s.recall_macro, (5.0 / 6 + 3.0 / 5) / 3);     // 43/90 = 0.4778
  EXPECT_DOUBLE_EQ(s.f1_macro, (5.0 / 7 + 1.0 / 2) / 3);         // 17/42 = 0.4048
}

TEST(ClassificationScoresTest, AClassOnlyPredictedCountsWithZeroScores) {
  // Class 1 never occurs but is predicted once: precision 0/1, recall 0 (no
  // true member), as scikit-learn's zero_division=0. Class 0: P = 1, R = 2/3.
  const ClassificationScores s = classification_scores({2, 1, 0, 0}, 2);
  EXPECT_DOUBLE_EQ(s.accuracy, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.precision_macro, 0.5);
  EXPECT_DOUBLE_EQ(s.recall_macro, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.f1_macro, 0.4);  // (0.8 + 0) / 2
}

TEST(ClassificationScoresTest, PerfectAndEmptyMatrices) {
  const ClassificationScores perfect = classification_scores({4, 0, 0, 6}, 2);
  EXPECT_DOUBLE_EQ(perfect.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(perfect.precision_macro, 1.0);
  EXPECT_DOUBLE_EQ(perfect.recall_macro, 1.0);
  EXPECT_DOUBLE_EQ(perfect.f1_macro, 1.0);
  const ClassificationScores empty = classification_scores({0, 0, 0, 0}, 2);
  EXPECT_EQ(empty.accuracy, 0.0);
  EXPECT_EQ(empty.f1_macro, 0.0);
}

}  // namespace
}  // namespace wattlab
