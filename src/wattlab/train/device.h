// Where training and inference run: the CPU, or a CUDA device of the LibTorch
// wattlab was built against (`--device cpu|cuda|cuda:N`). The header is
// torch-free; device.cpp asks LibTorch which CUDA devices it sees.
#pragma once

#include <cstdint>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

struct DeviceSpec {
  bool cuda = false;  // false: the CPU
  int index = 0;      // the CUDA device's index ("cuda" alone is device 0)

  // "cpu" or "cuda:N", as torch::Device parses it; what runs record.
  std::string name() const;
};

// Parses --device: "cpu", "cuda" (device 0) or "cuda:N" with N a decimal
// index. InvalidArgument naming --device and the accepted forms otherwise.
Result<DeviceSpec> parse_device(const std::string& text);

// What LibTorch reports about CUDA.
struct CudaInfo {
  bool available = false;    // torch::cuda::is_available()
  int64_t device_count = 0;  // torch::cuda::device_count()
};

// This process's LibTorch's answer (false and 0 with a CPU-only LibTorch such
// as Debian's libtorch-dev, or with no GPU or driver).
CudaInfo cuda_info();

// OK if --device `device` parses and, for a CUDA device, `cuda` says it
// exists. Otherwise InvalidArgument naming --device, what LibTorch reported,
// and the fix (a CUDA LibTorch through -DTorch_DIR, another index, or
// --device cpu).
Status check_device(const std::string& device, const CudaInfo& cuda);

// check_device(device, cuda_info()); asks LibTorch only for a CUDA device.
Status check_device(const std::string& device);

}  // namespace wattlab
