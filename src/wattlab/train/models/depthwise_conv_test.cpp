// wattlab's depthwise convolution against torch::conv2d (groups = channels):
// outputs and grads wrt input and weight at strides 1 and 2, kernels 3 and 5,
// odd and even map sizes; the zoo's Conv module runs it where the chooser
// picks it and it applies, and loads nn::Conv2d's state dicts.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/function.h>
#include <torch/serialize.h>

#include <sstream>
#include <string>
#include <vector>

#include "wattlab/train/models/depthwise_conv.h"
#include "wattlab/train/models/kernel_testing.h"
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

struct Case {
  int64_t n, channels, height, width, kernel, stride;
};

// conv2d with every pass by the depthwise kernels.
torch::Tensor depthwise(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride) {
  return conv2d_planned(x, weight, {}, {stride, (weight.size(2) - 1) / 2, x.size(1)}, every_pass(ConvKernel::kDepthwise));
}

std::string name_of(const Case& c) {
  return std::to_string(c.n) + "x" + std::to_string(c.channels) + "x" + std::to_string(c.height) + "x" +
         std::to_string(c.width) + " k" + std::to_string(c.kernel) + " s" + std::to_string(c.stride);
}

// Forward and backward of both implementations on the same data; the
// backward pushes a random grad through each output.
void expect_matches_torch(const Case& c) {
  SCOPED_TRACE(name_of(c));
  torch::manual_seed(c.height * 131 + c.width * 7 + c.kernel + c.stride);
  const torch::Tensor x = torch::randn({c.n, c.channels, c.height, c.width});
  const torch::Tensor weight = torch::randn({c.channels, 1, c.kernel, c.kernel});
  const int64_t padding = (c.kernel - 1) / 2;

  torch::Tensor x_ours = x.clone().requires_grad_(), w_ours = weight.clone().requires_grad_();
  torch::Tensor x_torch = x.clone().requires_grad_(), w_torch = weight.clone().requires_grad_();
  const torch::Tensor ours = depthwise(x_ours, w_ours, c.stride);
  const torch::Tensor expected = torch::conv2d(x_torch, w_torch, {}, c.stride, padding, 1, c.channels);
  ASSERT_EQ(ours.sizes(), expected.sizes());
  EXPECT_LT(relative_to_max(ours, expected), 1e-5);

  const torch::Tensor grad = torch::randn(expected.sizes());
  ours.backward(grad);
  expected.backward(grad);
  EXPECT_LT(relative_to_max(x_ours.grad(), x_torch.grad()), 1e-5);
  EXPECT_LT(relative_to_max(w_ours.grad(), w_torch.grad()), 1e-5);
}

TEST(DepthwiseConvTest, MatchesTorchAtStridesOneAndTwoKernelsThreeAndFive) {
  const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {7, 7}, {14, 14}, {28, 28}, {5, 9}};
  for (int64_t kernel : {3, 5}) {
    for (int64_t stride : {1, 2}) {
      for (int64_t n : {1, 3}) {
        for (const auto& [height, width] : sizes) expect_matches_torch({n, 5, height, width, kernel, stride});
      }
    }
  }
}

TEST(DepthwiseConvTest, SkipsTheGradsNobodyNeeds) {
  const torch::Tensor x = torch::randn({2, 3, 6, 6});
  const torch::Tensor weight = torch::randn({3, 1, 3, 3}).requires_grad_();
  depthwise(x, weight, 1).sum().backward();
  EXPECT_FALSE(x.grad().defined());
  const torch::Tensor w_torch = weight.detach().clone().requires_grad_();
  torch::conv2d(x, w_torch, {}, 1, 1, 1, 3).sum().backward();
  ASSERT_TRUE(weight.grad().defined());
  EXPECT_LT(relative_to_max(weight.grad(), w_torch.grad()), 1e-5);

  const torch::Tensor frozen = torch::randn({3, 1, 3, 3});
  const torch::Tensor x_grad = x.clone().requires_grad_();
  depthwise(x_grad, frozen, 2).sum().backward();
  EXPECT_TRUE(x_grad.grad().defined());
  EXPECT_FALSE(frozen.grad().defined());
}

// The sums run in a fixed order per plane and per channel: resuming a run on
// another thread count must not change its bits.
TEST(DepthwiseConvTest, SameBitsWhateverTheThreadCount) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 16, 14, 14});
  const torch::Tensor weight = torch::randn({16, 1, 3, 3});
  const torch::Tensor grad = torch::randn({4, 16, 7, 7});
  auto run = [&](int threads) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    torch::Tensor xg = x.clone().requires_grad_(), wg = weight.clone().requires_grad_();
    torch::Tensor y = depthwise(xg, wg, 2);
    y.backward(grad);
    at::set_num_threads(before);
    return std::vector<torch::Tensor>{y.detach(), xg.grad(), wg.grad()};
  };
  const std::vector<torch::Tensor> one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << i;
}

TEST(DepthwiseConvTest, RefusesWhatItDoesNotCompute) {
  const torch::Tensor x = torch::randn({2, 4, 8, 8});
  const torch::Tensor weight = torch::randn({4, 1, 3, 3});
  auto computes = [](const torch::Tensor& x, const torch::Tensor& w, at::IntArrayRef stride = {1, 1},
                     at::IntArrayRef padding = {1, 1}, at::IntArrayRef dilation = {1, 1}, int64_t groups = 4) {
    return depthwise_conv_computes(x, w, torch::Tensor(), stride, padding, dilation, groups);
  };
  EXPECT_TRUE(computes(x, weight));
  EXPECT_TRUE(computes(torch::randn({2, 4, 4, 4}), weight));  // whether it is faster there is measured
  EXPECT_FALSE(computes(x.contiguous(torch::MemoryFormat::ChannelsLast), weight));
  EXPECT_FALSE(computes(x.to(torch::kDouble), weight.to(torch::kDouble)));
  EXPECT_FALSE(computes(x, weight, {2, 1}));
  EXPECT_FALSE(computes(x, weight, {3, 3}));
  EXPECT_FALSE(computes(x, weight, {1, 1}, {0, 0}));
  EXPECT_FALSE(computes(x, weight, {1, 1}, {1, 1}, {2, 2}));
  EXPECT_FALSE(computes(x, torch::randn({4, 1, 7, 7}), {1, 1}, {3, 3}));
  EXPECT_FALSE(computes(x, torch::randn({8, 1, 3, 3}), {1, 1}, {1, 1}, {1, 1}, 4));  // a channel multiplier of 2
  EXPECT_FALSE(depthwise_conv_computes(x, weight, torch::zeros({4}), {1, 1}, {1, 1}, {1, 1}, 4));
  {
    at::autocast::set_cpu_enabled(true);
    EXPECT_FALSE(computes(x, weight));
    at::autocast::set_cpu_enabled(false);
  }
  EXPECT_EQ(conv_kernels(x, weight, {}, {1, 1}, {1, 1}, {1, 1}, 4),
            (std::vector<ConvKernel>{ConvKernel::kLibTorch, ConvKernel::kDepthwise}));
}

// The module with --kernels wattlab: its own kernel for a depthwise NCHW float
// map (seen in the autograd node it records), nn::Conv2d's for the rest, with
// torch's results; with --kernels libtorch nn::Conv2d's, bit for bit.
TEST(DepthwiseConvTest, ConvModuleTakesItsKernelOnlyWhereItApplies) {
  torch::manual_seed(5);
  const ForcedKernels ours(KernelMode::kWattlab);
  Conv depthwise(nn::Conv2dOptions(6, 6, 3).stride(2).padding(1).groups(6).bias(false));
  const torch::Tensor x = torch::randn({2, 6, 9, 9}).requires_grad_();
  const torch::Tensor y = depthwise->forward(x);
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_NE(y.grad_fn()->name().find("PlannedConv2dFunction"), std::string::npos) << y.grad_fn()->name();
  const torch::Tensor expected = torch::conv2d(x, depthwise->weight, {}, 2, 1, 1, 6);
  EXPECT_LT(relative_to_max(y, expected), 1e-5);
  {
    const ForcedKernels libtorch(KernelMode::kLibTorch);
    EXPECT_TRUE(torch::equal(depthwise->forward(x), expected));
  }

  // Channels-last and double inputs go to nn::Conv2d and give its result bit for bit.
  const torch::Tensor channels_last = x.detach().contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor y_last = depthwise->forward(channels_last);
  EXPECT_TRUE(torch::equal(y_last, depthwise->nn::Conv2dImpl::forward(channels_last)));
  EXPECT_LT(relative_to_max(y_last, expected), 1e-5);
  depthwise->to(torch::kDouble);
  const torch::Tensor x_double = x.detach().to(torch::kDouble);
  EXPECT_TRUE(torch::equal(depthwise->forward(x_double), depthwise->nn::Conv2dImpl::forward(x_double)));
  EXPECT_LT(relative_to_max(depthwise->forward(x_double).to(torch::kFloat), expected), 1e-5);

  // A dense 3x3 convolution takes Winograd with --kernels wattlab, not the depthwise kernel.
  Conv dense(nn::Conv2dOptions(6, 4, 3).padding(1));
  const torch::Tensor y_dense = dense->forward(x);
  EXPECT_EQ(ours.chooser().layers().back().implementation, "winograd");
  EXPECT_LT(relative_to_max(y_dense, dense->nn::Conv2dImpl::forward(x)), 1e-5);
}

TEST(DepthwiseConvTest, LoadsAStateDictSavedFromConv2d) {
  torch::manual_seed(9);
  const ForcedKernels ours(KernelMode::kWattlab);
  const nn::Conv2dOptions options = nn::Conv2dOptions(8, 8, 5).stride(1).padding(2).groups(8).bias(false);
  nn::Conv2d saved(options);
  std::stringstream archive;
  torch::save(saved, archive);
  Conv loaded(options);
  torch::load(loaded, archive);
  ASSERT_EQ(loaded->named_parameters().keys(), saved->named_parameters().keys());
  EXPECT_TRUE(torch::equal(loaded->weight, saved->weight));
  const torch::Tensor x = torch::randn({1, 8, 7, 7});
  EXPECT_LT(relative_to_max(loaded->forward(x), saved->forward(x)), 1e-5);
}

}  // namespace
}  // namespace wattlab::zoo
