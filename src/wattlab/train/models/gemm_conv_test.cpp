// The im2row + GEMM, Winograd and subsampled convolutions: outputs and
// gradients against LibTorch's conv2d on every kind of shape they take, alone
// and mixed pass by pass with LibTorch's; where conv_kernels offers them; that
// the zoo's Conv module is nn::Conv2d bit for bit with --kernels libtorch, and
// loads nn::Conv2d's state.
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "wattlab/train/models/conv_dispatch.h"
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

// Whether this CPU runs F(4x4, 3x3) (AVX-512) on a map of height x width pixels.
bool runs_4x4(int64_t height, int64_t width) {
  return winograd_4x4_runs({1, 1, 1, 3, 1, 1, height, width, height, width});
}

// `kernels` with F(4x4, 3x3) after Winograd's F(2x2, 3x3) where this CPU runs it.
std::vector<ConvKernel> with_4x4(std::vector<ConvKernel> kernels) {
  const auto winograd = std::find(kernels.begin(), kernels.end(), ConvKernel::kWinograd);
  if (winograd != kernels.end() && runs_4x4(4, 4)) kernels.insert(winograd + 1, ConvKernel::kWinograd4x4);
  return kernels;
}

// Whether conv_kernels offers `kernel` for conv2d(x, w, b, stride, padding).
bool offers(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, int64_t stride, int64_t padding,
            ConvKernel kernel) {
  const std::vector<ConvKernel> kernels = conv_kernels(x, w, b, {stride, stride}, {padding, padding}, {1, 1}, 1);
  return std::find(kernels.begin(), kernels.end(), kernel) != kernels.end();
}

// Output maps 4x4, 2x2, 1x1 and 3x5, batches 1, 3 and 8, strides 1 and 2, odd sides and channel counts,
// inputs one pixel wide or high (the padding on both sides of every window).
const std::vector<Case> kCases = {
    {1, 16, 8, 4, 4, 1, false}, {3, 5, 7, 4, 4, 1, true},  {8, 32, 16, 7, 7, 2, false}, {3, 6, 4, 8, 8, 2, true},
    {1, 3, 5, 2, 2, 1, false},  {3, 4, 6, 3, 3, 2, false}, {3, 4, 6, 1, 1, 1, true},    {2, 8, 3, 2, 2, 2, false},
    {3, 7, 9, 3, 5, 1, true},   {64, 24, 24, 4, 4, 1, false}, {2, 3, 4, 1, 1, 2, false}, {2, 3, 4, 3, 1, 2, true},
    {2, 3, 4, 1, 3, 2, false}};

// What makes these tests fail on an output a kernel never writes: fresh
// tensors start as NaN (kernel_testing.h), which relative_to_max rejects.
TEST(GemmConvTest, UnwrittenOutputsAreNanAndFail) {
  const torch::Tensor fresh = torch::empty({4, 8, 16, 16});
  EXPECT_TRUE(torch::isnan(fresh).all().item<bool>());
  torch::Tensor almost = torch::randn({4, 8, 16, 16});
  almost[3][7][15][15] = fresh[0][0][0][0];
  EXPECT_EQ(relative_to_max(almost, torch::zeros_like(almost)), INFINITY);
}

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
          EXPECT_TRUE(offers(x, w, b, c.stride, 1, ConvKernel::kGemm));
          return conv2d_planned(x, w, b, {c.stride, 1, 1}, every_pass(ConvKernel::kGemm));
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
  conv2d_planned(x, w, torch::Tensor(), {1, 1, 1}, every_pass(ConvKernel::kGemm)).sum().backward();
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
    conv2d_planned(x, w, torch::Tensor(), {2, 1, 1}, every_pass(ConvKernel::kGemm)).square().sum().backward();
    grads.push_back(x.grad());
    grads.push_back(w.grad());
  }
  EXPECT_TRUE(torch::equal(grads[0], grads[2]));
  EXPECT_TRUE(torch::equal(grads[1], grads[3]));
}

TEST(GemmConvTest, OffersItsKernelsWhereTheyCompute) {
  using K = ConvKernel;
  using Kernels = std::vector<ConvKernel>;
  const torch::Tensor w = torch::randn({8, 8, 3, 3}).requires_grad_();
  auto kernels = [](const torch::Tensor& x, const torch::Tensor& w, at::IntArrayRef stride = {1, 1},
                    at::IntArrayRef padding = {1, 1}, at::IntArrayRef dilation = {1, 1}, int64_t groups = 1,
                    const torch::Tensor& bias = {}) {
    return conv_kernels(x, w, bias, stride, padding, dilation, groups);
  };
  // im2row + sgemm first on maps of up to 16 pixels, Winograd first on larger ones (F(2x2, 3x3), then
  // F(4x4, 3x3) on AVX-512 CPUs); sgemm up to 64 pixels.
  EXPECT_EQ(kernels(torch::randn({4, 8, 4, 4}), w), with_4x4({K::kLibTorch, K::kGemm, K::kWinograd}));
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), w), with_4x4({K::kLibTorch, K::kWinograd, K::kGemm}));
  EXPECT_EQ(kernels(torch::randn({4, 8, 9, 9}), w), with_4x4({K::kLibTorch, K::kWinograd}));
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), w, {2, 2}), (Kernels{K::kLibTorch, K::kGemm}));
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), w, {1, 1}, {0, 0}), (Kernels{K::kLibTorch, K::kGemm}));
  // No im2row where the lowered input would pass 64 MiB (16M floats): 512 channels at 4x4 and batch 512 are
  // 512 * 16 * 4608 = 37.7M floats.
  EXPECT_EQ(kernels(torch::randn({512, 512, 4, 4}), torch::randn({8, 512, 3, 3})),
            with_4x4({K::kLibTorch, K::kWinograd}));
  // A strided 1x1 kernel without padding: the subsampled copy; stride 1 or padding: LibTorch's.
  const torch::Tensor pointwise = torch::randn({8, 8, 1, 1});
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), pointwise, {2, 2}, {0, 0}), (Kernels{K::kLibTorch, K::kSubsampled}));
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), pointwise, {1, 1}, {0, 0}), Kernels{K::kLibTorch});
  EXPECT_EQ(kernels(torch::randn({4, 8, 8, 8}), pointwise, {2, 2}, {1, 1}), Kernels{K::kLibTorch});
  // Groups, dilation, unequal strides, another dtype, channels-last, autocast: LibTorch's only.
  const torch::Tensor x = torch::randn({4, 8, 4, 4});
  EXPECT_EQ(kernels(x, torch::randn({8, 4, 3, 3}), {1, 1}, {1, 1}, {1, 1}, 2), Kernels{K::kLibTorch});
  EXPECT_EQ(kernels(x, w, {1, 1}, {2, 2}, {2, 2}), Kernels{K::kLibTorch});
  EXPECT_EQ(kernels(x, w, {1, 2}), Kernels{K::kLibTorch});
  EXPECT_EQ(kernels(x.to(torch::kDouble), w.detach().to(torch::kDouble)), Kernels{K::kLibTorch});
  EXPECT_EQ(kernels(x.contiguous(torch::MemoryFormat::ChannelsLast), w), Kernels{K::kLibTorch});
  at::autocast::set_cpu_enabled(true);
  EXPECT_EQ(kernels(x, w), Kernels{K::kLibTorch});
  at::autocast::set_cpu_enabled(false);
  // Without autograd (evaluation) the forward kernels are offered too.
  torch::NoGradGuard no_grad;
  EXPECT_EQ(kernels(x, w.detach()), with_4x4({K::kLibTorch, K::kGemm, K::kWinograd}));
}

TEST(GemmConvTest, DirectIsOfferedWithoutAutogradOnFewInputChannelsAndMatchesConv2d) {
  using K = ConvKernel;
  torch::manual_seed(19);
  const torch::Tensor x = torch::randn({4, 1, 32, 32});
  const torch::Tensor w = torch::randn({16, 1, 3, 3}).requires_grad_();
  const torch::Tensor b = torch::randn({16});
  EXPECT_FALSE(offers(x, w, b, 1, 1, K::kDirect));  // training: it has no backward
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(offers(x, w, b, 1, 1, K::kDirect));
  EXPECT_FALSE(offers(x, w, b, 2, 1, K::kDirect));
  EXPECT_FALSE(offers(x, w, b, 1, 0, K::kDirect));
  EXPECT_FALSE(offers(torch::randn({4, 5, 8, 8}), torch::randn({16, 5, 3, 3}), b, 1, 1, K::kDirect));
  // The chess square classifier's first layer, and three channels at odd sides without a bias.
  ConvPlan plan;
  plan.forward = K::kDirect;
  const std::vector<Case> cases = {{64, 1, 16, 32, 32, 1, true}, {3, 3, 5, 7, 9, 1, false}, {2, 4, 8, 1, 1, 1, true}};
  for (const Case& c : cases) {
    const torch::Tensor xc = torch::randn({c.batch, c.in, c.height, c.width});
    const torch::Tensor wc = torch::randn({c.out, c.in, 3, 3});
    const torch::Tensor bc = c.bias ? torch::randn({c.out}) : torch::Tensor();
    ASSERT_TRUE(offers(xc, wc, bc, 1, 1, K::kDirect)) << describe(c);
    const torch::Tensor y = conv2d_planned(xc, wc, bc, {1, 1, 1}, plan);
    const torch::Tensor expected = torch::conv2d(xc, wc, bc, 1, 1);
    ASSERT_EQ(y.sizes(), expected.sizes()) << describe(c);
    EXPECT_LE(relative_to_max(y, expected), 1e-6) << describe(c);
  }
}

TEST(GemmConvTest, WinogradMatchesConv2d) {
  torch::manual_seed(17);
  // Even and odd sides (ResNet-18's 8x8 and 7x7), a map wider than high, channels off sgemm's tiles, a bias.
  const std::vector<Case> cases = {{2, 64, 64, 8, 8, 1, false}, {3, 64, 70, 7, 7, 1, true}, {2, 67, 64, 5, 9, 1, false},
                                   {2, 64, 32, 28, 28, 1, true}};
  for (const Case& c : cases) for (ConvKernel kernel : {ConvKernel::kWinograd, ConvKernel::kWinograd4x4}) {
    if (kernel == ConvKernel::kWinograd4x4 && !runs_4x4(c.height, c.width)) continue;
    SCOPED_TRACE(describe(c) + " by " + conv_kernel_name(kernel));
    const torch::Tensor x0 = torch::randn({c.batch, c.in, c.height, c.width});
    const torch::Tensor w0 = torch::randn({c.out, c.in, 3, 3}) * 0.05;
    const torch::Tensor b0 = c.bias ? torch::randn({c.out}) : torch::Tensor();
    // F(2x2, 3x3)'s transforms add and halve: ~2e-6 of the largest value from the direct sum at 256
    // channels; F(4x4, 3x3)'s multiply by up to 8 and divide by 24: ~1e-5.
    expect_same_as(
        x0, w0, b0,
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          EXPECT_TRUE(offers(x, w, b, 1, 1, kernel));
          return conv2d_planned(x, w, b, {1, 1, 1}, every_pass(kernel));
        },
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return torch::conv2d(x, w, b, 1, 1);
        },
        kernel == ConvKernel::kWinograd ? 5e-6 : 2e-5);
  }
}

// Each pass by another kernel: every combination of LibTorch's, im2row + sgemm
// and Winograd (both tiles where F(4x4, 3x3) runs) over the three passes gives
// conv2d's results.
TEST(GemmConvTest, EveryMixOfKernelsAcrossThePassesMatchesConv2d) {
  torch::manual_seed(19);
  const torch::Tensor x0 = torch::randn({3, 16, 4, 4}), w0 = torch::randn({8, 16, 3, 3}) * 0.2, b0 = torch::randn({8});
  const std::vector<ConvKernel> kinds = with_4x4({ConvKernel::kLibTorch, ConvKernel::kGemm, ConvKernel::kWinograd});
  for (ConvKernel forward : kinds) {
    for (ConvKernel grad_input : kinds) {
      for (ConvKernel grad_weight : kinds) {
        SCOPED_TRACE(std::string(conv_kernel_name(forward)) + "/" + conv_kernel_name(grad_input) + "/" +
                     conv_kernel_name(grad_weight));
        expect_same_as(
            x0, w0, b0,
            [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
              return conv2d_planned(x, w, b, {1, 1, 1}, {forward, grad_input, grad_weight});
            },
            [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
              return torch::conv2d(x, w, b, 1, 1);
            },
            forward == ConvKernel::kWinograd4x4 || grad_input == ConvKernel::kWinograd4x4 ||
                    grad_weight == ConvKernel::kWinograd4x4
                ? 1e-5
                : 2e-6);
      }
    }
  }
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
          EXPECT_TRUE(offers(x, w, b, c.stride, 0, ConvKernel::kSubsampled));
          return conv2d_planned(x, w, b, {c.stride, 0, 1}, every_pass(ConvKernel::kSubsampled));
        },
        [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
          return torch::conv2d(x, w, b, c.stride);
        });
  }
}

// Conv loads an nn::Conv2d's saved parameters; with --kernels libtorch it is
// nn::Conv2d bit for bit (output and every gradient), with wattlab it runs
// ours, and in auto mode it measures each pass once per shape, records the
// layer and keeps the choice.
TEST(GemmConvTest, ConvModuleLoadsConv2dStateAndRunsTheChosenKernels) {
  torch::manual_seed(5);
  nn::Conv2d plain(nn::Conv2dOptions(6, 10, 3).stride(1).padding(1).bias(true));
  std::stringstream saved;
  torch::save(plain, saved);
  Conv conv(nn::Conv2dOptions(6, 10, 3).stride(1).padding(1).bias(true));
  torch::load(conv, saved);
  EXPECT_TRUE(torch::equal(conv->weight, plain->weight));
  EXPECT_TRUE(torch::equal(conv->bias, plain->bias));
  EXPECT_EQ(conv->named_parameters().keys(), plain->named_parameters().keys());
  conv->set_kernel_layer("conv");

  const torch::Tensor x0 = torch::randn({2, 6, 4, 4});
  auto step = [&](auto& module) {
    const torch::Tensor x = x0.clone().requires_grad_();
    module->zero_grad();
    const torch::Tensor y = module->forward(x);
    (y * y).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), x.grad(), module->weight.grad().clone(), module->bias.grad().clone()};
  };
  const std::vector<torch::Tensor> expected = step(plain);
  {
    const ForcedKernels libtorch(KernelMode::kLibTorch);
    const std::vector<torch::Tensor> got = step(conv);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(torch::equal(got[i], expected[i])) << i;
    EXPECT_EQ(libtorch.chooser().layers().at(0).implementation, "libtorch");
  }
  {
    const ForcedKernels ours(KernelMode::kWattlab);
    const std::vector<torch::Tensor> got = step(conv);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_LE(relative_to_max(got[i], expected[i]), 1e-5) << i;
    ASSERT_EQ(ours.chooser().layers().size(), 3u);
    EXPECT_EQ(ours.chooser().layers().at(0).implementation, "gemm");
  }
  {
    const ForcedKernels measured(KernelMode::kAuto);
    step(conv);
    const KernelChooser& chooser = measured.chooser();
    ASSERT_EQ(chooser.layers().size(), 3u);
    const char* passes[] = {"forward", "input_grad", "weight_grad"};
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(chooser.layers()[i].layer, "conv");
      EXPECT_EQ(chooser.layers()[i].shape, "conv 6->10 k3x3 s1 p1 bias 2x4x4");
      EXPECT_EQ(chooser.layers()[i].pass, passes[i]);
    }
    const double measuring_s = chooser.measuring_s();
    EXPECT_GT(measuring_s, 0);
    const std::vector<torch::Tensor> again = step(conv);  // the same kernels, nothing measured
    EXPECT_EQ(chooser.measuring_s(), measuring_s);
    EXPECT_EQ(chooser.layers().size(), 3u);
    for (size_t i = 0; i < again.size(); ++i) EXPECT_LE(relative_to_max(again[i], expected[i]), 1e-5) << i;
  }
}

}  // namespace
}  // namespace wattlab::zoo
