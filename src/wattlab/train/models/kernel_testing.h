// Test helper shared by the tests of the zoo's own kernels (depthwise_conv,
// gemm_conv): how far a result is from LibTorch's.
#pragma once

#include <torch/types.h>

namespace wattlab::zoo {

// max |actual - expected| as a share of max |expected| (of 1 when expected is
// all zeros): float32 sums in another order differ by ~1e-7 of the largest value.
inline double relative_to_max(const torch::Tensor& actual, const torch::Tensor& expected) {
  const double scale = expected.abs().max().item<double>();
  return (actual - expected).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

}  // namespace wattlab::zoo
