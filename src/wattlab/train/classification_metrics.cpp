#include "wattlab/train/classification_metrics.h"

namespace wattlab {

ClassificationScores classification_scores(const std::vector<int64_t>& confusion, int64_t num_classes) {
  ClassificationScores out;
  double precision_sum = 0, recall_sum = 0, f1_sum = 0;
  int64_t classes = 0, correct = 0, total = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    int64_t actual = 0, predicted = 0;
    for (int64_t k = 0; k < num_classes; ++k) {
      actual += confusion[c * num_classes + k];
      predicted += confusion[k * num_classes + c];
    }
    const int64_t tp = confusion[c * num_classes + c];
    correct += tp;
    total += actual;
    if (actual == 0 && predicted == 0) continue;
    const double precision = predicted > 0 ? static_cast<double>(tp) / predicted : 0.0;
    const double recall = actual > 0 ? static_cast<double>(tp) / actual : 0.0;
    precision_sum += precision;
    recall_sum += recall;
    f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    ++classes;
  }
  out.accuracy = total > 0 ? static_cast<double>(correct) / total : 0.0;
  if (classes > 0) {
    out.precision_macro = precision_sum / classes;
    out.recall_macro = recall_sum / classes;
    out.f1_macro = f1_sum / classes;
  }
  return out;
}

}  // namespace wattlab
