// The model zoo as LibTorch modules. Internal to train/ (and its tests): this
// header includes LibTorch, so nothing outside train/ and infer/ may include it.
// Each family lives in models/<family>.cpp; models.h says how they adapt to
// the input.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/train/models.h"

namespace wattlab {

// An image classifier: forward() maps float images [N, C, H, W] to logits
// [N, num_classes].
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;

  // Multiply-accumulates of one image's forward pass at the shape the model
  // was built for, traced while building it (see ModelCost).
  int64_t macs_per_image() const { return macs_per_image_; }

 protected:
  void set_macs_per_image(int64_t macs) { macs_per_image_ = macs; }

 private:
  int64_t macs_per_image_ = 0;
};

// A freshly initialised model (weights drawn from LibTorch's global generator,
// so seed it with torch::manual_seed first for reproducible weights).
// InvalidArgument for an unknown name (see check_model_name) or a shape the
// model cannot take (non-positive sizes or width multiplier, or an input so
// small that a feature map would fall below 1x1).
Result<std::shared_ptr<ClassifierImpl>> make_model(const std::string& name, const ModelShape& shape);

// Number of trainable scalars.
int64_t parameter_count(const torch::nn::Module& model);

}  // namespace wattlab
