// Which kernel runs each pass of a zoo convolution: LibTorch's, or one of
// ours (depthwise_conv.h, gemm_conv.h) wherever it computes the same
// convolution, chosen per shape and pass by measurement (kernel_session.h).
// Internal to train/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/train/models/kernel_session.h"

namespace wattlab::zoo {

// The implementations of a convolution's passes.
enum class ConvKernel : int64_t {
  kLibTorch,    // at::convolution and at::convolution_backward: what nn::Conv2d runs
  kDepthwise,   // depthwise_conv.h
  kWinograd,    // gemm_conv.h: F(2x2, 3x3) on sgemm
  kGemm,        // gemm_conv.h: im2row + sgemm
  kSubsampled,  // gemm_conv.h: a strided 1x1 convolution on a subsampled copy
  kDirect,      // direct_conv.h: 3x3 at stride 1 on few input channels, forward only
  kWinograd4x4, // gemm_conv.h: F(4x4, 3x3) on sgemm, AVX-512 CPUs
};

// "libtorch", "depthwise", "winograd", "gemm", "subsampled", "direct" or "winograd4x4".
const char* conv_kernel_name(ConvKernel kernel);

// A convolution's settings, square: stride, zero padding and groups; dilation 1.
struct ConvSettings {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;
};

// The kernel of each pass.
struct ConvPlan {
  ConvKernel forward = ConvKernel::kLibTorch;
  ConvKernel grad_input = ConvKernel::kLibTorch;
  ConvKernel grad_weight = ConvKernel::kLibTorch;

  bool all_libtorch() const {
    return forward == ConvKernel::kLibTorch && grad_input == ConvKernel::kLibTorch &&
           grad_weight == ConvKernel::kLibTorch;
  }
};

// The kernels that compute conv2d(x, weight, bias, stride, padding, dilation,
// groups), LibTorch's first, then ours in the order --kernels wattlab prefers
// them. Ours need CPU float32 contiguous NCHW tensors, equal strides and
// paddings, dilation 1 and CPU autocast off; then: depthwise 3x3 and 5x5
// (depthwise_conv_computes); Winograd for 3x3 kernels at stride 1 and padding
// 1, F(4x4, 3x3) too where winograd_4x4_runs; im2row + sgemm for 3x3 kernels
// with output maps of at most 64 pixels whose lowered input fits 64 MiB; the subsampled copy for 1x1 kernels at
// stride > 1 with no padding; the direct 3x3 for stride 1, padding 1 and at
// most 4 input channels when autograd will not record (it has no backward).
// The sgemm kernels also need sgemm_available().
std::vector<ConvKernel> conv_kernels(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                     int64_t groups);

// The plan kernel_chooser() makes for conv2d(x, weight, bias) with `settings`,
// of `kernels` (conv_kernels' list), recorded for `layer`. The passes that
// this call's gradients will need are chosen, the forward always: when
// autograd records with `weight` requiring a gradient, the weight gradient,
// and when `x` requires one too, the input gradient (the others stay
// LibTorch's, unused). A pass measured for the first time runs each kernel on
// x, weight and bias and, for the gradients, on LibTorch's output as the
// output gradient.
ConvPlan choose_conv_plan(const std::string& layer, const at::Tensor& x, const at::Tensor& weight,
                          const at::Tensor& bias, const ConvSettings& settings, const std::vector<ConvKernel>& kernels);

// conv2d(x, weight, bias) (bias may be undefined) with `settings`, each pass
// by its kernel in `plan` (kernels conv_kernels offers for these tensors),
// differentiable in x, weight and bias. A bias's gradient is the output
// gradient's sum.
at::Tensor conv2d_planned(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          const ConvSettings& settings, const ConvPlan& plan);

}  // namespace wattlab::zoo
