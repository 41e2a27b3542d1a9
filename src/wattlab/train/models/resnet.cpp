// ResNet-18/34/50 (He et al. 2016), torchvision's layout (v1.5: a bottleneck
// strides in its 3x3 conv).
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

// The shortcut's 1x1 conv + batch norm when a block changes shape; else none.
struct Shortcut {
  Conv conv{nullptr};
  BatchNorm bn{nullptr};
};

Shortcut make_shortcut(nn::Module& block, ShapeTrace trace, int64_t in, int64_t out, int64_t stride) {
  Shortcut s;
  if (stride == 1 && in == out) return s;
  s.conv = block.register_module("downsample_conv", traced_conv(trace, in, out, 1, stride));
  s.bn = block.register_module("downsample_bn", BatchNorm(out));
  return s;
}

torch::Tensor shortcut_forward(Shortcut& s, const torch::Tensor& x) {
  return s.conv ? s.bn->forward(s.conv->forward(x)) : x;
}

// 3x3 → 3x3, `planes` channels out (expansion 1).
class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(ShapeTrace& t, int64_t in, int64_t planes, int64_t stride) {
    const ShapeTrace input = t;
    conv1_ = register_module("conv1", traced_conv(t, in, planes, 3, stride));
    bn1_ = register_module("bn1", BatchNorm(planes, Activation::kRelu));
    conv2_ = register_module("conv2", traced_conv(t, planes, planes, 3));
    bn2_ = register_module("bn2", BatchNorm(planes));
    shortcut_ = make_shortcut(*this, input, in, planes, stride);
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = bn1_->forward(conv1_->forward(x));  // ReLU fused
    y = bn2_->forward(conv2_->forward(y));
    // In place where autograd allows (a batch norm's backward does not need its output), as torchvision.
    return y.add_(shortcut_forward(shortcut_, x)).relu_();
  }

 private:
  Conv conv1_{nullptr}, conv2_{nullptr};
  BatchNorm bn1_{nullptr}, bn2_{nullptr};
  Shortcut shortcut_;
};
TORCH_MODULE(BasicBlock);

// 1x1 (planes) → 3x3 (planes, strided) → 1x1 (4 * planes).
class BottleneckImpl : public nn::Module {
 public:
  BottleneckImpl(ShapeTrace& t, int64_t in, int64_t planes, int64_t stride) {
    const ShapeTrace input = t;
    const int64_t out = planes * 4;
    conv1_ = register_module("conv1", traced_conv(t, in, planes, 1));
    bn1_ = register_module("bn1", BatchNorm(planes, Activation::kRelu));
    conv2_ = register_module("conv2", traced_conv(t, planes, planes, 3, stride));
    bn2_ = register_module("bn2", BatchNorm(planes, Activation::kRelu));
    conv3_ = register_module("conv3", traced_conv(t, planes, out, 1));
    bn3_ = register_module("bn3", BatchNorm(out));
    shortcut_ = make_shortcut(*this, input, in, out, stride);
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = bn1_->forward(conv1_->forward(x));  // ReLU fused, as in bn2
    y = bn2_->forward(conv2_->forward(y));
    y = bn3_->forward(conv3_->forward(y));
    return y.add_(shortcut_forward(shortcut_, x)).relu_();
  }

 private:
  Conv conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  Shortcut shortcut_;
};
TORCH_MODULE(Bottleneck);

// Stem (7x7/2 conv + 3x3/2 max-pool, or a 3x3/1 conv and no pool for small
// inputs) → four stages of blocks (64, 128, 256, 512 planes; the last three
// stride 2) → global average pool → fc. Five stride-2 steps: stem conv, stem
// pool, stages 2-4.
class ResNetImpl final : public ClassifierImpl {
 public:
  ResNetImpl(int depth, const ModelShape& s) {
    const bool bottleneck = depth >= 50;
    const std::vector<int64_t> repeats = depth == 18 ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    const double w = s.width_multiplier;
    int64_t channels = scaled(64, w);

    const int64_t stem_stride = plan.next_stride();
    stem_conv_ = register_module("conv1", stem_stride == 2 ? traced_conv(t, s.in_channels, channels, 7, 2)
                                                           : traced_conv(t, s.in_channels, channels, 3, 1));
    stem_bn_ = register_module("bn1", BatchNorm(channels, Activation::kRelu));
    stem_pool_ = plan.next_stride() == 2;
    if (stem_pool_) t.window(3, 2, 1);

    const int64_t planes[] = {64, 128, 256, 512};
    for (int stage = 0; stage < 4; ++stage) {
      nn::Sequential blocks;
      const int64_t p = scaled(planes[stage], w);
      for (int64_t i = 0; i < repeats[stage]; ++i) {
        const int64_t stride = (i == 0 && stage > 0) ? plan.next_stride() : 1;
        if (bottleneck) {
          blocks->push_back(Bottleneck(t, channels, p, stride));
          channels = p * 4;
        } else {
          blocks->push_back(BasicBlock(t, channels, p, stride));
          channels = p;
        }
      }
      stages_.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
    }
    t.adaptive_pool(1);
    fc_ = register_module("fc", traced_linear(t, channels, s.num_classes));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = stem_bn_->forward(stem_conv_->forward(x));  // ReLU fused
    if (stem_pool_) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (nn::Sequential& stage : stages_) x = stage->forward(x);
    return fc_->forward(global_average_pool(x));
  }

 private:
  Conv stem_conv_{nullptr};
  BatchNorm stem_bn_{nullptr};
  bool stem_pool_ = true;  // the 3x3/2 max-pool after the stem
  std::vector<nn::Sequential> stages_;
  Dense fc_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_resnet(int depth, const ModelShape& shape) {
  return std::make_shared<ResNetImpl>(depth, shape);
}

}  // namespace wattlab::zoo
