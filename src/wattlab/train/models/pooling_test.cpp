// relu_max_pool2x2 against LibTorch's max_pool2d(relu(x), 2): the same bits
// for even and odd maps, NaN propagated, and LibTorch's differentiable path
// when autograd records.
#include "wattlab/train/models/pooling.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <limits>

namespace wattlab::zoo {
namespace {

at::Tensor reference(const at::Tensor& x) { return at::max_pool2d(at::relu(x), {2, 2}); }

TEST(ReluMaxPool2x2, EqualsLibTorchBitForBit) {
  at::manual_seed(3);
  for (auto sizes : std::vector<std::vector<int64_t>>{{64, 16, 32, 32}, {3, 5, 7, 9}, {1, 1, 2, 2}, {2, 3, 14, 15}}) {
    c10::InferenceMode inference;
    const at::Tensor x = at::randn(sizes);
    const at::Tensor ours = relu_max_pool2x2(x.clone());
    const at::Tensor expected = reference(x);
    ASSERT_EQ(ours.sizes(), expected.sizes());
    EXPECT_TRUE(at::equal(ours, expected)) << x.sizes();
  }
}

TEST(ReluMaxPool2x2, AllNegativeWindowsGiveZero) {
  c10::InferenceMode inference;
  const at::Tensor x = -at::rand({1, 2, 4, 4}) - 1;
  EXPECT_TRUE(at::equal(relu_max_pool2x2(x), at::zeros({1, 2, 2, 2})));
}

TEST(ReluMaxPool2x2, PropagatesNaNAsLibTorchDoes) {
  c10::InferenceMode inference;
  at::Tensor x = at::randn({1, 1, 4, 4});
  x[0][0][1][0] = std::numeric_limits<float>::quiet_NaN();  // window (0, 0), not its first value
  x[0][0][2][3] = -std::numeric_limits<float>::infinity();
  const at::Tensor ours = relu_max_pool2x2(x.clone());
  const at::Tensor expected = reference(x);
  EXPECT_TRUE(std::isnan(ours[0][0][0][0].item<float>()));
  EXPECT_TRUE(std::isnan(expected[0][0][0][0].item<float>()));
  EXPECT_TRUE(at::equal(ours.slice(3, 1), expected.slice(3, 1)));
  EXPECT_TRUE(at::equal(ours[0][0][1], expected[0][0][1]));
}

TEST(ReluMaxPool2x2, DifferentiableWhenAutogradRecords) {
  at::manual_seed(4);
  const at::Tensor input = at::randn({2, 3, 6, 6});
  at::Tensor x = input.clone().requires_grad_(true);
  at::Tensor y = relu_max_pool2x2(x * 1);  // a non-leaf, as a convolution's output is
  y.sum().backward();
  at::Tensor x2 = input.clone().requires_grad_(true);
  reference(x2 * 1).sum().backward();
  EXPECT_TRUE(at::equal(y.detach(), reference(input)));
  EXPECT_TRUE(at::equal(x.grad(), x2.grad()));
}

TEST(ReluMaxPool2x2, OtherLayoutsGoToLibTorch) {
  c10::InferenceMode inference;
  const at::Tensor x = at::randn({2, 4, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(at::equal(relu_max_pool2x2(x.clone()), reference(x)));
  const at::Tensor d = at::randn({1, 2, 4, 6}, at::kDouble);
  EXPECT_TRUE(at::equal(relu_max_pool2x2(d.clone()), reference(d)));
}

}  // namespace
}  // namespace wattlab::zoo
