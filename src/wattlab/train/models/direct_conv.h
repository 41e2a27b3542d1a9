// A 3x3 convolution at stride 1 with zero padding 1, computed directly: nine
// multiply-adds per input channel and output pixel, vectorised along each
// output row. For inputs of few channels Winograd's transforms and im2row's
// copies cost more than the products: the chess square classifier's first
// layer (1 -> 16 channels on 64 crops of 32x32) took 1.8 ms by Winograd,
// ~28 ms by oneDNN, half the model's forward pass. Torch-free; the forward
// pass only (conv_dispatch.h offers it where autograd does not record).
// Internal to train/.
#pragma once

#include <cstdint>

namespace wattlab::zoo {

// y [images, out_channels, height, width] = conv(x [images, in_channels,
// height, width], weight [out_channels, in_channels, 3, 3]) + bias
// [out_channels] (bias may be null), all contiguous float32. Each output
// element sums bias, then the input channels in order, each as its three
// kernel rows top to bottom: the same bits on every run. Images [begin, end)
// only, so that callers split the batch across threads.
void direct_conv3x3_forward(const float* x, int64_t in_channels, int64_t height, int64_t width, const float* weight,
                            const float* bias, int64_t out_channels, int64_t begin, int64_t end, float* y);

}  // namespace wattlab::zoo
