// Convolutions whose weight gradient oneDNN computes slowly, done instead as
// im2col + a GEMM. Internal to train/.
//
// On one thread of this CPU (Zen 3, AVX2), oneDNN's weight gradient of a 3x3
// convolution on a small output map (ResNet-18's 4x4 layer 4 at 28x28 and
// 32x32 inputs) reaches only ~24 GFLOP/s, half of its forward. Lowering the
// input to rows (one per output pixel of the batch, the receptive field as
// columns) turns the weight gradient into one matrix product reducing over
// batch x pixels, which oneDNN runs as a 1x1 convolution at its forward speed.
// Forward and input gradient stay with oneDNN (measured no faster as GEMMs).
// Single-threaded, and any thread count, the result is the same every run.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace wattlab::zoo {

// A 2-D convolution's shape as gemm_conv2d sees it: square kernel, same stride
// and padding along both axes, no dilation, groups 1.
struct ConvGeometry {
  int64_t batch = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t in_height = 0;
  int64_t in_width = 0;
  int64_t out_height = 0;
  int64_t out_width = 0;
};

// Whether gemm_conv2d handles conv(x, weight) with these settings and is
// measured faster than LibTorch's own convolution: autograd recording, CPU,
// float32, x [N, C, H, W] and weight [O, C, k, k] contiguous (NCHW), groups 1,
// no dilation, equal strides and paddings, a 3x3 kernel and an output map of at
// most 16 pixels. Everything else belongs to nn::Conv2dImpl::forward.
bool gemm_conv_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// conv2d(x, weight, bias) (bias may be undefined), differentiable in x, weight
// and bias; the forward and the input gradient are oneDNN's, as LibTorch's, the
// weight gradient is conv_grad_weight_gemm's. Requires gemm_conv_applies(...)
// or at least its layout conditions (CPU float32 NCHW, groups 1, no dilation).
at::Tensor gemm_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                       int64_t padding);

// Whether subsampled_pointwise_conv2d handles conv(x, weight) and is measured
// faster than LibTorch's own: autograd recording, CPU, float32, contiguous NCHW
// x with a batch of at least 16 (LibTorch's own threshold for sending 1x1
// convolutions to oneDNN), groups 1, a 1x1 kernel, no padding or dilation,
// equal strides above 1 (ResNet's downsampling shortcuts).
bool subsampled_pointwise_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                                  at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// conv2d(x, weight, bias, stride) of a 1x1 kernel as x's every stride-th row
// and column, copied contiguous, through a stride-1 oneDNN convolution; the
// same products, differentiable. oneDNN's strided 1x1 backward ran 2-3x
// slower than this on ResNet-18's shortcuts.
at::Tensor subsampled_pointwise_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                       int64_t stride);

// dL/dweight [O, C, k, k] of a convolution with input x [N, C, H, W] and output
// gradient grad_out [N, O, oh, ow], as im2row(x)^T * grad_out on oneDNN.
at::Tensor conv_grad_weight_gemm(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g);

// The geometry of conv(x, weight) at this stride and padding.
ConvGeometry conv_geometry(const at::Tensor& x, const at::Tensor& weight, int64_t stride, int64_t padding);

}  // namespace wattlab::zoo
