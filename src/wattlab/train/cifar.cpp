#include "wattlab/train/cifar.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSide = 32;
constexpr int64_t kPixelBytes = 3 * kSide * kSide;

struct CifarFormat {
  const char* name;          // "CIFAR-10"
  const char* archive_dir;   // folder the archive unpacks to
  int64_t label_bytes;       // label bytes before the pixels of a record
  int64_t label_offset;      // which of them is the label used
  int64_t num_classes;
  const char* names_file;    // one class name a line
  const char* fix;           // how to get the files
};

const CifarFormat kCifar10{"CIFAR-10", "cifar-10-batches-bin", 1, 0, 10, "batches.meta.txt",
                           " — download and unpack cifar-10-binary.tar.gz from "
                           "https://www.cs.toronto.edu/~kriz/cifar.html and pass its folder with --data"};
const CifarFormat kCifar100{"CIFAR-100", "cifar-100-binary", 2, 1, 100, "fine_label_names.txt",
                            " — download and unpack cifar-100-binary.tar.gz from "
                            "https://www.cs.toronto.edu/~kriz/cifar.html and pass its folder with --data"};

// Appends the records of `path` to `data`, up to `limit` images in total (0: all).
Status read_batch(const fs::path& path, const CifarFormat& format, int64_t limit, ImageDataset& data) {
  const std::string name = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::not_found(name + ": no such file" + format.fix);
  const auto size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return Status::io_error(name + ": cannot read its size: " + ec.message());
  const int64_t record = format.label_bytes + kPixelBytes;
  if (size == 0 || size % record != 0) {
    return Status::corrupt(name + ": " + std::to_string(size) + " bytes is not a whole number of " +
                           std::to_string(record) + "-byte " + format.name +
                           " records (truncated, or not the binary version?)" + format.fix);
  }
  int64_t records = size / record;
  data.images_in_files += records;
  if (limit > 0) records = std::min(records, limit - data.count);
  if (records <= 0) return Status();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return errno == EACCES ? Status::permission_denied(name + ": permission denied — make it readable (chmod a+r)")
                           : Status::io_error(name + ": cannot open: " + std::strerror(errno));
  }
  std::vector<uint8_t> buffer(static_cast<size_t>(records * record));
  if (!in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()))) {
    return Status::io_error(name + ": read failed after " + std::to_string(in.gcount()) + " bytes");
  }
  const size_t old_pixels = data.pixels.size();
  data.pixels.resize(old_pixels + static_cast<size_t>(records * kPixelBytes));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = buffer.data() + r * record;
    const int64_t label = rec[format.label_offset];
    if (label >= format.num_classes) {
      return Status::corrupt(name + ": record " + std::to_string(r) + " has label " + std::to_string(label) +
                             ", but " + format.name + " has " + std::to_string(format.num_classes) +
                             " classes — is this the right data set (--dataset cifar10 or cifar100)?");
    }
    data.labels.push_back(label);
    std::memcpy(data.pixels.data() + old_pixels + r * kPixelBytes, rec + format.label_bytes, kPixelBytes);
  }
  data.count += records;
  return Status();
}

std::vector<std::string> read_names(const fs::path& path, int64_t expected) {
  std::ifstream in(path);
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (static_cast<int64_t>(names.size()) != expected) names.clear();
  return names;
}

Result<ImageDataset> load(const fs::path& dir, const std::string& split, int64_t subset, const CifarFormat& format,
                          bool cifar100) {
  if (split != "train" && split != "test") {
    return Status::invalid_argument("unknown " + std::string(format.name) + " split \"" + split +
                                    "\": expected \"train\" or \"test\"");
  }
  if (subset < 0) {
    return Status::invalid_argument("subset must be 0 (all) or positive (got " + std::to_string(subset) + ")");
  }
  const fs::path folder = cifar_folder(dir, cifar100);
  std::vector<fs::path> files;
  if (cifar100) {
    files.push_back(folder / (split + ".bin"));
  } else if (split == "test") {
    files.push_back(folder / "test_batch.bin");
  } else {
    for (int i = 1; i <= 5; ++i) files.push_back(folder / ("data_batch_" + std::to_string(i) + ".bin"));
  }
  ImageDataset data;
  data.channels = 3;
  data.height = kSide;
  data.width = kSide;
  data.num_classes = format.num_classes;
  for (const fs::path& file : files) {
    if (subset > 0 && data.count >= subset) {  // only counted: the subset is complete
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      if (!ec) data.images_in_files += static_cast<int64_t>(size) / (format.label_bytes + kPixelBytes);
      continue;
    }
    WATTLAB_RETURN_IF_ERROR(read_batch(file, format, subset, data));
  }
  data.class_names = read_names(folder / format.names_file, format.num_classes);
  return data;
}

}  // namespace

fs::path cifar_folder(const fs::path& dir, bool cifar100) {
  std::error_code ec;
  const fs::path nested = dir / (cifar100 ? kCifar100.archive_dir : kCifar10.archive_dir);
  const fs::path probe = cifar100 ? fs::path("train.bin") : fs::path("data_batch_1.bin");
  if (!fs::exists(dir / probe, ec) && fs::is_directory(nested, ec)) return nested;
  return dir;
}

Result<ImageDataset> load_cifar10(const fs::path& dir, const std::string& split, int64_t subset) {
  return load(dir, split, subset, kCifar10, false);
}

Result<ImageDataset> load_cifar100(const fs::path& dir, const std::string& split, int64_t subset) {
  return load(dir, split, subset, kCifar100, true);
}

}  // namespace wattlab
