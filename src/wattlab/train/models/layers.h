// Building blocks shared by the zoo's families (models/<family>.cpp), and the
// families' factories that models.cpp dispatches to. Internal to train/.
//
// MACs are counted while a model is built: every convolution and linear layer
// is created through traced_conv / traced_linear, which take the same kernel,
// stride and padding as the module they return, move a ShapeTrace through that
// window and add the layer's MACs. A model's trace therefore follows exactly
// the shapes its forward() will see, without running it.
#pragma once

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "wattlab/train/models.h"
#include "wattlab/train/models/batch_norm.h"
#include "wattlab/train/models/conv_dispatch.h"
#include "wattlab/train/models_torch.h"

namespace wattlab::zoo {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// The feature-map size at one point of a model being built, and the MACs of
// the layers built so far. Copies share the MAC counter, so a branch (a
// residual shortcut, a squeeze-excitation) traces its own size into the same total.
class ShapeTrace {
 public:
  ShapeTrace(int64_t height, int64_t width, int64_t* macs) : height_(height), width_(width), macs_(macs) {}

  int64_t height() const { return height_; }
  int64_t width() const { return width_; }

  // Moves through a convolution or pooling window (PyTorch's output-size
  // formula, ceil_mode included). Throws std::invalid_argument when the map
  // would fall below 1x1: the input is too small for the model.
  void window(int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode = false) {
    height_ = window_output(height_, kernel, stride, padding, ceil_mode);
    width_ = window_output(width_, kernel, stride, padding, ceil_mode);
  }
  // Adaptive pooling: the map becomes side x side, whatever its size.
  void adaptive_pool(int64_t side) {
    height_ = side;
    width_ = side;
  }
  void add_macs(int64_t macs) { *macs_ += macs; }

 private:
  static int64_t window_output(int64_t size, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode) {
    const int64_t span = size + 2 * padding - kernel;
    if (span < 0) {
      throw std::invalid_argument("a feature map of " + std::to_string(size) + " pixels is smaller than a " +
                                  std::to_string(kernel) + "x" + std::to_string(kernel) + " window");
    }
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + padding) --out;  // the last window must start inside
    return out;
  }

  int64_t height_;  // of the feature map at this point
  int64_t width_;
  int64_t* macs_;   // the model's running total, owned by the model's constructor
};

// Which of a family's stride-2 steps run at stride 2 for a given input (the
// rule in models.h): of `steps` steps, the last n are kept, n the largest with
// floor(min(height, width) / 2^n) >= 3. Ask next_stride() once per step, in
// order from the input.
class DownsamplePlan {
 public:
  DownsamplePlan(const ModelShape& shape, int steps) {
    const int64_t side = std::min(shape.height, shape.width);
    int kept = 0;
    while (kept < steps && (side >> (kept + 1)) >= 3) ++kept;
    dropped_ = steps - kept;
  }
  // 1 for the first dropped steps, 2 afterwards.
  int64_t next_stride() { return taken_++ < dropped_ ? 1 : 2; }

 private:
  int dropped_ = 0;  // leading steps that run at stride 1
  int taken_ = 0;    // steps asked for so far
};

// max(1, round(channels * multiplier)): width scaling for the families that
// torchvision does not round to multiples of 8.
inline int64_t scaled(int64_t channels, double multiplier) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * multiplier));
}

// Channel counts rounded to a multiple of 8, never more than 10 % below the
// request (torchvision's _make_divisible).
inline int64_t make_divisible(double value, int64_t divisor = 8) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * value) rounded += divisor;
  return rounded;
}

// nn::Conv2d (same options, same parameters "weight" and "bias", so state
// dicts and checkpoints load either way) whose forward runs each pass by the
// kernel chosen for its shape (conv_dispatch.h): LibTorch's, or ours where one
// computes the same convolution (depthwise 3x3 and 5x5, Winograd for stride-1
// 3x3, im2row + sgemm for 3x3 on small maps, strided 1x1 shortcuts on a
// subsampled copy). When every pass it needs chose LibTorch's, or nothing else
// applies, it is nn::Conv2d's own forward, bit for bit.
class ConvImpl : public nn::Conv2dImpl {
 public:
  using nn::Conv2dImpl::Conv2dImpl;

  // The layer's name in the kernel chooser's records (name_kernel_layers).
  void set_kernel_layer(std::string name) { kernel_layer_ = std::move(name); }

  torch::Tensor forward(const torch::Tensor& x) {
    // Conv options hold c10::variant in LibTorch 1.x, std::variant from 2.0.
#if TORCH_VERSION_MAJOR >= 2
    using std::get_if;
#else
    using c10::get_if;
#endif
    const auto* padding = get_if<torch::ExpandingArray<2>>(&options.padding());
    if (padding != nullptr && get_if<torch::enumtype::kZeros>(&options.padding_mode()) != nullptr) {
      const std::vector<ConvKernel> kernels =
          conv_kernels(x, weight, bias, options.stride(), *padding, options.dilation(), options.groups());
      const ConvSettings settings{options.stride()->at(0), (*padding)->at(0), options.groups()};
      // What the plan depends on besides x's sizes: the passes autograd will need, and what applies.
      const uint32_t flags = (torch::GradMode::is_enabled() ? 1u : 0u) | (x.requires_grad() ? 2u : 0u) |
                             (weight.requires_grad() ? 4u : 0u) | static_cast<uint32_t>(kernels.size() << 3);
      const ConvPlan* plan = memo_.find(x, flags);
      if (plan == nullptr) {
        plan = &memo_.remember(x, flags, choose_conv_plan(kernel_layer_, x, weight, bias, settings, kernels));
      }
      if (!plan->all_libtorch()) return conv2d_planned(x, weight, bias, settings, *plan);
    }
    return nn::Conv2dImpl::forward(x);
  }

 private:
  std::string kernel_layer_;  // "" until named
  PlanMemo<ConvPlan> memo_;   // the plan for the last input
};
TORCH_MODULE(Conv);

// A convolution whose MACs (out_h*out_w*out*(in/groups)*k*k) are added to the
// trace, which moves to the output size. padding -1 means (kernel-1)/2 ("same" at stride 1).
inline Conv traced_conv(ShapeTrace& trace, int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                              int64_t groups = 1, bool bias = false, int64_t padding = -1) {
  if (padding < 0) padding = (kernel - 1) / 2;
  trace.window(kernel, stride, padding);
  trace.add_macs(trace.height() * trace.width() * out * (in / groups) * kernel * kernel);
  return Conv(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups).bias(bias));
}

// nn::Linear (same parameters, "weight" [out, in] and "bias") whose forward
// runs [N, in] inputs as a 1x1 convolution of an [N, in, 1, 1] map: LibTorch
// sends convolutions to oneDNN, nn::Linear's matmul to the system BLAS, which
// on Debian is the reference BLAS, several times slower (the small CNN trained
// 1.5x faster). Batches under 16 go to LibTorch's own 1x1 convolution (BLAS
// again, as nn::Linear).
class DenseImpl : public nn::LinearImpl {
 public:
  using nn::LinearImpl::LinearImpl;

  torch::Tensor forward(const torch::Tensor& x) {
    if (x.dim() != 2) return nn::LinearImpl::forward(x);
    const int64_t in = weight.size(1), out = weight.size(0);
    return torch::conv2d(x.reshape({x.size(0), in, 1, 1}), weight.view({out, in, 1, 1}), bias)
        .reshape({x.size(0), out});
  }
};
TORCH_MODULE(Dense);

// A fully connected layer on a flattened input; adds in*out MACs.
inline Dense traced_linear(ShapeTrace& trace, int64_t in, int64_t out) {
  trace.add_macs(in * out);
  return Dense(in, out);
}

enum class Activation { kNone, kRelu, kRelu6, kHardswish, kSilu, kSigmoid, kHardsigmoid };

inline torch::Tensor activate(const torch::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::kNone: return x;
    case Activation::kRelu: return torch::relu(x);
    case Activation::kRelu6: return torch::hardtanh(x, 0, 6);  // torchvision's ReLU6
    case Activation::kHardswish: return torch::hardswish(x);
    case Activation::kSilu: return torch::silu(x);
    case Activation::kSigmoid: return torch::sigmoid(x);
    case Activation::kHardsigmoid: return torch::hardsigmoid(x);
  }
  return x;
}

// conv (no bias) → batch norm → activation, padding (kernel-1)/2. A module of
// its own, not an nn::Sequential, because a Sequential cannot hold another Sequential.
class ConvBnActImpl : public nn::Module {
 public:
  ConvBnActImpl(ShapeTrace& trace, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                Activation activation)
      : conv_(register_module("conv", traced_conv(trace, in, out, kernel, stride, groups))),
        bn_(register_module("bn", BatchNorm(out, fusable(activation) ? activation : Activation::kNone))),
        after_bn_(fusable(activation) ? Activation::kNone : activation) {}

  torch::Tensor forward(torch::Tensor x) { return activate(bn_->forward(conv_->forward(x)), after_bn_); }

 private:
  // ReLU and ReLU6 run inside the batch norm (zoo::BatchNorm fuses them).
  static bool fusable(Activation activation) {
    return activation == Activation::kRelu || activation == Activation::kRelu6;
  }

  Conv conv_;
  BatchNorm bn_;
  Activation after_bn_;  // the activation when the batch norm could not take it
};
TORCH_MODULE(ConvBnAct);

// Squeeze-and-excitation (Hu et al. 2018; torchvision's SqueezeExcitation):
// global average pool → 1x1 conv to `squeeze` → activation → 1x1 conv back →
// gate → scales the input's channels. Its convs run on a 1x1 map.
class SqueezeExcitationImpl : public nn::Module {
 public:
  SqueezeExcitationImpl(const ShapeTrace& trace, int64_t channels, int64_t squeeze, Activation activation,
                        Activation gate)
      : activation_(activation), gate_(gate) {
    ShapeTrace pooled = trace;
    pooled.adaptive_pool(1);
    fc1_ = register_module("fc1", traced_conv(pooled, channels, squeeze, 1, 1, 1, /*bias=*/true));
    fc2_ = register_module("fc2", traced_conv(pooled, squeeze, channels, 1, 1, 1, /*bias=*/true));
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor scale = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1));
    scale = activate(fc2_->forward(activate(fc1_->forward(scale), activation_)), gate_);
    return x * scale;
  }

 private:
  Conv fc1_{nullptr};
  Conv fc2_{nullptr};
  Activation activation_;  // after the squeeze
  Activation gate_;        // makes the channel scales
};
TORCH_MODULE(SqueezeExcitation);

// Global average pool to [N, C].
inline torch::Tensor global_average_pool(const torch::Tensor& x) {
  return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
}

// The families, one file each. Each throws std::invalid_argument (too small
// an input) or c10::Error; make_model turns both into a Status.
std::shared_ptr<ClassifierImpl> make_small_cnn(const ModelShape& shape);                    // lenet.cpp
std::shared_ptr<ClassifierImpl> make_lenet5(const ModelShape& shape);                       // lenet.cpp
std::shared_ptr<ClassifierImpl> make_resnet(int depth, const ModelShape& shape);            // resnet.cpp: 18, 34, 50
std::shared_ptr<ClassifierImpl> make_mobilenet_v2(const ModelShape& shape);                 // mobilenet.cpp
std::shared_ptr<ClassifierImpl> make_mobilenet_v3(bool large, const ModelShape& shape);     // mobilenet.cpp
std::shared_ptr<ClassifierImpl> make_vgg(int depth, bool batch_norm, const ModelShape& shape);  // vgg.cpp: 11, 16
std::shared_ptr<ClassifierImpl> make_efficientnet_b0(const ModelShape& shape);              // efficientnet.cpp
std::shared_ptr<ClassifierImpl> make_densenet121(const ModelShape& shape);                  // densenet.cpp
std::shared_ptr<ClassifierImpl> make_squeezenet1_1(const ModelShape& shape);                // squeezenet.cpp

}  // namespace wattlab::zoo
