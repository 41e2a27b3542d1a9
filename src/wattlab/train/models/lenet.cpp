// The small networks: wattlab's "cnn" and LeNet-5.
#include "wattlab/train/models/layers.h"
#include "wattlab/train/models/pooling.h"

namespace wattlab::zoo {
namespace {

// conv 3x3 (32) → max-pool 2 → conv 3x3 (64) → max-pool 2 → fc 128 → fc classes,
// ReLU between; padding keeps each conv's size, so 28x28 → 14x14 → 7x7. The
// flattened feature map feeds fc1, so its size grows with the input's.
// The same network as bench/pytorch_models.py.
class SmallCnnImpl final : public ClassifierImpl {
 public:
  explicit SmallCnnImpl(const ModelShape& s) {
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    const int64_t c1 = scaled(32, s.width_multiplier), c2 = scaled(64, s.width_multiplier);
    const int64_t hidden = scaled(128, s.width_multiplier);
    conv1_ = register_module("conv1", traced_conv(t, s.in_channels, c1, 3, 1, 1, /*bias=*/true));
    t.window(2, 2, 0);
    conv2_ = register_module("conv2", traced_conv(t, c1, c2, 3, 1, 1, /*bias=*/true));
    t.window(2, 2, 0);
    fc1_ = register_module("fc1", traced_linear(t, c2 * t.height() * t.width(), hidden));
    fc2_ = register_module("fc2", traced_linear(t, hidden, s.num_classes));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = relu_max_pool2x2(conv1_->forward(x));
    x = relu_max_pool2x2(conv2_->forward(x));
    x = fc1_->forward(x.flatten(1)).relu_();
    return fc2_->forward(x);
  }

 private:
  Conv conv1_{nullptr};
  Conv conv2_{nullptr};
  Dense fc1_{nullptr};
  Dense fc2_{nullptr};
};

// LeNet-5 (LeCun et al. 1998) as usually written today: conv 5x5 (6, padding
// 2) → max-pool 2 → conv 5x5 (16) → max-pool 2 → fc 120 → fc 84 → fc classes,
// ReLU between. 28x28 gives the original 16x5x5 map; larger inputs are
// average-pooled to 5x5 so the classifier keeps its size.
class LeNet5Impl final : public ClassifierImpl {
 public:
  explicit LeNet5Impl(const ModelShape& s) {
    int64_t macs = 0;
    ShapeTrace t(s.height, s.width, &macs);
    const double w = s.width_multiplier;
    conv1_ = register_module("conv1", traced_conv(t, s.in_channels, scaled(6, w), 5, 1, 1, true, /*padding=*/2));
    t.window(2, 2, 0);
    conv2_ = register_module("conv2", traced_conv(t, scaled(6, w), scaled(16, w), 5, 1, 1, true, /*padding=*/0));
    t.window(2, 2, 0);
    t.adaptive_pool(5);
    fc1_ = register_module("fc1", traced_linear(t, scaled(16, w) * 25, scaled(120, w)));
    fc2_ = register_module("fc2", traced_linear(t, scaled(120, w), scaled(84, w)));
    fc3_ = register_module("fc3", traced_linear(t, scaled(84, w), s.num_classes));
    set_macs_per_image(macs);
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = relu_max_pool2x2(conv1_->forward(x));
    x = relu_max_pool2x2(conv2_->forward(x));
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(5)).flatten(1);
    x = fc1_->forward(x).relu_();
    x = fc2_->forward(x).relu_();
    return fc3_->forward(x);
  }

 private:
  Conv conv1_{nullptr};
  Conv conv2_{nullptr};
  Dense fc1_{nullptr};
  Dense fc2_{nullptr};
  Dense fc3_{nullptr};
};

}  // namespace

std::shared_ptr<ClassifierImpl> make_small_cnn(const ModelShape& shape) { return std::make_shared<SmallCnnImpl>(shape); }
std::shared_ptr<ClassifierImpl> make_lenet5(const ModelShape& shape) { return std::make_shared<LeNet5Impl>(shape); }

}  // namespace wattlab::zoo
