// The model zoo as LibTorch modules. Internal to train/ (and its tests): this
// header includes LibTorch, so nothing outside train/ and infer/ may include it.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

// What a model must adapt to.
struct ModelShape {
  int64_t in_channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t num_classes = 10;
  double width_multiplier = 1.0;  // scales every layer's channel count
};

// An image classifier: forward() maps float images [N, C, H, W] to logits
// [N, num_classes].
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
};

// A freshly initialised model (weights drawn from LibTorch's global generator,
// so seed it with torch::manual_seed first for reproducible weights).
// InvalidArgument for an unknown name (see check_model_name) or a shape the
// model cannot take (non-positive sizes or width multiplier).
Result<std::shared_ptr<ClassifierImpl>> make_model(const std::string& name, const ModelShape& shape);

// Number of trainable scalars.
int64_t parameter_count(const torch::nn::Module& model);

}  // namespace wattlab
