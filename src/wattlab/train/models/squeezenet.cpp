// SqueezeNet 1.1 (Iandola et al. 2016; the 1.1 revision from the authors'
// repository), torchvision's layout.
#include "wattlab/train/models/layers.h"

#include <torch/nn/modules/container/functional.h>

namespace wattlab::zoo {
namespace {

// squeeze 1x1 → ReLU → (expand 1x1 ‖ expand 3x3) → ReLU, concatenated.
class FireImpl : public nn::Module {
 public:
  FireImpl(ShapeTrace& t, int64_t in, int64_t squeeze, int64_t expand)
      : squeeze_(register_module("squeeze", traced_conv(t, in, squeeze, 1, 1, 1, true))),
        expand1x1_(register_module("expand1x1", traced_conv(t, squeeze, expand, 1, 1, 1, true))),
        expand3x3_(register_module("expand3x3", traced_conv(t, squeeze, expand, 3, 1, 1, true))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(squeeze_->forward(x));
    return torch::cat({torch::relu(expand1x1_->forward(x)), torch::relu(expand3x3_->forward(x))}, 1);
  }

 private:
  Conv squeeze_;
  Conv expand1x1_;
  Conv expand3x3_;
};
TORCH_MODULE(Fire);

// 3x3/2 conv (64, no padding) → 3x3/2 max-pool → 2 fire → max-pool → 2 fire
// → max-pool → 4 fire → dropout 0.5 → 1x1 conv (classes) → ReLU → global
// average pool. Four stride-2 steps: the stem conv and the three max-pools
// (ceil mode); a dropped pool is left out.
class SqueezeNet11Impl final : public ClassifierImpl {
 public:
  explicit SqueezeNet11Impl(const ModelShape& s) {
    const double w = s.width_multiplier;
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 4);
    nn::Sequential features;
    features->push_back(traced_conv(t, s.in_channels, scaled(64, w), 3, plan.next_stride(), 1, true, /*padding=*/0));
    features->push_back(nn::Functional([](torch::Tensor x) { return torch::relu(x); }));
    int64_t channels = scaled(64, w);
    // Fire modules (squeeze, expand) between the pools.
    const std::vector<std::vector<std::pair<int64_t, int64_t>>> groups = {
        {{16, 64}, {16, 64}}, {{32, 128}, {32, 128}}, {{48, 192}, {48, 192}, {64, 256}, {64, 256}}};
    for (const auto& fires : groups) {
      if (plan.next_stride() == 2) {
        t.window(3, 2, 0, /*ceil_mode=*/true);
        features->push_back(nn::Functional([](torch::Tensor x) {
          return F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).ceil_mode(true));
        }));
      }
      for (const auto& [squeeze, expand] : fires) {
        features->push_back(Fire(t, channels, scaled(squeeze, w), scaled(expand, w)));
        channels = 2 * scaled(expand, w);
      }
    }
    features_ = register_module("features", features);
    dropout_ = register_module("dropout", nn::Dropout(0.5));
    classifier_ = register_module("classifier", traced_conv(t, channels, s.num_classes, 1, 1, 1, true));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = classifier_->forward(dropout_->forward(features_->forward(x)));
    return global_average_pool(torch::relu(x));
  }

 private:
  nn::Sequential features_{nullptr};
  nn::Dropout dropout_{nullptr};
  Conv classifier_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_squeezenet1_1(const ModelShape& shape) {
  return std::make_shared<SqueezeNet11Impl>(shape);
}

}  // namespace wattlab::zoo
