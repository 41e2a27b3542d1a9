#include "wattlab/train/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace wattlab {
namespace {

// `per_class[c]` one-pixel images of class c; pixel = image index (mod 256).
ImageDataset classes(const std::vector<int>& per_class) {
  ImageDataset d;
  d.height = d.width = 1;
  d.num_classes = static_cast<int64_t>(per_class.size());
  for (size_t c = 0; c < per_class.size(); ++c)
    for (int i = 0; i < per_class[c]; ++i) {
      d.pixels.push_back(static_cast<uint8_t>(d.count++));
      d.labels.push_back(static_cast<int64_t>(c));
    }
  return d;
}

int64_t count_of(const ImageDataset& d, int64_t label) { return std::count(d.labels.begin(), d.labels.end(), label); }

TEST(SplitTest, StratifiedKeepsClassProportions) {
  Result<TrainValidationSplit> s = split_train_validation(classes({100, 50, 10}), 0.1, 42);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->validation.count, 16);
  EXPECT_EQ(count_of(s->validation, 0), 10);
  EXPECT_EQ(count_of(s->validation, 1), 5);
  EXPECT_EQ(count_of(s->validation, 2), 1);
  EXPECT_EQ(s->train.count, 144);
  EXPECT_EQ(s->train.num_classes, 3);
  // Every image lands in exactly one part, with its label.
  std::set<int> seen;
  for (const ImageDataset* part : {&s->train, &s->validation})
    for (int64_t i = 0; i < part->count; ++i) {
      EXPECT_TRUE(seen.insert(part->pixels[i]).second);
      EXPECT_EQ(part->labels[i], part->pixels[i] < 100 ? 0 : part->pixels[i] < 150 ? 1 : 2);
    }
  EXPECT_EQ(seen.size(), 160u);
}

TEST(SplitTest, SmallClassesShareTheRoundedTotal) {
  // 0.1 of 30 is 3, although 0.1 of each class of 3 rounds to 0: the first three classes give one each.
  Result<TrainValidationSplit> s = split_train_validation(classes({3, 3, 3, 3, 3, 3, 3, 3, 3, 3}), 0.1, 42);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->validation.labels, (std::vector<int64_t>{0, 1, 2}));
  // Remainders decide: 0.25 of 6 = 1.5 and 0.25 of 2 = 0.5; total round(2) = 2: floors 1 + 0, then class 0 (tie, lower label).
  s = split_train_validation(classes({6, 2}), 0.25, 42);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(count_of(s->validation, 0), 2);
  EXPECT_EQ(count_of(s->validation, 1), 0);
}

TEST(SplitTest, SameSeedSameSplitOtherSeedOther) {
  const ImageDataset d = classes({200});
  auto a = split_train_validation(d, 0.25, 1);
  auto b = split_train_validation(d, 0.25, 1);
  auto c = split_train_validation(d, 0.25, 2);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->validation.pixels, b->validation.pixels);
  EXPECT_NE(a->validation.pixels, c->validation.pixels);
  EXPECT_TRUE(std::is_sorted(a->validation.pixels.begin(), a->validation.pixels.end()));  // original order kept
}

TEST(SplitTest, RejectsFractionsOutsideTheOpenInterval) {
  EXPECT_EQ(split_train_validation(classes({10}), 0, 1).status().message(),
            "--val-split must be in (0, 1), a fraction of the training images (got 0.000000)");
  EXPECT_FALSE(split_train_validation(classes({10}), 1, 1).ok());
  auto tiny = split_train_validation(classes({4}), 0.1, 1);
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("leaves no validation images"), std::string::npos);
}

}  // namespace
}  // namespace wattlab
