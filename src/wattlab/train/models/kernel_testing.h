// Test helpers shared by the tests of the zoo's own kernels (batch_norm,
// depthwise_conv, gemm_conv, conv_dispatch): how far a result is from
// LibTorch's, fresh tensors that start as NaN, and forcing which kernels run.
#pragma once

#include <c10/util/Flags.h>
#include <torch/types.h>

#include <cmath>

#include "wattlab/train/kernel_dispatch.h"
#include "wattlab/train/models/conv_dispatch.h"
#include "wattlab/train/models/kernel_session.h"

// LibTorch's allocator fills new CPU memory with a NaN pattern when this is set.
C10_DECLARE_bool(caffe2_cpu_allocator_do_junk_fill);

namespace wattlab::zoo {

// Every CPU tensor a test that includes this header allocates, its kernels'
// outputs included (at::empty), starts as NaN instead of whatever the memory
// held last: an output a kernel never writes is NaN, and relative_to_max
// fails on it, where stale memory could have held the right value.
inline const bool kFreshTensorsStartAsNan = (FLAGS_caffe2_cpu_allocator_do_junk_fill = true);

// max |actual - expected| as a share of max |expected| (of 1 when expected is
// all zeros): float32 sums in another order differ by ~1e-7 of the largest
// value. Infinite when `actual` holds a NaN or an infinity (an unwritten output).
inline double relative_to_max(const torch::Tensor& actual, const torch::Tensor& expected) {
  if (!torch::isfinite(actual).all().item<bool>()) return INFINITY;
  const double scale = expected.abs().max().item<double>();
  return (actual - expected).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

// Makes the zoo's layers run the kernels --kernels `mode` forces (or replay
// `choices`, "shape|pass" -> implementation, in auto mode) while it lives, so
// that a test knows which kernels it checks.
class ForcedKernels {
 public:
  explicit ForcedKernels(KernelMode mode, const std::map<std::string, std::string>& choices = {})
      : chooser_(options(mode)), session_((chooser_.replay(choices), chooser_)) {}

  const KernelChooser& chooser() const { return chooser_; }

 private:
  static KernelChooserOptions options(KernelMode mode) {
    KernelChooserOptions o;
    o.mode = mode;
    o.cache_scope = "tests";
    return o;
  }

  KernelChooser chooser_;
  KernelSession session_;
};

// The same kernel for every pass.
inline ConvPlan every_pass(ConvKernel kernel) { return {kernel, kernel, kernel}; }

}  // namespace wattlab::zoo
