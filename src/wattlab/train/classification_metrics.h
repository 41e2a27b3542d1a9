// Correctness of a classifier from its confusion matrix: accuracy and the
// macro-averaged precision, recall and F1 the trainer logs every epoch.
// Torch-free, so the arithmetic is tested on its own.
#pragma once

#include <cstdint>
#include <vector>

namespace wattlab {

struct ClassificationScores {
  double accuracy = 0;         // correct / all, in [0, 1]; 0 for an empty matrix
  double precision_macro = 0;  // unweighted means over the classes that occur in
  double recall_macro = 0;     // the labels or the predictions (as scikit-learn);
  double f1_macro = 0;         // a class never predicted has precision 0 (zero_division=0)
};

// `confusion` is num_classes x num_classes, row = true class, column =
// predicted class. For class c: precision = tp / column sum, recall = tp /
// row sum, F1 = their harmonic mean (0 when both are 0).
ClassificationScores classification_scores(const std::vector<int64_t>& confusion, int64_t num_classes);

}  // namespace wattlab
