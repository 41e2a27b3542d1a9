#include "wattlab/train/augment.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace wattlab {
namespace {

TEST(AugmentTest, ParsesSpecsAndPicksPaddingBySize) {
  auto both = parse_augment("crop,flip", -1, 32);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->crop && both->flip);
  EXPECT_EQ(both->crop_padding, 4);
  EXPECT_EQ(parse_augment("crop", -1, 28)->crop_padding, 2);
  EXPECT_EQ(parse_augment("crop", 3, 28)->crop_padding, 3);
  EXPECT_FALSE(parse_augment("none", -1, 28)->any());
  EXPECT_EQ(describe(*both), "crop(pad 4),flip");
  EXPECT_EQ(parse_augment("rotate", -1, 28).status().message(),
            "--augment must be none or a comma-separated list of crop and flip (got \"rotate\")");
  EXPECT_FALSE(parse_augment("crop", 40, 32).ok());
}

TEST(AugmentTest, FlipMirrorsEveryRow) {
  const uint8_t in[] = {1, 2, 3, 4, 5, 6};  // 1 channel, 2x3
  AugmentOptions o;
  o.flip = true;
  std::set<std::string> outcomes;
  AugmentRng rng(5);
  for (int i = 0; i < 64; ++i) {
    uint8_t out[6];
    augment_image(in, 1, 2, 3, o, rng, out);
    outcomes.insert(std::string(out, out + 6));
  }
  EXPECT_EQ(outcomes, (std::set<std::string>{"\1\2\3\4\5\6", "\3\2\1\6\5\4"}));
}

TEST(AugmentTest, CropShiftsWithZeroPadding) {
  // A 3x3 image; with padding 1 there are 9 possible shifts, each a window of the padded image.
  const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  AugmentOptions o;
  o.crop = true;
  o.crop_padding = 1;
  std::set<std::string> outcomes;
  AugmentRng rng(11);
  for (int i = 0; i < 500; ++i) {
    uint8_t out[9];
    augment_image(in, 1, 3, 3, o, rng, out);
    outcomes.insert(std::string(out, out + 9));
  }
  EXPECT_EQ(outcomes.size(), 9u);
  EXPECT_TRUE(outcomes.count(std::string("\0\0\0\0\1\2\0\4\5", 9)));  // shifted down-right
  EXPECT_TRUE(outcomes.count(std::string("\5\6\0\10\11\0\0\0\0", 9)));  // shifted up-left
  EXPECT_TRUE(outcomes.count("\1\2\3\4\5\6\7\10\11"));
}

TEST(AugmentTest, SameSeedSameImages) {
  std::vector<uint8_t> in(2 * 8 * 8);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i);
  AugmentOptions o{true, 2, true};
  AugmentRng a(99), b(99);
  for (int i = 0; i < 10; ++i) {
    std::vector<uint8_t> x(in.size()), y(in.size());
    augment_image(in.data(), 2, 8, 8, o, a, x.data());
    augment_image(in.data(), 2, 8, 8, o, b, y.data());
    EXPECT_EQ(x, y);
  }
}

}  // namespace
}  // namespace wattlab
