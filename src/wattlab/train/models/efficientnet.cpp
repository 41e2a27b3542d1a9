// EfficientNet-B0 (Tan & Le 2019), torchvision's layout (stochastic depth left out).
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

// MBConv: optional 1x1 expansion → depthwise k x k (strided) → squeeze-
// excitation (squeeze to a quarter of the block's input channels, SiLU,
// sigmoid gate) → linear 1x1 projection; residual when the shape is unchanged.
class MbConvImpl : public nn::Module {
 public:
  MbConvImpl(ShapeTrace& t, int64_t in, int64_t out, int64_t expand_ratio, int64_t kernel, int64_t stride)
      : residual_(stride == 1 && in == out) {
    const int64_t expanded = make_divisible(static_cast<double>(in * expand_ratio));
    nn::Sequential layers;
    if (expanded != in) layers->push_back(ConvBnAct(t, in, expanded, 1, 1, 1, Activation::kSilu));
    layers->push_back(ConvBnAct(t, expanded, expanded, kernel, stride, expanded, Activation::kSilu));
    layers->push_back(SqueezeExcitation(t, expanded, std::max<int64_t>(1, in / 4), Activation::kSilu,
                                        Activation::kSigmoid));
    layers->push_back(ConvBnAct(t, expanded, out, 1, 1, 1, Activation::kNone));
    layers_ = register_module("block", layers);
  }

  torch::Tensor forward(torch::Tensor x) { return residual_ ? x + layers_->forward(x) : layers_->forward(x); }

 private:
  bool residual_;
  nn::Sequential layers_;
};
TORCH_MODULE(MbConv);

// Stem 3x3 conv (32, SiLU) → 16 MBConv blocks in 7 stages → 1x1 conv (1280)
// → global average pool → dropout 0.2 → fc. Five stride-2 steps: the stem and
// the first block of the 24-, 40-, 80- and 192-channel stages.
class EfficientNetB0Impl final : public ClassifierImpl {
 public:
  explicit EfficientNetB0Impl(const ModelShape& s) {
    struct Stage { int64_t expand, kernel, stride, in, out, repeats; };
    const Stage stages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                            {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                            {6, 3, 1, 192, 320, 1}};
    const double w = s.width_multiplier;
    auto adjust = [w](int64_t c) { return make_divisible(static_cast<double>(c) * w); };
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    nn::Sequential features;
    features->push_back(ConvBnAct(t, s.in_channels, adjust(32), 3, plan.next_stride(), 1, Activation::kSilu));
    for (const Stage& stage : stages) {
      const int64_t first_stride = stage.stride == 2 ? plan.next_stride() : 1;
      for (int64_t i = 0; i < stage.repeats; ++i) {
        features->push_back(MbConv(t, adjust(i == 0 ? stage.in : stage.out), adjust(stage.out), stage.expand,
                                   stage.kernel, i == 0 ? first_stride : 1));
      }
    }
    const int64_t last_in = adjust(320), last_channels = 4 * last_in;
    features->push_back(ConvBnAct(t, last_in, last_channels, 1, 1, 1, Activation::kSilu));
    features_ = register_module("features", features);
    t.adaptive_pool(1);
    classifier_ = register_module("classifier",
                                  nn::Sequential(nn::Dropout(0.2), traced_linear(t, last_channels, s.num_classes)));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    return classifier_->forward(global_average_pool(features_->forward(x)));
  }

 private:
  nn::Sequential features_{nullptr};
  nn::Sequential classifier_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_efficientnet_b0(const ModelShape& shape) {
  return std::make_shared<EfficientNetB0Impl>(shape);
}

}  // namespace wattlab::zoo
