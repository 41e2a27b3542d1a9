// MobileNetV2 (Sandler et al. 2018) and MobileNetV3-Small/Large (Howard et
// al. 2019), torchvision's layouts.
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

// An inverted residual: optional 1x1 expansion → depthwise k x k (strided) →
// optional squeeze-excitation → linear 1x1 projection, with a residual
// connection when the shape is unchanged. MobileNetV2 uses ReLU6 and no SE;
// V3 chooses ReLU or hard-swish and SE per block.
class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(ShapeTrace& t, int64_t in, int64_t expanded, int64_t out, int64_t kernel, int64_t stride,
                       Activation activation, bool squeeze_excitation)
      : residual_(stride == 1 && in == out) {
    nn::Sequential layers;
    if (expanded != in) layers->push_back(ConvBnAct(t, in, expanded, 1, 1, 1, activation));
    layers->push_back(ConvBnAct(t, expanded, expanded, kernel, stride, expanded, activation));
    if (squeeze_excitation) {
      layers->push_back(SqueezeExcitation(t, expanded, make_divisible(static_cast<double>(expanded / 4)),
                                          Activation::kRelu, Activation::kHardsigmoid));
    }
    layers->push_back(ConvBnAct(t, expanded, out, 1, 1, 1, Activation::kNone));
    layers_ = register_module("conv", layers);
  }

  torch::Tensor forward(torch::Tensor x) { return residual_ ? x + layers_->forward(x) : layers_->forward(x); }

 private:
  bool residual_;
  nn::Sequential layers_;
};
TORCH_MODULE(InvertedResidual);

// The classifier of both: features → global average pool → head.
class MobileNetImpl : public ClassifierImpl {
 public:
  torch::Tensor forward(torch::Tensor x) override {
    return classifier_->forward(global_average_pool(features_->forward(x)));
  }

 protected:
  nn::Sequential features_{nullptr};
  nn::Sequential classifier_{nullptr};
};

// MobileNetV2: stem 3x3 conv (32) → 17 inverted residuals → 1x1 conv (1280)
// → dropout 0.2 → fc. Five stride-2 steps: the stem and the first block of
// the 24-, 32-, 64- and 160-channel stages; at 28x28 the stem and the 24-channel
// stage run at stride 1 (8x downsampling, to 4x4).
class MobileNetV2Impl final : public MobileNetImpl {
 public:
  explicit MobileNetV2Impl(const ModelShape& s) {
    struct Stage { int64_t expand, channels, repeats, stride; };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    const double w = s.width_multiplier;
    int64_t channels = make_divisible(32 * w);
    const int64_t last_channels = make_divisible(1280 * std::max(1.0, w));
    nn::Sequential features;
    features->push_back(ConvBnAct(t, s.in_channels, channels, 3, plan.next_stride(), 1, Activation::kRelu6));
    for (const Stage& stage : stages) {
      const int64_t out = make_divisible(stage.channels * w);
      const int64_t first_stride = stage.stride == 2 ? plan.next_stride() : 1;
      for (int64_t i = 0; i < stage.repeats; ++i) {
        features->push_back(InvertedResidual(t, channels, channels * stage.expand, out, 3, i == 0 ? first_stride : 1,
                                             Activation::kRelu6, false));
        channels = out;
      }
    }
    features->push_back(ConvBnAct(t, channels, last_channels, 1, 1, 1, Activation::kRelu6));
    features_ = register_module("features", features);
    t.adaptive_pool(1);
    classifier_ = register_module("classifier",
                                  nn::Sequential(nn::Dropout(0.2), traced_linear(t, last_channels, s.num_classes)));
    set_macs_per_image(macs);
  }
};

// The hard-swish between MobileNetV3's two classifier layers.
class HardswishImpl : public nn::Module {
 public:
  torch::Tensor forward(torch::Tensor x) { return torch::hardswish(x); }
};
TORCH_MODULE(Hardswish);

// MobileNetV3: stem 3x3 conv (16, hard-swish) → 11 (Small) or 15 (Large)
// inverted residuals → 1x1 conv (6x the last block's channels) → global pool →
// fc (1024 or 1280) → hard-swish → dropout 0.2 → fc. Five stride-2 steps: the
// stem and the blocks torchvision marks C1-C4.
class MobileNetV3Impl final : public MobileNetImpl {
 public:
  MobileNetV3Impl(bool large, const ModelShape& s) {
    // input, kernel, expanded, output channels; squeeze-excitation; hard-swish (else ReLU); stride.
    struct Block { int64_t in, kernel, expanded, out; bool se, hardswish; int64_t stride; };
    const std::vector<Block> large_blocks = {
        {16, 3, 16, 16, false, false, 1},   {16, 3, 64, 24, false, false, 2},   {24, 3, 72, 24, false, false, 1},
        {24, 5, 72, 40, true, false, 2},    {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
        {40, 3, 240, 80, false, true, 2},   {80, 3, 200, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
        {80, 3, 184, 80, false, true, 1},   {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
        {112, 5, 672, 160, true, true, 2},  {160, 5, 960, 160, true, true, 1},  {160, 5, 960, 160, true, true, 1}};
    const std::vector<Block> small_blocks = {
        {16, 3, 16, 16, true, false, 2},  {16, 3, 72, 24, false, false, 2}, {24, 3, 88, 24, false, false, 1},
        {24, 5, 96, 40, true, true, 2},   {40, 5, 240, 40, true, true, 1},  {40, 5, 240, 40, true, true, 1},
        {40, 5, 120, 48, true, true, 1},  {48, 5, 144, 48, true, true, 1},  {48, 5, 288, 96, true, true, 2},
        {96, 5, 576, 96, true, true, 1},  {96, 5, 576, 96, true, true, 1}};
    const std::vector<Block>& blocks = large ? large_blocks : small_blocks;
    const double w = s.width_multiplier;
    auto adjust = [w](int64_t c) { return make_divisible(static_cast<double>(c) * w); };

    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    nn::Sequential features;
    features->push_back(ConvBnAct(t, s.in_channels, adjust(16), 3, plan.next_stride(), 1, Activation::kHardswish));
    for (const Block& b : blocks) {
      features->push_back(InvertedResidual(t, adjust(b.in), adjust(b.expanded), adjust(b.out), b.kernel,
                                           b.stride == 2 ? plan.next_stride() : 1,
                                           b.hardswish ? Activation::kHardswish : Activation::kRelu, b.se));
    }
    const int64_t last_conv = 6 * adjust(blocks.back().out);
    const int64_t last_channels = adjust(large ? 1280 : 1024);
    features->push_back(ConvBnAct(t, adjust(blocks.back().out), last_conv, 1, 1, 1, Activation::kHardswish));
    features_ = register_module("features", features);
    t.adaptive_pool(1);
    Dense fc1 = traced_linear(t, last_conv, last_channels);
    Dense fc2 = traced_linear(t, last_channels, s.num_classes);
    classifier_ = register_module("classifier", nn::Sequential(fc1, Hardswish(), nn::Dropout(0.2), fc2));
    set_macs_per_image(macs);
  }
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_mobilenet_v2(const ModelShape& shape) {
  return std::make_shared<MobileNetV2Impl>(shape);
}
std::shared_ptr<ClassifierImpl> make_mobilenet_v3(bool large, const ModelShape& shape) {
  return std::make_shared<MobileNetV3Impl>(large, shape);
}

}  // namespace wattlab::zoo
