// Convolutions as matrix products of our own (models/sgemm.h): im2row + GEMM
// for 3x3 kernels on small output maps, Winograd's F(2x2, 3x3) for stride-1
// 3x3 ones, and strided 1x1 shortcuts through a subsampled copy. Internal to
// train/; models/conv_dispatch.h measures where each is faster than LibTorch's.
//
// oneDNN reached only 38-46 GFLOP/s on 3x3 convolutions with 4x4 output maps
// (ResNet-18's layer 4) on one thread of a Zen 3 CPU, and 23-31 on their weight
// gradient. Lowering the input to rows (one per output pixel of the batch, the
// receptive field as columns) turns the forward, the input gradient and the
// weight gradient each into one product of large matrices; the input gradient
// then adds the rows' gradient back onto the pixels. On larger maps Winograd's
// F(2x2, 3x3) (models/winograd.h) does 2.25x fewer multiplications on the same
// sgemm, and F(4x4, 3x3) 4x fewer (AVX-512 CPUs). Results are the same every
// run, for any number of threads.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace wattlab::zoo {

// A 2-D convolution's shape as the passes below see it: square kernel, same
// stride and padding along both axes, no dilation, groups 1. Each pass requires
// CPU float32 contiguous NCHW tensors, and those on sgemm sgemm_available()
// (what conv_dispatch.h checks before offering them).
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

// The three passes by Winograd's F(tile x tile, 3x3), tile 2 or 4
// (models/winograd.h), as the three above (g with stride 1, padding 1 and a
// 3x3 kernel; tile 4 where winograd_runs says it runs).
at::Tensor conv_forward_winograd(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const ConvGeometry& g, int64_t tile);
at::Tensor conv_grad_input_winograd(const at::Tensor& grad_out, const at::Tensor& weight, const ConvGeometry& g,
                                    int64_t tile);
at::Tensor conv_grad_weight_winograd(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g,
                                     int64_t tile);

// Whether F(4x4, 3x3) runs on this CPU for g.
bool winograd_4x4_runs(const ConvGeometry& g);

// The three passes of a 1x1 convolution with no padding at `stride` > 1 (ResNet's
// downsampling shortcuts), as x's every stride-th row and column, copied
// contiguous, through a stride-1 oneDNN convolution: the same products. oneDNN's
// strided 1x1 backward ran 2-3x slower than this on ResNet-18's shortcuts (Zen 3).
at::Tensor conv_forward_subsampled(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                   int64_t stride);
at::Tensor conv_grad_input_subsampled(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                      int64_t stride);
at::Tensor conv_grad_weight_subsampled(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                       int64_t stride);

// The geometry of conv(x, weight) at this stride and padding.
ConvGeometry conv_geometry(const at::Tensor& x, const at::Tensor& weight, int64_t stride, int64_t padding);

}  // namespace wattlab::zoo
