// DenseNet-121 (Huang et al. 2017), torchvision's layout.
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

// batch norm → ReLU → 1x1 conv (4 x growth) → batch norm → ReLU → 3x3 conv
// (growth); the output is the input with the `growth` new channels appended.
class DenseLayerImpl : public nn::Module {
 public:
  DenseLayerImpl(ShapeTrace& t, int64_t in, int64_t growth, int64_t bottleneck)
      : norm1_(register_module("norm1", BatchNorm(in, Activation::kRelu))),
        conv1_(register_module("conv1", traced_conv(t, in, bottleneck, 1))),
        norm2_(register_module("norm2", BatchNorm(bottleneck, Activation::kRelu))),
        conv2_(register_module("conv2", traced_conv(t, bottleneck, growth, 3))) {}

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = conv1_->forward(norm1_->forward(x));  // the ReLUs are fused
    y = conv2_->forward(norm2_->forward(y));
    return torch::cat({x, y}, 1);
  }

 private:
  BatchNorm norm1_;
  Conv conv1_;
  BatchNorm norm2_;
  Conv conv2_;
};
TORCH_MODULE(DenseLayer);

// batch norm → ReLU → 1x1 conv (halves the channels) → 2x2 average pool
// (left out when its stride-2 step is dropped).
class TransitionImpl : public nn::Module {
 public:
  TransitionImpl(ShapeTrace& t, int64_t in, int64_t out, bool pool)
      : norm_(register_module("norm", BatchNorm(in, Activation::kRelu))),
        conv_(register_module("conv", traced_conv(t, in, out, 1))),
        pool_(pool) {
    if (pool_) t.window(2, 2, 0);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = conv_->forward(norm_->forward(x));  // ReLU fused
    return pool_ ? F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2)) : x;
  }

 private:
  BatchNorm norm_;
  Conv conv_;
  bool pool_;  // 2x2/2 average pool at the end
};
TORCH_MODULE(Transition);

// Stem (7x7/2 conv (64) + 3x3/2 max-pool, or a 3x3/1 conv and no pool for
// small inputs) → dense blocks of 6, 12, 24, 16 layers (growth 32, bottleneck
// 4 x 32) with transitions between → batch norm → ReLU → global average pool →
// fc. Five stride-2 steps: stem conv, stem pool, the three transitions.
class DenseNet121Impl final : public ClassifierImpl {
 public:
  explicit DenseNet121Impl(const ModelShape& s) {
    const double w = s.width_multiplier;
    const int64_t growth = scaled(32, w), bottleneck = 4 * growth;
    int64_t channels = scaled(64, w);
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    DownsamplePlan plan(s, 5);
    nn::Sequential features;
    features->push_back(plan.next_stride() == 2 ? traced_conv(t, s.in_channels, channels, 7, 2)
                                                : traced_conv(t, s.in_channels, channels, 3, 1));
    features->push_back(BatchNorm(channels, Activation::kRelu));
    stem_pool_ = plan.next_stride() == 2;
    if (stem_pool_) t.window(3, 2, 1);
    stem_ = register_module("stem", features);

    const int64_t layers[] = {6, 12, 24, 16};
    for (int block = 0; block < 4; ++block) {
      nn::Sequential dense;
      for (int64_t i = 0; i < layers[block]; ++i) {
        dense->push_back(DenseLayer(t, channels, growth, bottleneck));
        channels += growth;
      }
      if (block < 3) {
        dense->push_back(Transition(t, channels, channels / 2, plan.next_stride() == 2));
        channels /= 2;
      }
      blocks_.push_back(register_module("denseblock" + std::to_string(block + 1), dense));
    }
    norm_ = register_module("norm5", BatchNorm(channels, Activation::kRelu));
    t.adaptive_pool(1);
    fc_ = register_module("classifier", traced_linear(t, channels, s.num_classes));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = stem_->forward(x);
    if (stem_pool_) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (nn::Sequential& block : blocks_) x = block->forward(x);
    return fc_->forward(global_average_pool(norm_->forward(x)));  // ReLU fused in norm5
  }

 private:
  nn::Sequential stem_{nullptr};  // conv + batch norm with ReLU (pool in forward)
  bool stem_pool_ = true;
  std::vector<nn::Sequential> blocks_;  // each dense block with the transition after it
  BatchNorm norm_{nullptr};
  Dense fc_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_densenet121(const ModelShape& shape) {
  return std::make_shared<DenseNet121Impl>(shape);
}

}  // namespace wattlab::zoo
