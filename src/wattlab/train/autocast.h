// LibTorch's autocast switches for the CPU or CUDA, across the LibTorch
// versions wattlab builds against: LibTorch 2.4 takes the device type as an
// argument and deprecates the per-device calls, the only ones Debian's 1.13
// has (each deprecated call prints a warning, once per training step).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace wattlab::autocast {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)

inline bool enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }

inline at::ScalarType dtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }

inline void set(bool cuda, bool on, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
}

#else

inline bool enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }

inline at::ScalarType dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}

inline void set(bool cuda, bool on, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  }
}

#endif

}  // namespace wattlab::autocast
