#include "wattlab/train/split.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace wattlab {

Result<TrainValidationSplit> split_train_validation(const ImageDataset& all, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) {
    return Status::invalid_argument("--val-split must be in (0, 1), a fraction of the training images (got " +
                                    std::to_string(fraction) + ")");
  }
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(std::max<int64_t>(all.num_classes, 1)));
  for (int64_t i = 0; i < all.count; ++i) {
    const auto label = static_cast<size_t>(all.labels[i]);
    if (label >= by_class.size()) by_class.resize(label + 1);
    by_class[label].push_back(i);
  }
  // Validation images per class: floors, then the largest remainders.
  const auto total = std::llround(fraction * static_cast<double>(all.count));
  std::vector<int64_t> take(by_class.size());
  std::vector<std::pair<double, size_t>> remainders;  // (-remainder, class) sorts largest first
  int64_t validation_count = 0;
  for (size_t c = 0; c < by_class.size(); ++c) {
    const double exact = fraction * static_cast<double>(by_class[c].size());
    take[c] = static_cast<int64_t>(std::floor(exact));
    validation_count += take[c];
    remainders.emplace_back(-(exact - std::floor(exact)), c);
  }
  std::sort(remainders.begin(), remainders.end());
  for (size_t k = 0; validation_count < total && k < remainders.size(); ++k) {
    if (static_cast<size_t>(take[remainders[k].second]) < by_class[remainders[k].second].size()) {
      ++take[remainders[k].second];
      ++validation_count;
    }
  }

  std::mt19937_64 rng(seed);
  std::vector<bool> to_validation(static_cast<size_t>(all.count), false);
  for (size_t c = 0; c < by_class.size(); ++c) {
    auto& members = by_class[c];
    for (size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[rng() % i]);
    for (int64_t k = 0; k < take[c]; ++k) to_validation[members[k]] = true;
  }
  if (validation_count == 0 || validation_count == all.count) {
    return Status::invalid_argument("--val-split " + std::to_string(fraction) + " of " + std::to_string(all.count) +
                                    " training images leaves " +
                                    (validation_count == 0 ? "no validation images" : "no training images") +
                                    " — choose a fraction nearer 0.5 or train on more images");
  }
  std::vector<int64_t> train_index, validation_index;
  for (int64_t i = 0; i < all.count; ++i) (to_validation[i] ? validation_index : train_index).push_back(i);
  TrainValidationSplit split;
  split.train = select_images(all, train_index);
  split.validation = select_images(all, validation_index);
  return split;
}

}  // namespace wattlab
