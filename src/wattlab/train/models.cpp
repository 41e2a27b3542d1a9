#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>

#include "wattlab/train/models.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// max(1, round(channels * multiplier)).
int64_t scaled(int64_t channels, double multiplier) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * multiplier));
}

// conv 3x3 (32) → max-pool 2 → conv 3x3 (64) → max-pool 2 → fc 128 → fc classes,
// ReLU between; padding keeps each conv's size, so 28x28 → 14x14 → 7x7.
// The same network as bench/pytorch_cnn.py.
class SmallCnnImpl final : public ClassifierImpl {
 public:
  explicit SmallCnnImpl(const ModelShape& s)
      : conv1_(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(s.in_channels, scaled(32, s.width_multiplier), 3).padding(1)))),
        conv2_(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(scaled(32, s.width_multiplier), scaled(64, s.width_multiplier), 3).padding(1)))),
        fc1_(register_module("fc1", nn::Linear(scaled(64, s.width_multiplier) * (s.height / 4) * (s.width / 4), scaled(128, s.width_multiplier)))),
        fc2_(register_module("fc2", nn::Linear(scaled(128, s.width_multiplier), s.num_classes))) {}

  torch::Tensor forward(torch::Tensor x) override {
    x = F::max_pool2d(torch::relu(conv1_->forward(x)), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(torch::relu(conv2_->forward(x)), F::MaxPool2dFuncOptions(2));
    x = torch::relu(fc1_->forward(x.flatten(1)));
    return fc2_->forward(x);
  }

 private:
  nn::Conv2d conv1_;
  nn::Conv2d conv2_;
  nn::Linear fc1_;
  nn::Linear fc2_;
};

// Channel counts rounded to a multiple of 8, never more than 10 % below the
// request (torchvision's _make_divisible).
int64_t make_divisible(double value, int64_t divisor = 8) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * value) rounded += divisor;
  return rounded;
}

// conv (no bias) → batch norm → ReLU6. A module of its own, not an
// nn::Sequential, because a Sequential cannot hold another Sequential.
class ConvBnRelu6Impl : public nn::Module {
 public:
  ConvBnRelu6Impl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups = 1)
      : conv_(register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                     .stride(stride)
                                                     .padding((kernel - 1) / 2)
                                                     .groups(groups)
                                                     .bias(false)))),
        bn_(register_module("bn", nn::BatchNorm2d(out))) {}

  torch::Tensor forward(torch::Tensor x) { return torch::clamp(bn_->forward(conv_->forward(x)), 0, 6); }

 private:
  nn::Conv2d conv_;
  nn::BatchNorm2d bn_;
};
TORCH_MODULE(ConvBnRelu6);

// MobileNetV2's block: 1x1 expansion, 3x3 depthwise, linear 1x1 projection, and
// a residual connection when the shape is unchanged.
class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
      : residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expand_ratio;
    nn::Sequential layers;
    if (expand_ratio != 1) layers->push_back(ConvBnRelu6(in, hidden, 1, 1));
    layers->push_back(ConvBnRelu6(hidden, hidden, 3, stride, hidden));
    layers->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));
    layers->push_back(nn::BatchNorm2d(out));
    layers_ = register_module("conv", layers);
  }

  torch::Tensor forward(torch::Tensor x) {
    return residual_ ? x + layers_->forward(x) : layers_->forward(x);
  }

 private:
  bool residual_;
  nn::Sequential layers_;
};
TORCH_MODULE(InvertedResidual);

// MobileNetV2 (Sandler et al. 2018) for small images: the stem and the first
// stride-2 stage run at stride 1, so 28x28 inputs are downsampled 8x (to 4x4)
// instead of 32x (to 1x1); the block table is otherwise torchvision's.
class MobileNetV2Impl final : public ClassifierImpl {
 public:
  explicit MobileNetV2Impl(const ModelShape& s) {
    struct Stage { int64_t expand, channels, repeats, stride; };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 1 /* 2 at 224x224 */}, {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    const double w = s.width_multiplier;
    int64_t channels = make_divisible(32 * w);
    const int64_t last_channels = make_divisible(1280 * std::max(1.0, w));
    nn::Sequential features;
    features->push_back(ConvBnRelu6(s.in_channels, channels, 3, 1 /* 2 at 224x224 */));
    for (const Stage& stage : stages) {
      const int64_t out = make_divisible(stage.channels * w);
      for (int64_t i = 0; i < stage.repeats; ++i) {
        features->push_back(InvertedResidual(channels, out, i == 0 ? stage.stride : 1, stage.expand));
        channels = out;
      }
    }
    features->push_back(ConvBnRelu6(channels, last_channels, 1, 1));
    features_ = register_module("features", features);
    classifier_ = register_module("classifier", nn::Sequential(nn::Dropout(0.2), nn::Linear(last_channels, s.num_classes)));
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = features_->forward(x);
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return classifier_->forward(x);
  }

 private:
  nn::Sequential features_;
  nn::Sequential classifier_;
};

}  // namespace

std::vector<std::string> model_names() { return {"cnn", "mobilenet_v2"}; }

Status check_model_name(const std::string& name) {
  std::string known;
  for (const std::string& n : model_names()) {
    if (n == name) return Status();
    known += (known.empty() ? "" : ", ") + n;
  }
  return Status::invalid_argument("--model: unknown model \"" + name + "\" (known: " + known + ")");
}

Result<std::shared_ptr<ClassifierImpl>> make_model(const std::string& name, const ModelShape& shape) {
  WATTLAB_RETURN_IF_ERROR(check_model_name(name));
  if (shape.in_channels < 1 || shape.height < 4 || shape.width < 4 || shape.num_classes < 1) {
    return Status::invalid_argument("model " + name + ": cannot take " + std::to_string(shape.in_channels) + "x" +
                                    std::to_string(shape.height) + "x" + std::to_string(shape.width) +
                                    " images into " + std::to_string(shape.num_classes) + " classes");
  }
  if (!(shape.width_multiplier > 0) || !std::isfinite(shape.width_multiplier)) {
    return Status::invalid_argument("--width-multiplier must be positive (got " +
                                    std::to_string(shape.width_multiplier) + ")");
  }
  try {
    if (name == "cnn") return std::shared_ptr<ClassifierImpl>(std::make_shared<SmallCnnImpl>(shape));
    return std::shared_ptr<ClassifierImpl>(std::make_shared<MobileNetV2Impl>(shape));
  } catch (const c10::Error& e) {
    return Status::internal("building model " + name + ": " + e.what_without_backtrace());
  }
}

int64_t parameter_count(const torch::nn::Module& model) {
  int64_t count = 0;
  for (const torch::Tensor& p : model.parameters()) count += p.numel();
  return count;
}

}  // namespace wattlab
