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

// Maps smaller than this many pixels stay with oneDNN, faster there
// (measured at batch 64: 4x4 maps 0.6x oneDNN's speed, 7x7 1.0-1.7x).
inline constexpr int64_t kMinMapPixels = 49;

// True when depthwise_conv2d computes torch::conv2d(x, weight, bias, stride,
// padding, dilation, groups) and is the faster: x a 4-d float CPU tensor,
// contiguous NCHW (a channels-last map is not), with C channels and at least
// kMinMapPixels pixels a map; weight float CPU contiguous [C, 1, K, K] with K
// 3 or 5; groups == C; no bias; stride 1 or 2 and padding (K-1)/2, the same
// in both dimensions; dilation 1; CPU autocast off (under autocast torch runs
// the convolution in bfloat16, which this does not).
bool depthwise_conv_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                            int64_t groups);

// torch::conv2d(x, weight, {}, stride, (K-1)/2, 1, C) for the arguments
// depthwise_conv_applies to, but maps of any size (checked with TORCH_CHECK);
// differentiable with respect to x and weight, grads not needed are not
// computed. Every output and grad is summed in a fixed order: the same inputs
// give the same bits, whatever the number of threads.
torch::Tensor depthwise_conv2d(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride);

}  // namespace wattlab::zoo
