// Reader for image folders: one sub-folder per class, holding PNG, JPEG, BMP,
// GIF, TGA or PNM images (decoded with stb_image), as torchvision's
// ImageFolder. Torch-free.
//
//   root/cat/0001.png
//   root/cat/0002.jpg
//   root/dog/a.png
//
// Class names are the sub-folder names sorted bytewise; a class's label is its
// position in that order. Files whose names start with '.' are ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/image_dataset.h"

namespace wattlab {

struct ImageFolderOptions {
  int64_t height = 0;    // every image is resized (bilinear) to height x width;
  int64_t width = 0;     // 0 x 0: the size of the first image (in sorted order)
  int64_t channels = 0;  // 1 (grey) or 3 (RGB); 0: 1 if the first image is grey, else 3
  // Label ids for these class names (the training split's, so that the test
  // split agrees); empty: the sorted sub-folders of the root.
  std::vector<std::string> class_names;
  int64_t subset = 0;    // > 0: keep only an evenly spread sample of this many images
};

// Loads every image under `root`'s class folders, in class order then file
// name order (so the result does not depend on the file system). With
// `subset` > 0, images are taken at evenly spaced positions of that order so
// that every class keeps its share.
// Errors (one line naming the path at fault and the fix): NotFound for a
// missing root, InvalidArgument for a root with no class folders, a class
// folder with no images, a file directly in the root, a class folder absent
// from options.class_names, or bad options; Corrupt for a file stb_image
// cannot decode (not an image, truncated, unsupported format).
Result<ImageDataset> load_image_folder(const std::filesystem::path& root, const ImageFolderOptions& options = {});

}  // namespace wattlab
