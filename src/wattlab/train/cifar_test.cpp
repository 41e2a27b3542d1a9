#include "wattlab/train/cifar.h"

#include <gtest/gtest.h>

#include <fstream>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

class CifarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_cifar_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `n` records: label bytes `labels(i)`, then pixels whose red plane is
  // i, green i+1, blue i+2.
  void write(const fs::path& path, int n, int label_bytes, int first_label, size_t drop_bytes = 0) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      for (int b = 0; b < label_bytes; ++b) bytes.push_back(static_cast<char>((first_label + i + b) % 256));
      for (int c = 0; c < 3; ++c) bytes.append(1024, static_cast<char>(i + c));
    }
    bytes.resize(bytes.size() - drop_bytes);
    std::ofstream(path, std::ios::binary) << bytes;
  }

  fs::path dir_;
};

TEST_F(CifarTest, ReadsAllFiveTrainingBatchesInOrder) {
  for (int b = 1; b <= 5; ++b) write(dir_ / ("data_batch_" + std::to_string(b) + ".bin"), 2, 1, 2 * (b - 1));
  std::ofstream(dir_ / "batches.meta.txt") << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  Result<ImageDataset> d = load_cifar10(dir_, "train");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->count, 10);
  EXPECT_EQ(d->channels, 3);
  EXPECT_EQ(d->height, 32);
  EXPECT_EQ(d->num_classes, 10);
  EXPECT_EQ(d->labels, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(d->image(1)[0], 1);        // red plane of record 1
  EXPECT_EQ(d->image(1)[1024], 2);     // green
  EXPECT_EQ(d->image(1)[3071], 3);     // blue
  ASSERT_EQ(d->class_names.size(), 10u);
  EXPECT_EQ(d->class_names[9], "truck");
}

TEST_F(CifarTest, SubsetStopsEarlyAndFindsTheArchiveFolder) {
  fs::create_directories(dir_ / "cifar-10-batches-bin");
  write(dir_ / "cifar-10-batches-bin" / "test_batch.bin", 4, 1, 0);
  Result<ImageDataset> d = load_cifar10(dir_, "test", 3);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->count, 3);
  EXPECT_EQ(d->pixels.size(), 3u * 3072);
  EXPECT_TRUE(d->class_names.empty());
}

TEST_F(CifarTest, Cifar100UsesTheFineLabel) {
  write(dir_ / "test.bin", 3, 2, 40);  // coarse 40+i, fine 41+i
  Result<ImageDataset> d = load_cifar100(dir_, "test");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->num_classes, 100);
  EXPECT_EQ(d->labels, (std::vector<int64_t>{41, 42, 43}));
  EXPECT_EQ(d->image(2)[0], 2);
}

TEST_F(CifarTest, TruncatedFileNamesTheFileAndTheFix) {
  write(dir_ / "test_batch.bin", 3, 1, 0, 100);
  Result<ImageDataset> d = load_cifar10(dir_, "test");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kCorrupt);
  const std::string m = d.status().message();
  EXPECT_NE(m.find((dir_ / "test_batch.bin").string() + ": 9119 bytes is not a whole number of 3073-byte CIFAR-10 records"),
            std::string::npos) << m;
  EXPECT_NE(m.find("cifar-10-binary.tar.gz"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST_F(CifarTest, Cifar100FileReadAsCifar10IsCaught) {
  // 3074-byte records are not a multiple of 3073 unless by accident; 2 records are not.
  write(dir_ / "test_batch.bin", 2, 2, 0);
  Result<ImageDataset> d = load_cifar10(dir_, "test");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kCorrupt);
}

TEST_F(CifarTest, LabelOutOfRangeIsCorrupt) {
  write(dir_ / "test_batch.bin", 2, 1, 9);  // labels 9, 10
  Result<ImageDataset> d = load_cifar10(dir_, "test");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("record 1 has label 10, but CIFAR-10 has 10 classes"), std::string::npos)
      << d.status().message();
}

TEST_F(CifarTest, MissingBatchIsNotFound) {
  write(dir_ / "data_batch_1.bin", 1, 1, 0);
  Result<ImageDataset> d = load_cifar10(dir_, "train");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kNotFound);
  EXPECT_NE(d.status().message().find("data_batch_2.bin: no such file"), std::string::npos);
}

TEST_F(CifarTest, UnknownSplitIsInvalid) {
  EXPECT_EQ(load_cifar100(dir_, "t10k").status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace wattlab
