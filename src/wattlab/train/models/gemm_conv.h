// Convolutions that oneDNN runs slowly, done instead as im2row + matrix
// products of our own (models/sgemm.h). Internal to train/.
//
// On one thread of this CPU (Zen 3, AVX2), oneDNN reaches only 38-46 GFLOP/s
// on 3x3 convolutions with small output maps (ResNet-18's 4x4 layer 4 at 28x28
// and 32x32 inputs), and 23-31 on their weight gradient, against 60-80 on
// larger maps. Lowering the input to rows (one per output pixel of the batch,
// the receptive field as columns) turns the forward, the input gradient and
// the weight gradient each into one product of large matrices, which sgemm
// runs at 58-69 GFLOP/s; the input gradient then adds the rows' gradient back
// onto the pixels. On larger maps, stride-1 3x3 convolutions go through
// Winograd's F(2x2, 3x3) (models/winograd.h), 2.25x fewer multiplications on
// the same sgemm: 1.1-1.8x oneDNN's speed on ResNet-18's layers 1-3. Results
// are the same every run, for any number of threads.
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
// no dilation, equal strides and paddings, a 3x3 kernel, an output map of at
// most 16 pixels, and a CPU that runs sgemm. Everything else belongs to
// nn::Conv2dImpl::forward.
bool gemm_conv_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// conv2d(x, weight, bias) (bias may be undefined), differentiable in x, weight
// and bias, through the three functions below. Requires gemm_conv_applies(...)
// or at least its layout conditions (CPU float32 NCHW, groups 1, no dilation)
// and sgemm_available().
at::Tensor gemm_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                       int64_t padding);

// Whether winograd_conv2d handles conv(x, weight) and is measured faster than
// LibTorch's own: the layout conditions of gemm_conv_applies, a 3x3 kernel
// with stride 1 and padding 1, an input map of more than 16 pixels (smaller
// ones go to gemm_conv2d), at least 64 input and output channels, and a CPU
// that runs sgemm.
bool winograd_conv_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                           at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups);

// conv2d(x, weight, bias, stride 1, padding 1) by Winograd's F(2x2, 3x3)
// (models/winograd.h) in all three passes, differentiable like gemm_conv2d.
at::Tensor winograd_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

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

// The convolution [N, O, oh, ow] of x [N, C, H, W] with weight [O, C, k, k]
// (plus bias [O] when defined), as weight x im2row(x)^T.
at::Tensor conv_forward_gemm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             const ConvGeometry& g);

// dL/dx [N, C, H, W] from the output gradient grad_out [N, O, oh, ow], as
// grad_out^T x weight (the rows' gradient) added back onto the input pixels.
at::Tensor conv_grad_input_gemm(const at::Tensor& grad_out, const at::Tensor& weight, const ConvGeometry& g);

// dL/dweight [O, C, k, k] from input x and output gradient grad_out, as
// grad_out x im2row(x), reducing over the batch's output pixels.
at::Tensor conv_grad_weight_gemm(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g);

// The three passes of winograd_conv2d, as the three above (g with stride 1,
// padding 1 and a 3x3 kernel).
at::Tensor conv_forward_winograd(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const ConvGeometry& g);
at::Tensor conv_grad_input_winograd(const at::Tensor& grad_out, const at::Tensor& weight, const ConvGeometry& g);
at::Tensor conv_grad_weight_winograd(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g);

// The geometry of conv(x, weight) at this stride and padding.
ConvGeometry conv_geometry(const at::Tensor& x, const at::Tensor& weight, int64_t stride, int64_t padding);

}  // namespace wattlab::zoo
