#include "wattlab/train/batch_loader.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

ImageDataset ramp(int64_t count, int64_t channels, int64_t side) {
  ImageDataset d;
  d.count = count;
  d.channels = channels;
  d.height = d.width = side;
  d.num_classes = 10;
  for (int64_t i = 0; i < count * channels * side * side; ++i) d.pixels.push_back(static_cast<uint8_t>(i * 7));
  for (int64_t i = 0; i < count; ++i) d.labels.push_back(i % 10);
  return d;
}

std::vector<Batch> drain(const ImageDataset& d, std::vector<int64_t> order, const LoaderOptions& o) {
  BatchLoader loader(d, std::move(order), o);
  std::vector<Batch> batches;
  for (Batch b; loader.next(b);) batches.push_back(std::move(b));
  return batches;
}

TEST(BatchLoaderTest, GathersAndNormalisesPerChannel) {
  ImageDataset d = ramp(3, 2, 1);  // pixels 0,7 | 14,21 | 28,35
  LoaderOptions o;
  o.batch_size = 2;
  o.mean = {0.0, 1.0};
  o.std = {1.0, 0.5};
  o.prefetch_depth = 0;
  auto batches = drain(d, {2, 0, 1}, o);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].count, 2);
  EXPECT_EQ(batches[1].count, 1);
  EXPECT_EQ(batches[1].begin, 2);
  EXPECT_EQ(batches[0].labels, (std::vector<int64_t>{2, 0}));
  EXPECT_FLOAT_EQ(batches[0].images[0], 28 / 255.0f);
  EXPECT_FLOAT_EQ(batches[0].images[1], static_cast<float>((35 / 255.0 - 1.0) / 0.5));
  EXPECT_FLOAT_EQ(batches[0].images[2], 0.0f);
  EXPECT_FLOAT_EQ(batches[1].images[1], static_cast<float>((21 / 255.0 - 1.0) / 0.5));
}

TEST(BatchLoaderTest, PrefetchGivesTheSameBatchesInTheSameOrder) {
  ImageDataset d = ramp(1000, 3, 8);
  std::vector<int64_t> order(1000);
  for (int64_t i = 0; i < 1000; ++i) order[i] = (i * 617) % 1000;
  LoaderOptions o;
  o.batch_size = 64;
  o.mean = {0.5, 0.4, 0.3};
  o.std = {0.2, 0.25, 0.3};
  o.augment = AugmentOptions{true, 2, true};
  o.seed = 1234;
  o.prefetch_depth = 0;
  const auto sync = drain(d, order, o);
  for (int depth : {1, 2, 4}) {
    o.prefetch_depth = depth;
    const auto async = drain(d, order, o);
    ASSERT_EQ(async.size(), sync.size());
    for (size_t i = 0; i < sync.size(); ++i) {
      EXPECT_EQ(async[i].images, sync[i].images) << "batch " << i << " depth " << depth;
      EXPECT_EQ(async[i].labels, sync[i].labels);
    }
  }
  // Augmentation did something, and another seed does something else.
  o.augment = AugmentOptions{};
  EXPECT_NE(drain(d, order, o)[0].images, sync[0].images);
  o.augment = AugmentOptions{true, 2, true};
  o.seed = 1235;
  EXPECT_NE(drain(d, order, o)[0].images, sync[0].images);
}

TEST(BatchLoaderTest, StopsCleanlyWhenAbandoned) {
  ImageDataset d = ramp(5000, 1, 4);
  std::vector<int64_t> order(5000);
  for (int64_t i = 0; i < 5000; ++i) order[i] = i;
  LoaderOptions o;
  o.batch_size = 10;
  o.prefetch_depth = 3;
  BatchLoader loader(d, order, o);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.labels[0], 0);
  // Destroyed with the worker blocked on a full queue: must not hang.
}

TEST(BatchLoaderTest, EmptyOrderHasNoBatches) {
  ImageDataset d = ramp(1, 1, 1);
  LoaderOptions o;
  EXPECT_TRUE(drain(d, {}, o).empty());
  o.prefetch_depth = 0;
  EXPECT_TRUE(drain(d, {}, o).empty());
}

}  // namespace
}  // namespace wattlab
