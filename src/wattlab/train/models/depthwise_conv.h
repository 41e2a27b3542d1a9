// wattlab's depthwise convolution (groups == in == out channels) for the
// zoo's MobileNets and EfficientNet. LibTorch 1.13 sends these to oneDNN, which
// reorders every NCHW map to a blocked layout on each call and reaches 1-9
// GFLOP/s on them; they are memory-bound, and a direct NCHW kernel (one plane
// at a time, padded copy in cache, a branch-free inner loop over output
// columns that g++ vectorises) is several times faster, forward and backward.
// Internal to train/.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace wattlab::zoo {

// True when the depthwise_* passes below compute torch::conv2d(x, weight,
// bias, stride, padding, dilation, groups): x a 4-d float CPU tensor,
// contiguous NCHW (a channels-last map is not), with C channels; weight float
// CPU contiguous [C, 1, K, K] with K 3 or 5; groups == C; no bias; stride 1 or
// 2 and padding (K-1)/2, the same in both dimensions; dilation 1; CPU autocast
// off (under autocast torch runs the convolution in bfloat16, which this does
// not). Whether it is also faster than LibTorch's is measured (kernel_session.h):
// oneDNN was faster on 4x4 maps, 0.6x, and even on 7x7 ones with 576 channels.
bool depthwise_conv_computes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                             at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                             int64_t groups);

// The three passes of torch::conv2d(x, weight, {}, stride, (K-1)/2, 1, C) for
// the arguments depthwise_conv_computes accepts; dy is the output's gradient
// (any strides). Each output and gradient is summed in a fixed order: the same
// inputs give the same bits, whatever the number of threads.
torch::Tensor depthwise_forward(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride);
torch::Tensor depthwise_grad_input(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& weight,
                                   int64_t stride);
torch::Tensor depthwise_grad_weight(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& weight,
                                    int64_t stride);

}  // namespace wattlab::zoo
