// The small networks' "ReLU, then 2x2 max-pool" (the cnn and LeNet-5 after
// each convolution) in one pass where no gradient is needed. LibTorch 1.13's
// max_pool2d on the CPU always computes max_pool2d_with_indices, writing an
// int64 index beside every output, with a scalar loop for NCHW maps: in the
// chess square classifier (64 crops of 32x32, cnn at width 0.5) it was ~60 %
// of the forward pass. Internal to train/.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace wattlab::zoo {

// max_pool2d(relu(x), kernel 2, stride 2) for x [N, C, H, W] (output
// [N, C, H/2, W/2], odd last rows and columns dropped as max_pool2d's floor
// mode does). For contiguous float CPU tensors when autograd will not record
// (grad mode off, or x needing no gradient): one pass of our own, equal to
// LibTorch's result bit for bit, NaN propagated as there. Otherwise LibTorch's
// relu_ (in place: x is the layer's own output) and max_pool2d, differentiable.
at::Tensor relu_max_pool2x2(at::Tensor x);

// The kernel: `planes` maps of height x width floats at `in` (contiguous)
// into planes maps of (height/2) x (width/2) at `out`.
void relu_max_pool2x2_planes(const float* in, int64_t planes, int64_t height, int64_t width, float* out);

}  // namespace wattlab::zoo
