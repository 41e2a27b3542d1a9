// load_train_data and detect_dataset (trainer.h), which need no LibTorch.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <algorithm>
#include <fstream>

#include "wattlab/train/trainer.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

class TrainDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_train_data_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `n` CIFAR-10 records with labels 0, 1, ..., 9, 0, ...
  void cifar10(const fs::path& path, int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      bytes.push_back(static_cast<char>(i % 10));
      bytes.append(3072, static_cast<char>(i));
    }
    std::ofstream(path, std::ios::binary) << bytes;
  }

  void png(const fs::path& path, int side, uint8_t value) {
    fs::create_directories(path.parent_path());
    std::vector<uint8_t> pixels(static_cast<size_t>(side * side * 3), value);
    ASSERT_NE(stbi_write_png(path.c_str(), side, side, 3, pixels.data(), side * 3), 0);
  }

  TrainConfig config() const {
    TrainConfig c;
    c.data_dir = dir_.string();
    return c;
  }

  fs::path dir_;
};

TEST_F(TrainDataTest, DetectsEveryFormat) {
  EXPECT_EQ(detect_dataset(dir_.string()).status().code(), Status::Code::kNotFound);
  EXPECT_NE(detect_dataset(dir_.string()).status().message().find("pass another --data, or --dataset"),
            std::string::npos);
  fs::create_directories(dir_ / "train");
  EXPECT_EQ(*detect_dataset(dir_.string()), "folder");
  std::ofstream(dir_ / "train.bin") << "";
  EXPECT_EQ(*detect_dataset(dir_.string()), "cifar100");
  fs::create_directories(dir_ / "cifar-10-batches-bin");
  EXPECT_EQ(*detect_dataset(dir_.string()), "cifar10");
  std::ofstream(dir_ / "train-images-idx3-ubyte.gz") << "";
  EXPECT_EQ(*detect_dataset(dir_.string()), "idx");
  EXPECT_NE(detect_dataset("/nonexistent/x").status().message().find("no such folder"), std::string::npos);
}

TEST_F(TrainDataTest, Cifar10WithResizeAndValidationSplit) {
  for (int b = 1; b <= 5; ++b) cifar10(dir_ / ("data_batch_" + std::to_string(b) + ".bin"), 20);
  cifar10(dir_ / "test_batch.bin", 10);
  TrainConfig c = config();
  c.val_split = 0.2;
  c.resize = 16;
  Result<TrainData> d = load_train_data(c);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->dataset, "cifar10");
  EXPECT_EQ(d->train.count, 80);
  EXPECT_EQ(d->validation.count, 20);
  EXPECT_EQ(d->test.count, 10);
  for (const ImageDataset* s : {&d->train, &d->validation, &d->test}) {
    EXPECT_EQ(s->channels, 3);
    EXPECT_EQ(s->height, 16);
    EXPECT_EQ(s->pixels.size(), static_cast<size_t>(s->count * 3 * 16 * 16));
  }
  // Stratified: two validation images of each class.
  for (int64_t k = 0; k < 10; ++k) EXPECT_EQ(std::count(d->validation.labels.begin(), d->validation.labels.end(), k), 2);
}

TEST_F(TrainDataTest, SubsetIsTakenBeforeTheSplit) {
  for (int b = 1; b <= 5; ++b) cifar10(dir_ / ("data_batch_" + std::to_string(b) + ".bin"), 20);
  cifar10(dir_ / "test_batch.bin", 10);
  TrainConfig c = config();
  c.dataset = "cifar10";
  c.subset = 30;
  c.test_subset = 4;
  c.val_split = 0.1;
  Result<TrainData> d = load_train_data(c);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->train.count + d->validation.count, 30);
  EXPECT_EQ(d->validation.count, 3);  // round(0.1 * 30), though 0.1 of a class of 3 rounds to 0
  EXPECT_EQ(d->test.count, 4);
}

// --subset without --test-subset evaluates on the same share of the test
// split: 30 of 100 training images -> 3 of 10 test images (the first three,
// as --test-subset 3 would take them); image folders sample evenly.
TEST_F(TrainDataTest, SubsetAloneTakesTheSameShareOfTheTestSplit) {
  for (int b = 1; b <= 5; ++b) cifar10(dir_ / ("data_batch_" + std::to_string(b) + ".bin"), 20);
  cifar10(dir_ / "test_batch.bin", 10);
  TrainConfig c = config();
  c.subset = 30;
  Result<TrainData> d = load_train_data(c);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->train.count, 30);
  EXPECT_EQ(d->train.images_in_files, 100);
  ASSERT_EQ(d->test.count, 3);
  EXPECT_EQ(d->test.labels, (std::vector<int64_t>{0, 1, 2}));
  c.test_subset = 3;
  Result<TrainData> explicit_subset = load_train_data(c);
  ASSERT_TRUE(explicit_subset.ok());
  EXPECT_EQ(explicit_subset->test.pixels, d->test.pixels);
  c.subset = 1;  // 1 % of 10 rounds to 0: at least one image
  c.test_subset = 0;
  EXPECT_EQ(load_train_data(c)->test.count, 1);
  c.subset = 0;  // no subset: every test image
  EXPECT_EQ(load_train_data(c)->test.count, 10);

  fs::remove_all(dir_);
  for (int i = 0; i < 4; ++i) {
    png(dir_ / "train" / "cat" / (std::to_string(i) + ".png"), 4, 10);
    png(dir_ / "train" / "dog" / (std::to_string(i) + ".png"), 4, 200);
    png(dir_ / "test" / "cat" / (std::to_string(i) + ".png"), 4, 10);
    png(dir_ / "test" / "dog" / (std::to_string(i) + ".png"), 4, 200);
  }
  c = config();
  c.subset = 4;  // half of the 8 training images: 4 of the 8 test images, both classes
  Result<TrainData> folder = load_train_data(c);
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_EQ(folder->test.labels, (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST_F(TrainDataTest, ImageFolderTestSplitFollowsTheTrainingSplit) {
  png(dir_ / "train" / "cat" / "1.png", 12, 10);
  png(dir_ / "train" / "cat" / "2.png", 12, 20);
  png(dir_ / "train" / "dog" / "1.png", 12, 30);
  png(dir_ / "val" / "dog" / "1.png", 24, 40);  // another size, and no cat images
  TrainConfig c = config();
  c.dataset = "folder";
  c.channels = 1;
  Result<TrainData> d = load_train_data(c);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->train.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d->test.count, 1);
  EXPECT_EQ(d->test.labels[0], 1);
  EXPECT_EQ(d->test.height, 12);
  EXPECT_EQ(d->test.channels, 1);
  EXPECT_EQ(d->validation.count, 0);
}

TEST_F(TrainDataTest, ImageFolderWithoutTestFolderSaysWhatIsMissing) {
  png(dir_ / "train" / "cat" / "1.png", 4, 0);
  TrainConfig c = config();
  Result<TrainData> d = load_train_data(c);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), dir_.string() + ": an image-folder data set needs train/ and test/ (or val/) "
                                  "sub-folders, each with one folder of images per class — create them or pass "
                                  "another --data");
}

TEST_F(TrainDataTest, FashionMnistStillLoads) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) GTEST_SKIP();
  TrainConfig c;
  c.subset = 100;
  c.test_subset = 50;
  c.val_split = 0.1;
  Result<TrainData> d = load_train_data(c);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->dataset, "idx");
  EXPECT_EQ(d->train.count + d->validation.count, 100);
  EXPECT_GT(d->validation.count, 5);
  EXPECT_EQ(d->test.count, 50);
  EXPECT_EQ(d->train.channels, 1);
  EXPECT_EQ(d->train.height, 28);
  EXPECT_EQ(d->train.num_classes, 10);
}

}  // namespace
}  // namespace wattlab
