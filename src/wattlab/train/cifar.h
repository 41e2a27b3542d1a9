// Readers for the binary versions of CIFAR-10 and CIFAR-100
// (https://www.cs.toronto.edu/~kriz/cifar.html). Torch-free.
//
// CIFAR-10: data_batch_1.bin ... data_batch_5.bin (training) and test_batch.bin,
// each a sequence of 3073-byte records: 1 label byte (0-9), then 1024 red,
// 1024 green and 1024 blue bytes of a 32x32 image, row-major.
// CIFAR-100: train.bin and test.bin, 3074-byte records: coarse label (0-19),
// fine label (0-99), then the same 3072 pixel bytes. The fine label is used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/train/image_dataset.h"

namespace wattlab {

// Loads split "train" or "test" of CIFAR-10 from `dir`, which holds the .bin
// files or the archive's cifar-10-batches-bin/ folder. Class names come from
// batches.meta.txt when present. With `subset` > 0 only the first
// min(subset, count) images are kept (the files are already shuffled).
// Errors (the message names the file and the fix): InvalidArgument for an
// unknown split or a negative subset, NotFound for a missing file, IoError,
// Corrupt for a size that is not a whole number of records (truncated or
// another format) or a label out of range.
Result<ImageDataset> load_cifar10(const std::filesystem::path& dir, const std::string& split, int64_t subset = 0);

// As load_cifar10 for CIFAR-100 (train.bin / test.bin, or the archive's
// cifar-100-binary/ folder; names from fine_label_names.txt when present).
Result<ImageDataset> load_cifar100(const std::filesystem::path& dir, const std::string& split, int64_t subset = 0);

// The folder holding the .bin files: `dir` itself, or its cifar-10-batches-bin/
// (cifar-100-binary/ for CIFAR-100) when `dir` does not hold them directly.
std::filesystem::path cifar_folder(const std::filesystem::path& dir, bool cifar100);

}  // namespace wattlab
