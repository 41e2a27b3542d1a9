// The direct 3x3 convolution against a plain loop over the definition:
// borders, several channels, no bias, and a range of images.
#include "wattlab/train/models/direct_conv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace wattlab::zoo {
namespace {

std::vector<float> reference(const std::vector<float>& x, int64_t images, int64_t in, int64_t h, int64_t w,
                             const std::vector<float>& weight, const float* bias, int64_t out) {
  std::vector<float> y(static_cast<size_t>(images * out * h * w));
  for (int64_t n = 0; n < images; ++n)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t j = 0; j < w; ++j) {
          double sum = bias ? bias[o] : 0;
          for (int64_t c = 0; c < in; ++c)
            for (int64_t kr = 0; kr < 3; ++kr)
              for (int64_t kc = 0; kc < 3; ++kc) {
                const int64_t rr = r + kr - 1, cc = j + kc - 1;
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                sum += static_cast<double>(weight[((o * in + c) * 3 + kr) * 3 + kc]) * x[((n * in + c) * h + rr) * w + cc];
              }
          y[((n * out + o) * h + r) * w + j] = static_cast<float>(sum);
        }
  return y;
}

void expect_matches(int64_t images, int64_t in, int64_t h, int64_t w, int64_t out, bool with_bias) {
  std::mt19937 rng(static_cast<unsigned>(images * 1000 + in * 100 + h * 10 + w));
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> x(static_cast<size_t>(images * in * h * w)), weight(static_cast<size_t>(out * in * 9)), bias(out);
  for (float& v : x) v = normal(rng);
  for (float& v : weight) v = normal(rng);
  for (float& v : bias) v = normal(rng);
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> y(static_cast<size_t>(images * out * h * w), NAN);
  // Two calls over halves of the batch, as threads would split it.
  direct_conv3x3_forward(x.data(), in, h, w, weight.data(), b, out, 0, images / 2, y.data());
  direct_conv3x3_forward(x.data(), in, h, w, weight.data(), b, out, images / 2, images, y.data());
  const std::vector<float> expected = reference(x, images, in, h, w, weight, b, out);
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y[i], expected[i], 1e-4f * (1 + std::abs(expected[i]))) << "element " << i;
}

TEST(DirectConv3x3, OneInputChannelLikeTheChessClassifiersFirstLayer) { expect_matches(4, 1, 32, 32, 16, true); }
TEST(DirectConv3x3, SeveralChannelsOddSizesNoBias) { expect_matches(3, 3, 7, 9, 5, false); }
TEST(DirectConv3x3, SmallestMaps) {
  expect_matches(2, 2, 1, 1, 3, true);
  expect_matches(2, 1, 2, 17, 2, true);
}

TEST(DirectConv3x3, SameBitsEveryRun) {
  std::vector<float> x(2 * 32 * 32), weight(8 * 9), bias(8, 0.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  for (size_t i = 0; i < weight.size(); ++i) weight[i] = std::cos(static_cast<float>(i));
  std::vector<float> a(2 * 8 * 32 * 32), b(a.size());
  direct_conv3x3_forward(x.data(), 1, 32, 32, weight.data(), bias.data(), 8, 0, 2, a.data());
  direct_conv3x3_forward(x.data(), 1, 32, 32, weight.data(), bias.data(), 8, 0, 1, b.data());
  direct_conv3x3_forward(x.data(), 1, 32, 32, weight.data(), bias.data(), 8, 1, 2, b.data());
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace wattlab::zoo
