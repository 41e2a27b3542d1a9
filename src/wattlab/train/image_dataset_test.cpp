#include "wattlab/train/image_dataset.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(ImageDatasetTest, FromIdxKeepsPixelsAndWidensLabels) {
  IdxDataset idx;
  idx.count = 2;
  idx.rows = 1;
  idx.cols = 2;
  idx.num_classes = 10;
  idx.pixels = {1, 2, 3, 4};
  idx.labels = {9, 0};
  ImageDataset d = to_image_dataset(idx);
  EXPECT_EQ(d.channels, 1);
  EXPECT_EQ(d.height, 1);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.pixels, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(d.labels, (std::vector<int64_t>{9, 0}));
}

TEST(ImageDatasetTest, SelectImagesGathersInOrder) {
  ImageDataset d;
  d.count = 3;
  d.channels = 2;
  d.height = 1;
  d.width = 1;
  d.num_classes = 3;
  d.pixels = {10, 11, 20, 21, 30, 31};
  d.labels = {0, 1, 2};
  ImageDataset s = select_images(d, {2, 0});
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.pixels, (std::vector<uint8_t>{30, 31, 10, 11}));
  EXPECT_EQ(s.labels, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(s.num_classes, 3);
}

TEST(ImageDatasetTest, BilinearUpscaleMatchesHalfPixelCentres) {
  // 1x2 -> 1x4: output centres map to source x = -0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
  const uint8_t in[] = {0, 200};
  uint8_t out[4];
  resize_bilinear(in, 1, 1, 2, out, 1, 4);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 50);
  EXPECT_EQ(out[2], 150);
  EXPECT_EQ(out[3], 200);
}

TEST(ImageDatasetTest, BilinearDownscaleAveragesPairs) {
  const uint8_t in[] = {10, 30, 50, 70};  // 1x4 -> 1x2: source x = 0.5 and 2.5
  uint8_t out[2];
  resize_bilinear(in, 1, 1, 4, out, 1, 2);
  EXPECT_EQ(out[0], 20);
  EXPECT_EQ(out[1], 60);
}

TEST(ImageDatasetTest, ResizeImagesResizesEveryPlane) {
  ImageDataset d;
  d.count = 2;
  d.channels = 2;
  d.height = 2;
  d.width = 2;
  d.pixels.assign(16, 0);
  for (int i = 0; i < 4; ++i) d.pixels[4 + i] = 100;   // image 0, channel 1
  for (int i = 0; i < 4; ++i) d.pixels[8 + i] = 255;   // image 1, channel 0
  d.labels = {0, 1};
  resize_images(d, 3, 3);
  ASSERT_EQ(d.pixels.size(), 2u * 2 * 9);
  EXPECT_EQ(d.height, 3);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(d.pixels[i], 0);
    EXPECT_EQ(d.pixels[9 + i], 100);
    EXPECT_EQ(d.pixels[18 + i], 255);
    EXPECT_EQ(d.pixels[27 + i], 0);
  }
}

TEST(ImageDatasetTest, ChannelStatsPerChannel) {
  ImageDataset d;
  d.count = 2;
  d.channels = 2;
  d.height = 1;
  d.width = 2;
  // channel 0 sees 0, 255, 0, 255 ; channel 1 sees 51 four times.
  d.pixels = {0, 255, 51, 51, 0, 255, 51, 51};
  d.labels = {0, 0};
  ChannelStats s = channel_stats(d);
  ASSERT_EQ(s.mean.size(), 2u);
  EXPECT_DOUBLE_EQ(s.mean[0], 0.5);
  EXPECT_DOUBLE_EQ(s.std[0], 0.5);
  EXPECT_NEAR(s.mean[1], 0.2, 1e-12);
  EXPECT_NEAR(s.std[1], 1e-6, 1e-6);  // constant channel: floored, never 0
  EXPECT_GT(s.std[1], 0);
}

}  // namespace
}  // namespace wattlab
