#include "wattlab/train/image_folder.h"

#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <fstream>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

class ImageFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wattlab_folder_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A w x h PNG of `channels` interleaved channels, every byte `value`.
  void png(const fs::path& path, int w, int h, int channels, uint8_t value) {
    fs::create_directories(path.parent_path());
    std::vector<uint8_t> pixels(static_cast<size_t>(w * h * channels), value);
    ASSERT_NE(stbi_write_png(path.c_str(), w, h, channels, pixels.data(), w * channels), 0);
  }

  fs::path root_;
};

TEST_F(ImageFolderTest, SortedClassesBecomeLabels) {
  png(root_ / "zebra" / "b.png", 4, 4, 1, 200);
  png(root_ / "zebra" / "a.png", 4, 4, 1, 100);
  png(root_ / "ant" / "x.png", 4, 4, 1, 10);
  std::ofstream(root_ / "ant" / ".DS_Store") << "ignored";
  Result<ImageDataset> d = load_image_folder(root_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->class_names, (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(d->num_classes, 2);
  EXPECT_EQ(d->count, 3);
  EXPECT_EQ(d->channels, 1);
  EXPECT_EQ(d->height, 4);
  EXPECT_EQ(d->labels, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(d->image(0)[0], 10);
  EXPECT_EQ(d->image(1)[15], 100);  // zebra/a.png before zebra/b.png
  EXPECT_EQ(d->image(2)[0], 200);
}

TEST_F(ImageFolderTest, ResizesAndConvertsChannels) {
  // An RGB image of (30, 60, 90) and a grey one, asked as 3 channels of 2x3.
  fs::create_directories(root_ / "a");
  std::vector<uint8_t> rgb(5 * 7 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(30 * (1 + i % 3));
  ASSERT_NE(stbi_write_png((root_ / "a" / "rgb.png").c_str(), 5, 7, 3, rgb.data(), 5 * 3), 0);
  png(root_ / "b" / "grey.png", 9, 9, 1, 77);
  ImageFolderOptions o;
  o.height = 2;
  o.width = 3;
  o.channels = 3;
  Result<ImageDataset> d = load_image_folder(root_, o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->pixels.size(), 2u * 3 * 2 * 3);
  EXPECT_EQ(d->image(0)[0], 30);      // red plane
  EXPECT_EQ(d->image(0)[6], 60);      // green plane
  EXPECT_EQ(d->image(0)[17], 90);     // blue plane, last pixel
  for (int i = 0; i < 18; ++i) EXPECT_EQ(d->image(1)[i], 77);
}

TEST_F(ImageFolderTest, FirstImageDecidesSizeAndChannels) {
  png(root_ / "a" / "1.png", 6, 5, 3, 50);
  png(root_ / "a" / "2.png", 12, 10, 1, 50);
  Result<ImageDataset> d = load_image_folder(root_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->channels, 3);
  EXPECT_EQ(d->height, 5);
  EXPECT_EQ(d->width, 6);
  EXPECT_EQ(d->count, 2);
}

TEST_F(ImageFolderTest, ReadsJpeg) {
  fs::create_directories(root_ / "a");
  std::vector<uint8_t> pixels(8 * 8 * 3, 128);
  ASSERT_NE(stbi_write_jpg((root_ / "a" / "x.jpg").c_str(), 8, 8, 3, pixels.data(), 95), 0);
  Result<ImageDataset> d = load_image_folder(root_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_NEAR(d->image(0)[0], 128, 2);
}

TEST_F(ImageFolderTest, NonImageFileNamesTheFile) {
  png(root_ / "a" / "1.png", 4, 4, 1, 0);
  fs::create_directories(root_ / "b");
  std::ofstream(root_ / "b" / "notes.txt") << "not an image";
  Result<ImageDataset> d = load_image_folder(root_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kCorrupt);
  const std::string m = d.status().message();
  EXPECT_EQ(m.rfind((root_ / "b" / "notes.txt").string() + ": cannot decode as an image", 0), 0u) << m;
  EXPECT_NE(m.find("remove it"), std::string::npos);
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST_F(ImageFolderTest, TruncatedPngIsCorrupt) {
  png(root_ / "a" / "1.png", 16, 16, 3, 9);
  const fs::path p = root_ / "a" / "1.png";
  fs::resize_file(p, fs::file_size(p) / 2);
  Result<ImageDataset> d = load_image_folder(root_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("1.png: cannot decode"), std::string::npos) << d.status().message();
}

TEST_F(ImageFolderTest, EmptyFoldersAndLooseFilesAreExplained) {
  Result<ImageDataset> empty = load_image_folder(root_);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("holds no class folders"), std::string::npos);

  fs::create_directories(root_ / "a");
  Result<ImageDataset> no_images = load_image_folder(root_);
  ASSERT_FALSE(no_images.ok());
  EXPECT_NE(no_images.status().message().find((root_ / "a").string() + ": class folder holds no images"),
            std::string::npos);

  png(root_ / "a" / "1.png", 2, 2, 1, 0);
  std::ofstream(root_ / "README") << "x";
  Result<ImageDataset> loose = load_image_folder(root_);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("README: a file directly in the image folder"), std::string::npos);

  EXPECT_EQ(load_image_folder(root_ / "missing").status().code(), Status::Code::kNotFound);
}

TEST_F(ImageFolderTest, GivenClassNamesFixTheLabels) {
  png(root_ / "dog" / "1.png", 2, 2, 1, 0);
  ImageFolderOptions o;
  o.class_names = {"cat", "dog"};
  Result<ImageDataset> d = load_image_folder(root_, o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->labels, (std::vector<int64_t>{1}));
  EXPECT_EQ(d->num_classes, 2);
  o.class_names = {"cat"};
  EXPECT_FALSE(load_image_folder(root_, o).ok());
}

TEST_F(ImageFolderTest, SubsetSpreadsOverClasses) {
  for (int i = 0; i < 4; ++i) png(root_ / "a" / (std::to_string(i) + ".png"), 2, 2, 1, 0);
  for (int i = 0; i < 4; ++i) png(root_ / "b" / (std::to_string(i) + ".png"), 2, 2, 1, 0);
  ImageFolderOptions o;
  o.subset = 4;
  Result<ImageDataset> d = load_image_folder(root_, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->labels, (std::vector<int64_t>{0, 0, 1, 1}));
}

}  // namespace
}  // namespace wattlab
