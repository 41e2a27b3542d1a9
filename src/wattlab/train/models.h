// The model zoo's names, shapes and costs, without LibTorch, so that the CLI
// can validate --model, list the choices and print parameter and MAC counts.
// The models themselves are in models_torch.h.
//
// How a model adapts to its input (every family, see models/layers.h):
// - Channels: the first layer takes ModelShape::in_channels (1 or 3, or any).
// - Size: a family has a fixed list of stride-2 steps (5 for ResNet,
//   MobileNets, VGG, EfficientNet and DenseNet: stem conv or first pool, stem
//   pool or block, then the stage transitions; 4 for SqueezeNet). For an input
//   whose smaller side is S, the last n steps are kept, n the largest number
//   with floor(S / 2^n) >= 3; the first ones run at stride 1 (a dropped pool is
//   left out). So 224x224 (anything >= 96) gets the full ImageNet network,
//   48..95 drops one step, 28..47 drop two (8x downsampling: 3x3 to 6x6 maps at
//   the end; SqueezeNet keeps all four from 48 and drops one below). Where a dropped step is ResNet's or DenseNet's 7x7 stride-2 stem
//   conv it becomes a 3x3 stride-1 conv, as in the CIFAR variants. The heads
//   pool adaptively, so any size >= 28 works; smaller inputs work while no
//   feature map falls below 1x1 (make_model says when one would).
//   "cnn" and "lenet5" have fixed strides: cnn's classifier grows with the
//   input, LeNet-5 pools to 5x5 before its classifier.
// - Width: ModelShape::width_multiplier scales every layer's channel count
//   (MobileNets and EfficientNet round to a multiple of 8 as torchvision does,
//   MobileNetV2 never going below 1280 in its last conv; the others round to
//   the nearest integer, at least 1).
// - Classes: the classifier's last layer has num_classes outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/kernel_dispatch.h"

namespace wattlab {

// What a model must adapt to.
struct ModelShape {
  int64_t in_channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t num_classes = 10;
  double width_multiplier = 1.0;  // scales every layer's channel count
};

// One entry of the zoo.
struct ModelSpec {
  std::string name;     // as --model takes it, torchvision's spelling: "resnet50"
  std::string family;   // "ResNet", "MobileNetV2", ...
  std::string summary;  // one line: what the network is and where it comes from
};

// The zoo in display order: cnn, lenet5, resnet18, resnet34, resnet50,
// mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, vgg11, vgg11_bn,
// vgg16, vgg16_bn, efficientnet_b0, densenet121, squeezenet1_1.
const std::vector<ModelSpec>& model_zoo();

// The names of model_zoo(), in the same order. Accepted by train_model
// (TrainConfig::model) and make_model.
std::vector<std::string> model_names();

// OK if `name` is one of model_names(); otherwise InvalidArgument naming
// --model and listing the known names.
Status check_model_name(const std::string& name);

// Size and cost of a model for one input shape.
struct ModelCost {
  int64_t parameters = 0;      // trainable scalars (batch-norm running statistics excluded)
  int64_t macs_per_image = 0;  // multiply-accumulates of one forward pass: every
                               // convolution (out_h*out_w*out_c*(in_c/groups)*k*k) and
                               // fully connected layer (in*out), squeeze-excitation
                               // included; batch norm, activations, pooling, additions
                               // and biases not counted (as the published figures)
};

// Builds `name` for `shape` and counts it. The MACs are traced analytically
// while the model is built (no forward pass), so this costs about the time to
// allocate and initialise the weights (~1 s for VGG-16 at 1000 classes).
// Errors: those of make_model (unknown name, impossible shape), Internal for
// a LibTorch failure.
Result<ModelCost> model_cost(const std::string& name, const ModelShape& shape);

// The kernel (kernel_dispatch.h) each convolution and batch norm of `name`
// runs for one training step on the CPU with `batch_size` images of `shape` on
// `threads` LibTorch threads under --kernels `mode`: what `wattlab train` would
// use here. Choices neither this process nor the cache knows are measured now
// (seconds to a minute) and cached. Errors: those of make_model,
// InvalidArgument for a bad mode, batch size or thread count, Internal for a
// LibTorch failure.
Result<std::vector<LayerKernel>> model_kernels(const std::string& name, const ModelShape& shape, int64_t batch_size,
                                               int threads, const std::string& mode);

}  // namespace wattlab
