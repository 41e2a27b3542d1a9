// Carving a validation split out of the training images. Torch-free.
#pragma once

#include <cstdint>

#include "wattlab/core/status.h"
#include "wattlab/train/image_dataset.h"

namespace wattlab {

struct TrainValidationSplit {
  ImageDataset train;
  ImageDataset validation;
};

// Moves round(fraction * n) of the n images of `all` to the validation part
// and keeps the rest for training. The split is *stratified*: class c (n_c
// images) gives floor(fraction * n_c) images, and the remaining ones go to the
// classes with the largest remainders (ties: the lower label), so both parts
// keep the class proportions. Which images go is drawn
// with std::mt19937_64(seed) and a Fisher-Yates shuffle per class (the same
// seed and data give the same split on every platform); both parts keep the
// original order of their images.
// Errors: InvalidArgument naming --val-split when fraction is not in (0, 1),
// or when the split would leave either part without images.
Result<TrainValidationSplit> split_train_validation(const ImageDataset& all, double fraction, uint64_t seed);

}  // namespace wattlab
