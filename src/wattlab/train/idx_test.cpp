#include "wattlab/train/idx.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, const Bytes& pixels) {
  Bytes out;
  put_be32(out, 0x00000803);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

Bytes idx_labels(const Bytes& labels) {
  Bytes out;
  put_be32(out, 0x00000801);
  put_be32(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// Pixels that gzip cannot shrink much, so that cutting a .gz file in half cuts the pixels.
Bytes noisy_pixels(size_t n) {
  Bytes out(n);
  uint32_t x = 12345;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

class IdxTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wattlab_idx_test_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_plain(const std::string& name, const Bytes& bytes) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }

  fs::path write_gz(const std::string& name, const Bytes& bytes) {
    fs::path path = dir_ / name;
    gzFile f = gzopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    gzclose(f);
    return path;
  }

  fs::path dir_;
};

// Three 2x4 images with distinct pixels, labels 0, 2, 1.
const Bytes kPixels = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 255, 254, 253, 252, 251, 250, 249, 248};
const Bytes kLabels = {0, 2, 1};

TEST_F(IdxTest, GzipAndPlainFilesParseExactly) {
  for (bool gz : {true, false}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    if (gz) {
      write_gz("train-images-idx3-ubyte.gz", idx_images(3, 2, 4, kPixels));
      write_gz("train-labels-idx1-ubyte.gz", idx_labels(kLabels));
    } else {
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      write_plain("train-images-idx3-ubyte", idx_images(3, 2, 4, kPixels));
      write_plain("train-labels-idx1-ubyte", idx_labels(kLabels));
    }
    Result<IdxDataset> data = load_idx_dataset(dir_, "train");
    ASSERT_TRUE(data.ok()) << data.status().to_string();
    EXPECT_EQ(data->count, 3);
    EXPECT_EQ(data->rows, 2);
    EXPECT_EQ(data->cols, 4);
    EXPECT_EQ(data->num_classes, 3);
    EXPECT_EQ(data->pixels, kPixels);
    EXPECT_EQ(data->labels, kLabels);
  }
}

TEST_F(IdxTest, SubsetKeepsThePrefixAndClassCountOfTheWholeFile) {
  write_gz("t10k-images-idx3-ubyte.gz", idx_images(3, 2, 4, kPixels));
  write_gz("t10k-labels-idx1-ubyte.gz", idx_labels(kLabels));
  Result<IdxDataset> data = load_idx_dataset(dir_, "t10k", 2);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->count, 2);
  EXPECT_EQ(data->pixels, Bytes(kPixels.begin(), kPixels.begin() + 16));
  EXPECT_EQ(data->labels, (Bytes{0, 2}));
  EXPECT_EQ(data->num_classes, 3);

  Result<IdxDataset> all = load_idx_dataset(dir_, "t10k", 100);  // more than there are
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->count, 3);
}

TEST_F(IdxTest, TruncatedGzipContentIsCorrupt) {
  // A complete gzip stream whose content stops short of the header's promise.
  const Bytes pixels = noisy_pixels(100 * 28 * 28);
  fs::path path = write_gz("images.gz", idx_images(100, 28, 28, Bytes(pixels.begin(), pixels.begin() + 1234)));
  Result<IdxImages> images = read_idx_images(path);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(images.status().message().find(path.string() + ": truncated: header says 100 images of 28x28 but only 1234 bytes of pixels"),
            std::string::npos)
      << images.status().message();
  EXPECT_NE(images.status().message().find("--data-dir"), std::string::npos);
}

TEST_F(IdxTest, CutGzipStreamIsCorrupt) {
  // A .gz file cut in the middle of its compressed stream (an interrupted download).
  fs::path whole = write_gz("whole.gz", idx_images(100, 28, 28, noisy_pixels(100 * 28 * 28)));
  std::ifstream in(whole, std::ios::binary);
  Bytes compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(compressed.size(), 40000u);  // the noise did not compress away
  fs::path path = write_plain("cut.gz", Bytes(compressed.begin(), compressed.begin() + compressed.size() / 2));
  Result<IdxImages> images = read_idx_images(path);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(images.status().message().find(path.string() + ": truncated"), std::string::npos)
      << images.status().message();
}

TEST_F(IdxTest, TruncatedRawFileIsCorrupt) {
  fs::path path = write_plain("images", idx_images(3, 2, 4, Bytes(kPixels.begin(), kPixels.begin() + 20)));
  Result<IdxImages> images = read_idx_images(path);
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(images.status().message().find(path.string() + ": truncated: header says 3 images of 2x4 but only 20 bytes"),
            std::string::npos)
      << images.status().message();

  fs::path labels_path = write_plain("labels", Bytes{0, 0, 8, 1, 0, 0, 0, 5, 1, 2});
  Result<Bytes> labels = read_idx_labels(labels_path);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(labels.status().message().find(labels_path.string() + ": truncated: header says 5 labels but only 2"),
            std::string::npos)
      << labels.status().message();

  fs::path header_only = write_plain("short", Bytes{0, 0, 8, 3, 0, 0});
  Result<IdxImages> short_header = read_idx_images(header_only);
  ASSERT_FALSE(short_header.ok());
  EXPECT_EQ(short_header.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(short_header.status().message().find(header_only.string() + ": truncated"), std::string::npos);
}

TEST_F(IdxTest, WrongMagicIsCorruptAndSaysWhatItFound) {
  fs::path labels_path = write_gz("labels.gz", idx_labels(kLabels));
  Result<IdxImages> images = read_idx_images(labels_path);  // a label file where images were expected
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(images.status().message().find(labels_path.string() +
                                           ": wrong magic 0x00000801 (IDX labels), expected 0x00000803 (IDX images)"),
            std::string::npos)
      << images.status().message();

  fs::path text = write_plain("notes.txt", Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
  Result<Bytes> labels = read_idx_labels(text);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(labels.status().message().find("wrong magic 0x68656c6c"), std::string::npos) << labels.status().message();
}

TEST_F(IdxTest, TrailingBytesAndZeroSizedImagesAreCorrupt) {
  Bytes extra = idx_images(3, 2, 4, kPixels);
  extra.push_back(7);
  Result<IdxImages> images = read_idx_images(write_plain("extra", extra));
  ASSERT_FALSE(images.ok());
  EXPECT_EQ(images.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(images.status().message().find("trailing data"), std::string::npos) << images.status().message();

  Result<IdxImages> zero = read_idx_images(write_plain("zero", idx_images(3, 0, 4, {})));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(zero.status().message().find("implausible header: 3 images of 0x4"), std::string::npos)
      << zero.status().message();
}

TEST_F(IdxTest, LabelCountMismatchNamesBothFiles) {
  fs::path images_path = write_gz("train-images-idx3-ubyte.gz", idx_images(3, 2, 4, kPixels));
  fs::path labels_path = write_gz("train-labels-idx1-ubyte.gz", idx_labels(Bytes{0, 1}));
  for (int64_t subset : {0, 1}) {  // also when only a prefix of the images is read
    Result<IdxDataset> data = load_idx_dataset(dir_, "train", subset);
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.status().code(), Status::Code::kCorrupt);
    EXPECT_EQ(data.status().message().find(labels_path.string() + ": has 2 labels but " + images_path.string() +
                                           " has 3 images"),
              0u)
        << data.status().message();
  }
}

TEST_F(IdxTest, MissingFileIsNotFoundAndNamesThePath) {
  Result<IdxDataset> data = load_idx_dataset(dir_, "train");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kNotFound);
  EXPECT_NE(data.status().message().find((dir_ / "train-labels-idx1-ubyte.gz").string() + ": no such file"),
            std::string::npos)
      << data.status().message();
  EXPECT_NE(data.status().message().find("apt-get install dataset-fashion-mnist"), std::string::npos);

  write_gz("train-labels-idx1-ubyte.gz", idx_labels(kLabels));
  data = load_idx_dataset(dir_, "train");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kNotFound);
  EXPECT_NE(data.status().message().find("train-images-idx3-ubyte.gz: no such file"), std::string::npos)
      << data.status().message();
}

TEST_F(IdxTest, BadArgumentsAreInvalid) {
  EXPECT_EQ(load_idx_dataset(dir_, "validation").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(load_idx_dataset(dir_, "train", -1).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(read_idx_images(dir_).status().code(), Status::Code::kInvalidArgument);  // a directory
}

TEST(IdxRealData, FashionMnistTestSplitLoads) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Result<IdxDataset> data = load_idx_dataset(dir, "t10k");
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->count, 10000);
  EXPECT_EQ(data->rows, 28);
  EXPECT_EQ(data->cols, 28);
  EXPECT_EQ(data->num_classes, 10);
  EXPECT_EQ(data->pixels.size(), 10000u * 28 * 28);
  EXPECT_EQ(data->labels[0], 9);  // the first test image is an ankle boot
}

}  // namespace
}  // namespace wattlab
