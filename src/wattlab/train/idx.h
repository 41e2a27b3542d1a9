// Reader for the IDX format of MNIST and Fashion-MNIST (unsigned-byte images,
// magic 0x00000803, and labels, magic 0x00000801), gzip-compressed or plain.
// Free of LibTorch, so tools that only inspect data need not link it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// Images of an IDX file: `count` images of `rows` x `cols` bytes, row-major,
// image after image.
struct IdxImages {
  int64_t count = 0;          // images read
  int64_t count_in_file = 0;  // images the header announces (>= count)
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols bytes
};

// Reads an IDX image file, gzip or plain (detected from the contents, not the
// name). With `max_images` > 0 only the first min(max_images, header count)
// images are read and nothing after them is checked; with 0 the whole file is
// read and must hold exactly what its header announces.
// Errors (the message names the file and the fix): NotFound for a missing file,
// PermissionDenied, IoError, Corrupt for a wrong magic, an implausible header,
// truncated data, trailing bytes or a damaged gzip stream.
Result<IdxImages> read_idx_images(const std::filesystem::path& path, int64_t max_images = 0);

// Reads a whole IDX label file (one byte per label). Errors as read_idx_images.
Result<std::vector<uint8_t>> read_idx_labels(const std::filesystem::path& path);

// One split of an IDX data set, in memory.
struct IdxDataset {
  std::vector<uint8_t> pixels;  // count * rows * cols bytes, image after image
  std::vector<uint8_t> labels;  // count labels, each < num_classes
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t num_classes = 0;  // 1 + the largest label in the whole label file
  int64_t count_in_file = 0;  // examples the files hold (>= count)
};

// Loads `dir`/`split`-images-idx3-ubyte[.gz] and `dir`/`split`-labels-idx1-ubyte[.gz]
// (the .gz name is tried first). `split` is "train" or "t10k". With `subset` > 0
// only the first min(subset, count) examples are kept (Fashion-MNIST's files
// are already shuffled, so a prefix is a fair sample). The label file is always
// read whole, and its count must equal the image file's.
// Errors: InvalidArgument for an unknown split or a negative subset; otherwise
// those of read_idx_images / read_idx_labels, and Corrupt when the counts differ.
Result<IdxDataset> load_idx_dataset(const std::filesystem::path& dir, const std::string& split,
                                    int64_t subset = 0);

}  // namespace wattlab
