#include "wattlab/train/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
// Refuse headers announcing more than this (16 GiB): a corrupt header must not
// make us allocate without bound.
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 34;

const char kFixHint[] =
    " — reinstall with `apt-get install --reinstall dataset-fashion-mnist` or pass --data-dir";

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// An open gzFile (zlib reads plain files through the same calls), closed on scope exit.
class GzReader {
 public:
  GzReader() = default;
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }

  Status open(const fs::path& path) {
    path_ = path.string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      return Status::not_found(path_ + ": no such file — install it with "
                               "`apt-get install dataset-fashion-mnist` or pass --data-dir");
    }
    if (fs::is_directory(path, ec)) {
      return Status::invalid_argument(path_ + ": is a directory, expected an IDX file" + kFixHint);
    }
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      int err = errno;
      if (err == EACCES || err == EPERM) {
        return Status::permission_denied(path_ + ": permission denied — make it readable (chmod a+r) or pass --data-dir");
      }
      return Status::io_error(path_ + ": cannot open: " + (err != 0 ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file_, 1 << 17);
    return Status();
  }

  // Appends up to `n` bytes to `out`; stops early only at the end of the data
  // (including a gzip stream cut short). Corrupt for a damaged gzip stream.
  Status read_up_to(uint64_t n, std::vector<uint8_t>& out) {
    constexpr uint64_t kChunk = uint64_t{1} << 24;  // grow 16 MiB at a time
    while (n > 0) {
      const uint64_t want = std::min(n, kChunk);
      const size_t old_size = out.size();
      out.resize(old_size + want);
      int got = gzread(file_, out.data() + old_size, static_cast<unsigned>(want));
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        out.resize(old_size);
        if (errnum == Z_BUF_ERROR) return Status();  // unexpected end of a gzip stream
        if (errnum == Z_ERRNO) return Status::io_error(path_ + ": read failed: " + std::strerror(errno));
        return Status::corrupt(path_ + ": damaged gzip data (" + msg + ")" + kFixHint);
      }
      out.resize(old_size + static_cast<uint64_t>(got));
      if (static_cast<uint64_t>(got) < want) return Status();  // end of data
      n -= want;
    }
    return Status();
  }

  // Reads the magic and the dimensions of an IDX header; Corrupt when the
  // magic is not `expected_magic` or the header is cut short.
  Status read_header(uint32_t expected_magic, const char* what, std::vector<uint32_t>& dims) {
    std::vector<uint8_t> buf;
    WATTLAB_RETURN_IF_ERROR(read_up_to(4, buf));
    if (buf.size() < 4) {
      return Status::corrupt(path_ + ": truncated: " + std::to_string(buf.size()) +
                             " bytes, too short for an IDX header" + kFixHint);
    }
    const uint32_t magic = be32(buf.data());
    if (magic != expected_magic) {
      std::string found = hex32(magic);
      if (magic == kImagesMagic) found += " (IDX images)";
      if (magic == kLabelsMagic) found += " (IDX labels)";
      return Status::corrupt(path_ + ": wrong magic " + found + ", expected " + hex32(expected_magic) +
                             " (IDX " + what + ") — is this the right file?" + kFixHint);
    }
    const size_t ndims = expected_magic & 0xff;
    buf.clear();
    WATTLAB_RETURN_IF_ERROR(read_up_to(4 * ndims, buf));
    if (buf.size() < 4 * ndims) {
      return Status::corrupt(path_ + ": truncated: the IDX header ends after " + std::to_string(4 + buf.size()) +
                             " bytes" + kFixHint);
    }
    dims.clear();
    for (size_t i = 0; i < ndims; ++i) dims.push_back(be32(buf.data() + 4 * i));
    return Status();
  }

  // Corrupt if any byte remains after what the header announced.
  Status expect_end(const std::string& announced) {
    std::vector<uint8_t> extra;
    WATTLAB_RETURN_IF_ERROR(read_up_to(1 << 16, extra));
    if (!extra.empty()) {
      return Status::corrupt(path_ + ": trailing data after " + announced +
                             " announced by the header — is this the right file?" + kFixHint);
    }
    return Status();
  }

  const std::string& path() const { return path_; }

 private:
  static uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  }

  gzFile file_ = nullptr;
  std::string path_;  // for messages
};

// `dir`/`stem`.gz if it exists, else `dir`/`stem` (which may not exist either:
// the reader then reports the .gz name the user most likely expects).
fs::path find_file(const fs::path& dir, const std::string& stem) {
  std::error_code ec;
  fs::path gz = dir / (stem + ".gz");
  fs::path plain = dir / stem;
  if (!fs::exists(gz, ec) && fs::exists(plain, ec)) return plain;
  return gz;
}

}  // namespace

Result<IdxImages> read_idx_images(const fs::path& path, int64_t max_images) {
  GzReader reader;
  WATTLAB_RETURN_IF_ERROR(reader.open(path));
  std::vector<uint32_t> dims;
  WATTLAB_RETURN_IF_ERROR(reader.read_header(kImagesMagic, "images", dims));
  IdxImages images;
  const int64_t header_count = dims[0];
  images.rows = dims[1];
  images.cols = dims[2];
  const std::string shape = std::to_string(header_count) + " images of " + std::to_string(images.rows) + "x" +
                            std::to_string(images.cols);
  if (images.rows == 0 || images.cols == 0 ||
      uint64_t{dims[0]} * dims[1] * dims[2] > kMaxPayloadBytes) {
    return Status::corrupt(reader.path() + ": implausible header: " + shape + kFixHint);
  }
  images.count_in_file = header_count;
  images.count = max_images > 0 ? std::min(max_images, header_count) : header_count;
  const uint64_t expected = static_cast<uint64_t>(images.count * images.rows * images.cols);
  WATTLAB_RETURN_IF_ERROR(reader.read_up_to(expected, images.pixels));
  if (images.pixels.size() < expected) {
    return Status::corrupt(reader.path() + ": truncated: header says " + shape + " but only " +
                           std::to_string(images.pixels.size()) + " bytes of pixels (expected " +
                           std::to_string(expected) + ")" + kFixHint);
  }
  if (images.count == header_count) WATTLAB_RETURN_IF_ERROR(reader.expect_end(shape));
  return images;
}

Result<std::vector<uint8_t>> read_idx_labels(const fs::path& path) {
  GzReader reader;
  WATTLAB_RETURN_IF_ERROR(reader.open(path));
  std::vector<uint32_t> dims;
  WATTLAB_RETURN_IF_ERROR(reader.read_header(kLabelsMagic, "labels", dims));
  const uint64_t expected = dims[0];
  std::vector<uint8_t> labels;
  WATTLAB_RETURN_IF_ERROR(reader.read_up_to(expected, labels));
  if (labels.size() < expected) {
    return Status::corrupt(reader.path() + ": truncated: header says " + std::to_string(expected) +
                           " labels but only " + std::to_string(labels.size()) + " bytes of labels" + kFixHint);
  }
  WATTLAB_RETURN_IF_ERROR(reader.expect_end(std::to_string(expected) + " labels"));
  return labels;
}

Result<IdxDataset> load_idx_dataset(const fs::path& dir, const std::string& split, int64_t subset) {
  if (split != "train" && split != "t10k") {
    return Status::invalid_argument("unknown IDX split \"" + split + "\": expected \"train\" or \"t10k\"");
  }
  if (subset < 0) {
    return Status::invalid_argument("subset must be 0 (all) or positive (got " + std::to_string(subset) + ")");
  }
  const fs::path images_path = find_file(dir, split + "-images-idx3-ubyte");
  const fs::path labels_path = find_file(dir, split + "-labels-idx1-ubyte");

  Result<std::vector<uint8_t>> labels = read_idx_labels(labels_path);
  if (!labels.ok()) return labels.status();
  Result<IdxImages> images = read_idx_images(images_path, subset);
  if (!images.ok()) return images.status();

  // The image header's count is checked against the labels even when only a
  // prefix of the images was read.
  if (static_cast<int64_t>(labels->size()) != images->count_in_file) {
    return Status::corrupt(labels_path.string() + ": has " + std::to_string(labels->size()) + " labels but " +
                           images_path.string() + " has " + std::to_string(images->count_in_file) + " images" +
                           kFixHint);
  }

  IdxDataset data;
  data.count = images->count;
  data.count_in_file = images->count_in_file;
  data.rows = images->rows;
  data.cols = images->cols;
  data.pixels = std::move(images->pixels);
  data.num_classes = labels->empty() ? 0 : 1 + *std::max_element(labels->begin(), labels->end());
  data.labels.assign(labels->begin(), labels->begin() + data.count);
  return data;
}

}  // namespace wattlab
