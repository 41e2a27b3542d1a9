// wattlab's batch norm for the zoo: nn::BatchNorm2d's parameters, buffers and
// statistics, with its own CPU kernels for contiguous NCHW float maps and the
// following ReLU or ReLU6 fused in. Debian's LibTorch 1.13 computes training
// statistics with a scalar Welford loop (8 ms forward for a 7 MB map, where a
// sum takes 0.2 ms); batch norm was ~29 % of a MobileNetV2 training step.
// Internal to train/.
#pragma once

#include <torch/nn/modules/batchnorm.h>

#include <cstdint>
#include <string>
#include <utility>

#include "wattlab/train/models/kernel_session.h"

namespace wattlab::zoo {

enum class Activation;  // models/layers.h

// Which kernels a batch norm's passes run: ours or LibTorch's.
struct BatchNormPlan {
  bool own_forward = false;
  bool own_backward = false;  // meaningful when autograd records
};

// nn::BatchNorm2d (eps 1e-5, momentum 0.1, affine, running statistics) whose
// output goes through `fused` (Activation::kNone, kRelu or kRelu6; any other
// throws std::invalid_argument). Parameters and buffers keep BatchNorm2d's
// names (weight, bias, running_mean, running_var, num_batches_tracked), so
// checkpoints and saved models of either load into the other.
//
// The own kernels run for contiguous NCHW float tensors on the CPU with
// weight, bias and running statistics in float; in training mode they use the
// batch's mean and biased variance, update the running mean and unbiased
// variance as BatchNorm2d does, and their backward recomputes the activation's
// mask from the saved input and statistics (saving what LibTorch's batch norm
// saves, no extra feature map). Each channel is reduced in a fixed order
// (float within a plane or a run of small planes, double across them), so
// results are the same from run to run and for any number of threads. Everything else (other
// devices or dtypes, channels-last or other strides, a training batch with
// one value per channel) runs LibTorch's batch norm, then the activation.
class BatchNormImpl : public torch::nn::BatchNorm2dImpl {
 public:
  explicit BatchNormImpl(int64_t num_features);
  BatchNormImpl(int64_t num_features, Activation fused);

  // `x` [N, C, H, W] → fused(batch_norm(x)), same shape. Where the own kernels
  // apply, each pass (forward; backward when autograd records) runs the kernel
  // the chooser picks for the shape (kernel_session.h): LibTorch's or ours.
  // When both are LibTorch's, or ours do not apply, this is nn::BatchNorm2d's
  // forward and the activation, bit for bit.
  torch::Tensor forward(const torch::Tensor& x);

  // The layer's name in the kernel chooser's records (name_kernel_layers).
  void set_kernel_layer(std::string name) { kernel_layer_ = std::move(name); }

 private:
  // Whether the own kernels handle `x` with the module as it is.
  bool own_kernels_apply(const torch::Tensor& x) const;
  // nn::BatchNorm2d's forward, then the activation in place.
  torch::Tensor libtorch_forward(const torch::Tensor& x);
  // The chooser's plan for x (recorded for this layer; measured on copies of
  // the running statistics when new).
  BatchNormPlan choose_plan(const torch::Tensor& x, bool differentiable, double momentum);

  Activation fused_;                // applied to the normalised output
  std::string kernel_layer_;        // "" until named
  PlanMemo<BatchNormPlan> memo_;    // the plan for the last input
};
TORCH_MODULE(BatchNorm);

}  // namespace wattlab::zoo
