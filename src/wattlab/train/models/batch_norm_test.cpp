// zoo::BatchNorm against LibTorch's batch norm (nn::BatchNorm2d, then ReLU or
// ReLU6): outputs, running statistics and gradients in training and eval, the
// clamp edges, the paths it leaves to LibTorch, and checkpoint compatibility.
#include "wattlab/train/models/batch_norm.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/activation.h>
#include <torch/serialize.h>

#include <sstream>
#include <string>
#include <vector>

#include "wattlab/train/models/kernel_testing.h"
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

// max |actual - expected| <= tolerance * max |expected| (plus a floor for
// all-zero tensors unless the tolerance is 0), and no NaN (an unwritten
// output: see kernel_testing.h).
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what,
                  double tolerance = 1e-5) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  ASSERT_EQ(actual.scalar_type(), expected.scalar_type()) << what;
  ASSERT_TRUE(torch::isfinite(actual).all().item<bool>()) << what << " holds NaN or infinity";
  const double scale = expected.abs().max().item<double>();
  const double error = (actual - expected).abs().max().item<double>();
  // A tolerance of 0 asks for LibTorch's bits.
  EXPECT_LE(error, tolerance * scale + (tolerance > 0 ? 1e-7 : 0.0))
      << what << ": max error " << error << " at scale " << scale;
}

std::string activation_name(Activation a) {
  return a == Activation::kRelu ? "relu" : a == Activation::kRelu6 ? "relu6" : "none";
}

torch::Tensor reference_activation(const torch::Tensor& y, Activation a) {
  if (a == Activation::kRelu) return torch::relu(y);
  if (a == Activation::kRelu6) return torch::hardtanh(y, 0, 6);
  return y;
}

// A zoo::BatchNorm and an nn::BatchNorm2d with the same (non-default) weight,
// bias and running statistics.
struct Pair {
  BatchNorm ours{nullptr};
  torch::nn::BatchNorm2d reference{nullptr};
};

Pair make_pair(int64_t channels, Activation fused) {
  Pair p{BatchNorm(channels, fused), torch::nn::BatchNorm2d(channels)};
  torch::NoGradGuard no_grad;
  const torch::Tensor weight = torch::rand({channels}) + 0.5;
  const torch::Tensor bias = torch::randn({channels}) * 0.5;
  const torch::Tensor mean = torch::randn({channels}) * 0.2;
  const torch::Tensor var = torch::rand({channels}) + 0.5;
  for (auto* m : std::vector<torch::nn::BatchNorm2dImpl*>{p.ours.get(), p.reference.get()}) {
    m->weight.copy_(weight);
    m->bias.copy_(bias);
    m->running_mean.copy_(mean);
    m->running_var.copy_(var);
  }
  return p;
}

// One step of both on `x` (values scaled so ReLU6 clamps at both ends):
// outputs, gradients of sum(y * upstream) wrt x, weight and bias, and the
// running statistics afterwards must agree.
void expect_same_step(Pair& p, const torch::Tensor& input, Activation fused, const std::string& what,
                      double tolerance = 1e-5) {
  const torch::Tensor x = input.detach().clone().requires_grad_(true);
  const torch::Tensor x_ref = input.detach().clone().requires_grad_(true);
  const torch::Tensor y = p.ours->forward(x);
  const torch::Tensor y_ref = reference_activation(p.reference->forward(x_ref), fused);
  expect_close(y, y_ref, what + " output", tolerance);
  const torch::Tensor upstream = torch::randn(y.sizes());
  (y * upstream).sum().backward();
  (y_ref * upstream).sum().backward();
  expect_close(x.grad(), x_ref.grad(), what + " grad x", tolerance);
  expect_close(p.ours->weight.grad(), p.reference->weight.grad(), what + " grad weight", tolerance);
  expect_close(p.ours->bias.grad(), p.reference->bias.grad(), what + " grad bias", tolerance);
  expect_close(p.ours->running_mean, p.reference->running_mean, what + " running_mean", tolerance);
  expect_close(p.ours->running_var, p.reference->running_var, what + " running_var", tolerance);
  EXPECT_EQ(p.ours->num_batches_tracked.item<int64_t>(), p.reference->num_batches_tracked.item<int64_t>()) << what;
  p.ours->zero_grad();
  p.reference->zero_grad();
}

TEST(BatchNormTest, MatchesLibTorchInTrainingAndEvalForEveryShapeAndActivation) {
  const ForcedKernels ours(KernelMode::kWattlab);
  torch::manual_seed(7);
  const std::vector<std::vector<int64_t>> shapes = {{4, 1, 4, 4},  {2, 3, 7, 7},   {8, 16, 1, 1}, {1, 5, 4, 4},
                                                    {2, 6, 28, 28}, {3, 8, 14, 14}, {16, 32, 4, 4}};
  for (Activation fused : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    for (const auto& shape : shapes) {
      std::string what = activation_name(fused) + " [";
      for (int64_t d : shape) what += std::to_string(d) + ",";
      what.back() = ']';
      Pair p = make_pair(shape[1], fused);
      for (int step = 0; step < 2; ++step) {  // the running statistics move twice
        expect_same_step(p, torch::randn(shape) * 3 + 1, fused, what + " train step " + std::to_string(step));
      }
      EXPECT_EQ(p.ours->num_batches_tracked.item<int64_t>(), 2) << what;
      p.ours->eval();
      p.reference->eval();
      expect_same_step(p, torch::randn(shape) * 3 + 1, fused, what + " eval");
    }
  }
}

TEST(BatchNormTest, NoGradAndInferenceModeGiveTheSameOutputsAndStatistics) {
  const ForcedKernels ours(KernelMode::kWattlab);
  torch::manual_seed(8);
  Pair p = make_pair(12, Activation::kRelu6);
  const torch::Tensor x = torch::randn({6, 12, 9, 9}) * 4;
  {
    torch::NoGradGuard no_grad;  // training without autograd still updates the running statistics
    expect_close(p.ours->forward(x), torch::hardtanh(p.reference->forward(x), 0, 6), "no-grad training");
    expect_close(p.ours->running_var, p.reference->running_var, "no-grad running_var");
  }
  p.ours->eval();
  p.reference->eval();
  c10::InferenceMode inference;
  expect_close(p.ours->forward(x), torch::hardtanh(p.reference->forward(x), 0, 6), "inference mode");
}

// Channels whose values are symmetric about 0, and multiples of 1/4 that
// float adds exactly in any order, have mean exactly 0, so the
// pre-activation output at x = 0 is exactly the bias: 0 for ReLU and ReLU6's
// lower edge, 6 for ReLU6's upper one. The gradient must stop there as
// LibTorch's (threshold_backward, hardtanh_backward) does.
TEST(BatchNormTest, ValuesExactlyAtTheClampEdgesGetLibTorchsGradient) {
  const ForcedKernels ours(KernelMode::kWattlab);
  torch::manual_seed(9);
  const torch::Tensor half = torch::randint(-12, 13, {2, 3, 3, 4}).to(torch::kFloat) * 0.25;
  torch::Tensor x = torch::cat({half, -half, torch::zeros({2, 3, 3, 4})}, 0);  // [6, 3, 3, 4]
  for (Activation fused : {Activation::kRelu, Activation::kRelu6}) {
    for (float edge : {0.f, 6.f}) {
      if (fused == Activation::kRelu && edge == 6.f) continue;
      Pair p = make_pair(3, fused);
      {
        torch::NoGradGuard no_grad;
        p.ours->bias.fill_(edge);
        p.reference->bias.fill_(edge);
      }
      const std::string what = activation_name(fused) + " at " + std::to_string(edge);
      const torch::Tensor probe = p.ours->forward(x.detach());
      ASSERT_TRUE(torch::equal(probe.narrow(0, 4, 2), torch::full({2, 3, 3, 4}, edge))) << what;
      p = make_pair(3, fused);
      {
        torch::NoGradGuard no_grad;
        p.ours->bias.fill_(edge);
        p.reference->bias.fill_(edge);
      }
      expect_same_step(p, x, fused, what);
    }
  }
}

// With --kernels libtorch, zoo::BatchNorm is nn::BatchNorm2d and the
// activation bit for bit: outputs, gradients and running statistics.
TEST(BatchNormTest, LibTorchKernelsAreBatchNorm2dBitForBit) {
  torch::manual_seed(13);
  const ForcedKernels libtorch(KernelMode::kLibTorch);
  for (Activation fused : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    Pair p = make_pair(16, fused);
    for (int step = 0; step < 2; ++step) {
      expect_same_step(p, torch::randn({8, 16, 7, 7}) * 3 + 1, fused, activation_name(fused) + " train", 0);
    }
    p.ours->eval();
    p.reference->eval();
    expect_same_step(p, torch::randn({8, 16, 7, 7}) * 3 + 1, fused, activation_name(fused) + " eval", 0);
  }
}

// The forward by one kernel and the backward by the other (as measurement may
// pick them): LibTorch's results either way, the running statistics included.
TEST(BatchNormTest, EitherKernelForEachPassMatchesLibTorch) {
  torch::manual_seed(14);
  for (const bool own_forward : {true, false}) {
    const std::string shape = "batchnorm+relu6 4x6x5x5 train|";
    const ForcedKernels mixed(KernelMode::kAuto, {{shape + "forward", own_forward ? "wattlab" : "libtorch"},
                                                  {shape + "backward", own_forward ? "libtorch" : "wattlab"}});
    Pair p = make_pair(6, Activation::kRelu6);
    for (int step = 0; step < 2; ++step) {
      expect_same_step(p, torch::randn({4, 6, 5, 5}) * 3 + 1, Activation::kRelu6,
                       std::string(own_forward ? "own forward" : "own backward") + " step " + std::to_string(step));
    }
    ASSERT_EQ(mixed.chooser().layers().size(), 2u);
    EXPECT_EQ(mixed.chooser().layers()[0].implementation, own_forward ? "wattlab" : "libtorch");
    EXPECT_EQ(mixed.chooser().layers()[1].implementation, own_forward ? "libtorch" : "wattlab");
    EXPECT_EQ(mixed.chooser().layers()[1].source, "checkpoint");
  }
}

// In auto mode each pass is measured once per shape and recorded for the layer.
TEST(BatchNormTest, AutoModeMeasuresEachPassOncePerShape) {
  torch::manual_seed(15);
  const ForcedKernels measured(KernelMode::kAuto);
  BatchNorm bn(8, Activation::kRelu);
  bn->set_kernel_layer("features.1.bn");
  for (int step = 0; step < 2; ++step) {
    const torch::Tensor x = torch::randn({4, 8, 6, 6}).requires_grad_();
    bn->forward(x).sum().backward();
  }
  const std::vector<LayerKernel>& layers = measured.chooser().layers();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].layer, "features.1.bn");
  EXPECT_EQ(layers[0].shape, "batchnorm+relu 4x8x6x6 train");
  EXPECT_EQ(layers[0].pass, "forward");
  EXPECT_EQ(layers[1].pass, "backward");
  EXPECT_EQ(layers[0].source, "measured");
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);  // measuring did not count as a step
}

TEST(BatchNormTest, ChannelsLastAndDoubleInputsTakeLibTorchsPath) {
  torch::manual_seed(10);
  Pair p = make_pair(8, Activation::kRelu);
  expect_same_step(p, (torch::randn({4, 8, 6, 6}) * 2).contiguous(torch::MemoryFormat::ChannelsLast),
                   Activation::kRelu, "channels-last");
  const torch::Tensor x = torch::randn({4, 8, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(p.ours->forward(x).is_contiguous(torch::MemoryFormat::ChannelsLast));

  Pair d = make_pair(5, Activation::kRelu6);
  d.ours->to(torch::kDouble);
  d.reference->to(torch::kDouble);
  expect_same_step(d, torch::randn({3, 5, 4, 4}, torch::kDouble) * 4, Activation::kRelu6, "double", 1e-12);
}

TEST(BatchNormTest, OneValuePerChannelInTrainingIsLibTorchsError) {
  BatchNorm bn(4, Activation::kRelu);
  try {
    bn->forward(torch::randn({1, 4, 1, 1}));
    FAIL() << "a training batch of one 1x1 sample was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Expected more than 1 value per channel when training"), std::string::npos)
        << e.what();
  }
  bn->eval();
  EXPECT_EQ(bn->forward(torch::randn({1, 4, 1, 1})).sizes(), (std::vector<int64_t>{1, 4, 1, 1}));
}

TEST(BatchNormTest, OnlyReluAndRelu6CanBeFused) {
  EXPECT_THROW(BatchNorm(4, Activation::kSilu), std::invalid_argument);
  EXPECT_THROW(BatchNorm(4, Activation::kHardswish), std::invalid_argument);
}

// Resume is bit-identical only if every step is: same bits on every run and
// for any number of threads.
TEST(BatchNormTest, ResultsAreTheSameBitsForOneAndTwoThreads) {
  const ForcedKernels ours(KernelMode::kWattlab);
  const int threads = at::get_num_threads();
  torch::manual_seed(11);
  const torch::Tensor input = torch::randn({8, 64, 14, 14}) * 2;
  const torch::Tensor upstream = torch::randn({8, 64, 14, 14});
  std::vector<std::vector<torch::Tensor>> runs;
  for (int t : {1, 2, 1}) {
    at::set_num_threads(t);
    BatchNorm bn(64, Activation::kRelu6);
    const torch::Tensor x = input.clone().requires_grad_(true);
    torch::Tensor y = bn->forward(x);
    (y * upstream).sum().backward();
    runs.push_back({y, x.grad(), bn->weight.grad(), bn->bias.grad(), bn->running_mean, bn->running_var});
  }
  at::set_num_threads(threads);
  for (size_t run = 1; run < runs.size(); ++run) {
    for (size_t i = 0; i < runs[0].size(); ++i) {
      EXPECT_TRUE(torch::equal(runs[run][i], runs[0][i])) << "run " << run << " tensor " << i;
    }
  }
}

// Checkpoints and saved models written with nn::BatchNorm2d load into
// zoo::BatchNorm and back: same names, same tensors.
TEST(BatchNormTest, StateSavedByBatchNorm2dLoadsAndRoundTrips) {
  torch::manual_seed(12);
  Pair p = make_pair(6, Activation::kRelu);
  {
    torch::NoGradGuard no_grad;
    p.reference->num_batches_tracked.fill_(17);
  }
  std::stringstream saved;
  torch::save(p.reference, saved);
  BatchNorm loaded(6, Activation::kRelu);
  torch::load(loaded, saved);
  const auto expected = p.reference->named_parameters();
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), expected[item.key()])) << item.key();
  }
  std::vector<std::string> names;
  const auto expected_buffers = p.reference->named_buffers();
  for (const auto& item : loaded->named_buffers()) {
    names.push_back(item.key());
    EXPECT_TRUE(torch::equal(item.value(), expected_buffers[item.key()])) << item.key();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));

  std::stringstream back;
  torch::save(loaded, back);
  torch::nn::BatchNorm2d reloaded(6);
  torch::load(reloaded, back);
  EXPECT_EQ(reloaded->num_batches_tracked.item<int64_t>(), 17);
  EXPECT_TRUE(torch::equal(reloaded->running_var, p.reference->running_var));
}

}  // namespace
}  // namespace wattlab::zoo
