// The im2row + GEMM and Winograd convolutions: outputs and gradients against
// LibTorch's conv2d on every kind of shape they take, when they apply, that
// the zoo's Conv module falls back to nn::Conv2d elsewhere, and loads
// nn::Conv2d's state.
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <sstream>

#include "wattlab/train/models/gemm_conv.h"
#include "wattlab/train/models/kernel_testing.h"
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

struct Case {
  int64_t batch, in, out, height, width, stride;
  bool bias;
};

std::string describe(const Case& c) {
  return std::to_string(c.batch) + "x" + std::to_string(c.in) + "x" + std::to_string(c.height) + "x" +
         std::to_string(c.width) + " -> " + std::to_string(c.out) + " stride " + std::to_string(c.stride) +
         (c.bias ? " with bias" : "");
}

// conv(x, w, b) against reference(x, w, b) on copies of the same inputs (b
// may be undefined): the output within output_tolerance and the gradients of
// x, w and b within 10 * output_tolerance of the largest value.
template <typename Conv, typename Reference>
void expect_same_as(const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0, Conv conv,
                    Reference reference, double output_tolerance = 1e-6) {
  const auto leaf = [](const torch::Tensor& t) { return t.defined() ? t.clone().requires_grad_() : torch::Tensor(); };
  torch::Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
  torch::Tensor rx = leaf(x0), rw = leaf(w0), rb = leaf(b0);
  const torch::Tensor y = conv(x, w, b);
  const torch::Tensor expected = reference(rx, rw, rb);
  ASSERT_EQ(y.sizes(), expected.sizes());
  EXPECT_LE(relative_to_max(y, expected), output_tolerance);

  const torch::Tensor grad_out = torch::randn(y.sizes());
  y.backward(grad_out);
  expected.backward(grad_out);
  EXPECT_LE(relative_to_max(x.grad(), rx.grad()), 10 * output_tolerance);
  EXPECT_LE(relative_to_max(w.grad(), rw.grad()), 10 * output_tolerance);
  if (b.defined()) {
    EXPECT_LE(relative_to_max(b.grad(), rb.grad()), 10 * output_tolerance);
  }
}

// Output maps 4x4, 2x2, 1x1 and 3x5, batches 1, 3 and 8, strides 1 and 2, odd sides and channel counts,
// inputs one pixel wide or high (the padding on both sides of every window).
const std::vector<Case> kCases = {
    {1, 16, 8, 4, 4, 1, false}, {3, 5, 7, 4, 4, 1, true},  {8, 32, 16, 7, 7, 2, false}, {3, 6, 4, 8, 8, 2, true},
    {1, 3, 5, 2, 2, 1, false},  {3, 4, 6, 3, 3, 2, false}, {3, 4, 6, 1, 1, 1, true},    {2, 8, 3, 2, 2, 2, false},
    {3, 7, 9, 3, 5, 1, true},   {64, 24, 24, 4, 4, 1, false}, {2, 3, 4, 1, 1, 2, false}, {2, 3, 4, 3, 1, 2, true},
    {2, 3, 4, 1, 3, 2, false}};

TEST(GemmConvTest, OutputAndGradientsMatchConv2d) {
  torch::manual_seed(7);
  for (const Case& c : kCases) {
    SCOPED_TRACE(describe(c));
    const torch::Tensor x0 = torch::randn({c.batch, c.in, c.height, c.width});
    const torch::Tensor w0 = torch::randn({c.out, c.in, 3, 3}) * 0.2;
    const torch::Tensor b0 = c.bias ? torch::randn({c.out}) : torch::Tensor();
    expect_same_as(
        x0, w0, b0,
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          EXPECT_TRUE(gemm_conv_applies(x, w, {c.stride, c.stride}, {1, 1}, {1, 1}, 1));
          return gemm_conv2d(x, w, b, c.stride, 1);
        },
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return torch::conv2d(x, w, b, c.stride, 1);
        });
  }
}

TEST(GemmConvTest, OnlyTheWeightNeedsAGradient) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({3, 8, 4, 4});
  torch::Tensor w = torch::randn({4, 8, 3, 3}).requires_grad_();
  gemm_conv2d(x, w, torch::Tensor(), 1, 1).sum().backward();
  torch::Tensor rw = w.detach().clone().requires_grad_();
  torch::conv2d(x, rw, {}, 1, 1).sum().backward();
  EXPECT_LE(relative_to_max(w.grad(), rw.grad()), 1e-5);
  EXPECT_FALSE(x.grad().defined());
}

TEST(GemmConvTest, SameGradientsEveryRun) {
  torch::manual_seed(11);
  const torch::Tensor x0 = torch::randn({16, 32, 7, 7});
  const torch::Tensor w0 = torch::randn({32, 32, 3, 3});
  std::vector<torch::Tensor> grads;
  for (int run = 0; run < 2; ++run) {
    torch::Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
    gemm_conv2d(x, w, torch::Tensor(), 2, 1).square().sum().backward();
    grads.push_back(x.grad());
    grads.push_back(w.grad());
  }
  EXPECT_TRUE(torch::equal(grads[0], grads[2]));
  EXPECT_TRUE(torch::equal(grads[1], grads[3]));
}

TEST(GemmConvTest, AppliesOnlyWhereMeasuredFaster) {
  const torch::Tensor x = torch::randn({4, 8, 4, 4});
  const torch::Tensor w = torch::randn({8, 8, 3, 3}).requires_grad_();
  EXPECT_TRUE(gemm_conv_applies(x, w, {1, 1}, {1, 1}, {1, 1}, 1));
  // An 8x8 output map (oneDNN's own weight gradient is faster there), a 1x1 kernel.
  EXPECT_FALSE(gemm_conv_applies(torch::randn({4, 8, 8, 8}), w, {1, 1}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(gemm_conv_applies(x, torch::randn({8, 8, 1, 1}).requires_grad_(), {1, 1}, {0, 0}, {1, 1}, 1));
  // Groups, dilation, unequal strides, another dtype, channels-last, no weight gradient, no autograd.
  EXPECT_FALSE(gemm_conv_applies(x, torch::randn({8, 4, 3, 3}).requires_grad_(), {1, 1}, {1, 1}, {1, 1}, 2));
  EXPECT_FALSE(gemm_conv_applies(x, w, {1, 1}, {2, 2}, {2, 2}, 1));
  EXPECT_FALSE(gemm_conv_applies(x, w, {1, 2}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(gemm_conv_applies(x.to(torch::kDouble), w.detach().to(torch::kDouble).requires_grad_(), {1, 1}, {1, 1},
                                 {1, 1}, 1));
  EXPECT_FALSE(gemm_conv_applies(x.contiguous(torch::MemoryFormat::ChannelsLast), w, {1, 1}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(gemm_conv_applies(x, w.detach(), {1, 1}, {1, 1}, {1, 1}, 1));
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(gemm_conv_applies(x, w, {1, 1}, {1, 1}, {1, 1}, 1));
}

TEST(GemmConvTest, WinogradMatchesConv2dAndAppliesOnlyWhereMeasuredFaster) {
  torch::manual_seed(17);
  // Even and odd sides (ResNet-18's 8x8 and 7x7), a map wider than high, channels off sgemm's tiles, a bias.
  const std::vector<Case> cases = {{2, 64, 64, 8, 8, 1, false}, {3, 64, 70, 7, 7, 1, true}, {2, 67, 64, 5, 9, 1, false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(describe(c));
    const torch::Tensor x0 = torch::randn({c.batch, c.in, c.height, c.width});
    const torch::Tensor w0 = torch::randn({c.out, c.in, 3, 3}) * 0.05;
    const torch::Tensor b0 = c.bias ? torch::randn({c.out}) : torch::Tensor();
    // The transforms add and halve: ~2e-6 of the largest value from the direct sum at 256 channels.
    expect_same_as(
        x0, w0, b0,
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          EXPECT_TRUE(winograd_conv_applies(x, w, {1, 1}, {1, 1}, {1, 1}, 1));
          return winograd_conv2d(x, w, b);
        },
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return torch::conv2d(x, w, b, 1, 1);
        },
        5e-6);
  }
  const torch::Tensor x = torch::randn({2, 64, 8, 8});
  const torch::Tensor w = torch::randn({64, 64, 3, 3}).requires_grad_();
  // Stride 2, no padding, a 4x4 map (gemm_conv's), fewer than 64 channels in or out.
  EXPECT_FALSE(winograd_conv_applies(x, w, {2, 2}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(winograd_conv_applies(x, w, {1, 1}, {0, 0}, {1, 1}, 1));
  EXPECT_FALSE(winograd_conv_applies(torch::randn({2, 64, 4, 4}), w, {1, 1}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(winograd_conv_applies(torch::randn({2, 32, 8, 8}), torch::randn({64, 32, 3, 3}).requires_grad_(),
                                     {1, 1}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(winograd_conv_applies(x, torch::randn({32, 64, 3, 3}).requires_grad_(), {1, 1}, {1, 1}, {1, 1}, 1));
  // The layout conditions it shares with gemm_conv: channels-last, no autograd.
  EXPECT_FALSE(winograd_conv_applies(x.contiguous(torch::MemoryFormat::ChannelsLast), w, {1, 1}, {1, 1}, {1, 1}, 1));
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(winograd_conv_applies(x, w, {1, 1}, {1, 1}, {1, 1}, 1));
}

TEST(GemmConvTest, SubsampledPointwiseMatchesStridedConv2d) {
  torch::manual_seed(13);
  // ResNet's 7x7 -> 4x4 and 8x8 -> 4x4 shortcuts, odd sides, stride 3, a bias.
  const std::vector<Case> cases = {{16, 24, 48, 7, 7, 2, false}, {16, 16, 32, 8, 8, 2, false},
                                   {17, 5, 9, 9, 6, 2, true},    {16, 4, 6, 10, 11, 3, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(describe(c));
    const torch::Tensor x0 = torch::randn({c.batch, c.in, c.height, c.width});
    const torch::Tensor w0 = torch::randn({c.out, c.in, 1, 1});
    const torch::Tensor b0 = c.bias ? torch::randn({c.out}) : torch::Tensor();
    expect_same_as(
        x0, w0, b0,
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          EXPECT_TRUE(subsampled_pointwise_applies(x, w, {c.stride, c.stride}, {0, 0}, {1, 1}, 1));
          return subsampled_pointwise_conv2d(x, w, b, c.stride);
        },
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return torch::conv2d(x, w, b, c.stride);
        });
  }
  const torch::Tensor w = torch::randn({8, 4, 1, 1}).requires_grad_();
  EXPECT_TRUE(subsampled_pointwise_applies(torch::randn({16, 4, 8, 8}), w, {2, 2}, {0, 0}, {1, 1}, 1));
  // Batches under 16 (LibTorch's own 1x1 path), stride 1, padding.
  EXPECT_FALSE(subsampled_pointwise_applies(torch::randn({8, 4, 8, 8}), w, {2, 2}, {0, 0}, {1, 1}, 1));
  EXPECT_FALSE(subsampled_pointwise_applies(torch::randn({16, 4, 8, 8}), w, {1, 1}, {0, 0}, {1, 1}, 1));
  EXPECT_FALSE(subsampled_pointwise_applies(torch::randn({16, 4, 8, 8}), w, {2, 2}, {1, 1}, {1, 1}, 1));
}

// Conv loads an nn::Conv2d's saved parameters, and outside gemm_conv's shapes
// gives nn::Conv2d's result bit for bit.
TEST(GemmConvTest, ConvModuleLoadsConv2dStateAndFallsBack) {
  torch::manual_seed(5);
  nn::Conv2d plain(nn::Conv2dOptions(6, 10, 3).stride(1).padding(1).bias(true));
  std::stringstream saved;
  torch::save(plain, saved);
  Conv conv(nn::Conv2dOptions(6, 10, 3).stride(1).padding(1).bias(true));
  torch::load(conv, saved);
  EXPECT_TRUE(torch::equal(conv->weight, plain->weight));
  EXPECT_TRUE(torch::equal(conv->bias, plain->bias));
  EXPECT_EQ(conv->named_parameters().keys(), plain->named_parameters().keys());

  const torch::Tensor large = torch::randn({2, 6, 9, 9});  // a 9x9 output: nn::Conv2d's path
  ASSERT_FALSE(gemm_conv_applies(large, conv->weight, {1, 1}, {1, 1}, {1, 1}, 1));
  EXPECT_TRUE(torch::equal(conv->forward(large), plain->forward(large)));

  const torch::Tensor small = torch::randn({2, 6, 4, 4});  // gemm_conv's: same up to rounding
  ASSERT_TRUE(gemm_conv_applies(small, conv->weight, {1, 1}, {1, 1}, {1, 1}, 1));
  conv->forward(small).sum().backward();
  plain->forward(small).sum().backward();
  EXPECT_LE(relative_to_max(conv->weight.grad(), plain->weight.grad()), 1e-5);
  EXPECT_LE(relative_to_max(conv->bias.grad(), plain->bias.grad()), 1e-5);
}

}  // namespace
}  // namespace wattlab::zoo
