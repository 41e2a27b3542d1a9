// VGG-11 and VGG-16 (Simonyan & Zisserman 2015), with or without batch norm,
// torchvision's layout.
#include "wattlab/train/models/layers.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

namespace wattlab::zoo {
namespace {

// 3x3 convs (ReLU, batch norm optional) in five stages separated by 2x2
// max-pools → adaptive average pool → fc 4096 → fc 4096 → fc classes (ReLU and
// dropout 0.5 between). The five max-pools are the stride-2 steps; a dropped
// one is left out. The adaptive pool goes to 7x7 (ImageNet's size), or to the
// last map's own size where that is smaller, so small inputs are not blown up
// into a 25088-wide classifier input.
class VggImpl final : public ClassifierImpl {
 public:
  VggImpl(int depth, bool batch_norm, const ModelShape& s) {
    constexpr int64_t kPool = 0;
    const std::vector<int64_t> vgg11 = {64, kPool, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool};
    const std::vector<int64_t> vgg16 = {64,  64,  kPool, 128, 128, kPool, 256, 256, 256, kPool,
                                        512, 512, 512,   kPool, 512, 512, 512, kPool};
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    const double w = s.width_multiplier;
    int64_t channels = s.in_channels;
    nn::Sequential features;
    for (int64_t layer : depth == 11 ? vgg11 : vgg16) {
      if (layer == kPool) {
        if (plan.next_stride() == 2) {
          t.window(2, 2, 0);
          features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
        }
        continue;
      }
      const int64_t out = scaled(layer, w);
      features->push_back(traced_conv(t, channels, out, 3, 1, 1, /*bias=*/true));
      if (batch_norm) {
        // The ReLU runs inside the batch norm; the Identity keeps the layers'
        // indices (their names in checkpoints) those of conv, batch norm, ReLU.
        features->push_back(BatchNorm(out, Activation::kRelu));
        features->push_back(nn::Identity());
      } else {
        features->push_back(nn::ReLU());
      }
      channels = out;
    }
    features_ = register_module("features", features);
    pooled_height_ = std::min<int64_t>(7, t.height());
    pooled_width_ = std::min<int64_t>(7, t.width());
    t.adaptive_pool(1);  // the classifier's input is flattened
    const int64_t hidden = scaled(4096, w);
    classifier_ = register_module(
        "classifier",
        nn::Sequential(traced_linear(t, channels * pooled_height_ * pooled_width_, hidden), nn::ReLU(), nn::Dropout(0.5),
                       traced_linear(t, hidden, hidden), nn::ReLU(), nn::Dropout(0.5),
                       traced_linear(t, hidden, s.num_classes)));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = F::adaptive_avg_pool2d(features_->forward(x),
                               F::AdaptiveAvgPool2dFuncOptions({pooled_height_, pooled_width_}));
    return classifier_->forward(x.flatten(1));
  }

 private:
  nn::Sequential features_{nullptr};
  int64_t pooled_height_ = 7;  // of the adaptive pool before the classifier
  int64_t pooled_width_ = 7;
  nn::Sequential classifier_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_vgg(int depth, bool batch_norm, const ModelShape& shape) {
  return std::make_shared<VggImpl>(depth, batch_norm, shape);
}

}  // namespace wattlab::zoo
