#include "wattlab/train/image_folder.h"

#include <stb_image.h>

#include <algorithm>
#include <memory>
#include <system_error>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

// Sorted entries of `dir` that are folders (want_dirs) or not, hidden ones left out.
Status list(const fs::path& dir, bool want_dirs, std::vector<fs::path>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::io_error(dir.string() + ": cannot list: " + ec.message());
  for (const auto& entry : it) {
    if (hidden(entry.path())) continue;
    if (entry.is_directory(ec) == want_dirs) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return Status();
}

struct Decoded {
  std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, stbi_image_free};  // interleaved H x W x C
  int width = 0, height = 0, channels_in_file = 0;
};

Status decode(const fs::path& path, int want_channels, Decoded& out) {
  out.pixels.reset(stbi_load(path.c_str(), &out.width, &out.height, &out.channels_in_file, want_channels));
  if (out.pixels == nullptr) {
    const char* why = stbi_failure_reason();
    return Status::corrupt(path.string() + ": cannot decode as an image (" + (why ? why : "unknown error") +
                           ") — remove it from the class folder or replace it with a PNG or JPEG file");
  }
  return Status();
}

}  // namespace

Result<ImageDataset> load_image_folder(const fs::path& root, const ImageFolderOptions& options) {
  const std::string fix = " — an image folder holds one sub-folder of images per class (ROOT/CLASS/IMAGE.png)";
  if (options.channels != 0 && options.channels != 1 && options.channels != 3) {
    return Status::invalid_argument("--channels must be 1, 3 or 0 for the images' own (got " +
                                    std::to_string(options.channels) + ")");
  }
  if (options.height < 0 || options.width < 0 || (options.height == 0) != (options.width == 0)) {
    return Status::invalid_argument("image folder size must be both positive or both 0 (got " +
                                    std::to_string(options.height) + "x" + std::to_string(options.width) + ")");
  }
  std::error_code ec;
  if (!fs::exists(root, ec)) return Status::not_found(root.string() + ": no such folder — pass --data with an image folder");
  if (!fs::is_directory(root, ec)) return Status::invalid_argument(root.string() + ": not a folder" + fix);

  std::vector<fs::path> class_dirs, loose;
  WATTLAB_RETURN_IF_ERROR(list(root, true, class_dirs));
  WATTLAB_RETURN_IF_ERROR(list(root, false, loose));
  if (!loose.empty()) {
    return Status::invalid_argument(loose.front().string() + ": a file directly in the image folder; move it into "
                                    "the folder of its class" + fix);
  }
  if (class_dirs.empty()) return Status::invalid_argument(root.string() + ": holds no class folders" + fix);

  ImageDataset data;
  data.class_names = options.class_names;
  if (data.class_names.empty()) {
    for (const auto& d : class_dirs) data.class_names.push_back(d.filename().string());
  }
  data.num_classes = static_cast<int64_t>(data.class_names.size());

  // (file, label) in class order then name order.
  std::vector<std::pair<fs::path, int64_t>> files;
  for (const auto& dir : class_dirs) {
    const std::string name = dir.filename().string();
    auto found = std::find(data.class_names.begin(), data.class_names.end(), name);
    if (found == data.class_names.end()) {
      return Status::invalid_argument(dir.string() + ": class \"" + name +
                                      "\" is not among the training split's classes — remove it or add it to the "
                                      "training folder");
    }
    std::vector<fs::path> images;
    WATTLAB_RETURN_IF_ERROR(list(dir, false, images));
    if (images.empty()) {
      return Status::invalid_argument(dir.string() + ": class folder holds no images — add images or remove it");
    }
    for (auto& p : images) files.emplace_back(std::move(p), found - data.class_names.begin());
  }
  data.images_in_files = static_cast<int64_t>(files.size());
  if (options.subset > 0 && options.subset < static_cast<int64_t>(files.size())) {
    std::vector<std::pair<fs::path, int64_t>> sample;
    const auto n = static_cast<int64_t>(files.size());
    for (int64_t i = 0; i < options.subset; ++i) sample.push_back(files[static_cast<size_t>(i * n / options.subset)]);
    files = std::move(sample);
  }

  data.height = options.height;
  data.width = options.width;
  data.channels = options.channels;
  std::vector<uint8_t> planar;
  for (const auto& [path, label] : files) {
    Decoded image;
    WATTLAB_RETURN_IF_ERROR(decode(path, static_cast<int>(data.channels), image));
    if (data.channels == 0) {  // the first image decides, and is decoded again with that many channels
      data.channels = image.channels_in_file <= 2 ? 1 : 3;
      WATTLAB_RETURN_IF_ERROR(decode(path, static_cast<int>(data.channels), image));
    }
    if (data.height == 0) {
      data.height = image.height;
      data.width = image.width;
      data.pixels.reserve(files.size() * static_cast<size_t>(data.image_bytes()));
    }
    // Interleaved H x W x C to planar C x H x W, then to the common size.
    const int64_t h = image.height, w = image.width, c = data.channels;
    planar.resize(static_cast<size_t>(c * h * w));
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k) planar[(k * h + y) * w + x] = image.pixels.get()[(y * w + x) * c + k];
    const size_t old = data.pixels.size();
    data.pixels.resize(old + static_cast<size_t>(data.image_bytes()));
    resize_bilinear(planar.data(), c, h, w, data.pixels.data() + old, data.height, data.width);
    data.labels.push_back(label);
    ++data.count;
  }
  return data;
}

}  // namespace wattlab
