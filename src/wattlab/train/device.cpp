#include "wattlab/train/device.h"

#include <torch/cuda.h>
#include <torch/version.h>


namespace wattlab {

CudaInfo cuda_info() {
  CudaInfo info;
  info.available = torch::cuda::is_available();
  info.device_count = static_cast<int64_t>(torch::cuda::device_count());
  return info;
}

Status check_device(const std::string& device, const CudaInfo& cuda) {
  Result<DeviceSpec> spec = parse_device(device);
  if (!spec.ok() || !spec->cuda) return spec.status();
  const std::string found = "torch::cuda::is_available() is " + std::string(cuda.available ? "true" : "false") +
                            ", torch::cuda::device_count() is " + std::to_string(cuda.device_count);
  if (!cuda.available || cuda.device_count < 1) {
    return Status::invalid_argument(
        "--device " + device + ": this LibTorch (" TORCH_VERSION ") sees no CUDA device (" + found +
        "): it was built without CUDA (Debian's libtorch-dev is), or no GPU or driver is visible; build wattlab "
        "against a CUDA LibTorch with cmake -DTorch_DIR=<libtorch>/share/cmake/Torch (see README, \"Other "
        "LibTorch builds\"), or use --device cpu");
  }
  if (spec->index >= cuda.device_count) {
    return Status::invalid_argument("--device " + device + ": no CUDA device " + std::to_string(spec->index) + " (" +
                                    found + "); use cuda:0" +
                                    (cuda.device_count > 1 ? " to cuda:" + std::to_string(cuda.device_count - 1) : "") +
                                    ", or check CUDA_VISIBLE_DEVICES");
  }
  return Status();
}

Status check_device(const std::string& device) {
  Result<DeviceSpec> spec = parse_device(device);
  if (!spec.ok() || !spec->cuda) return spec.status();
  return check_device(device, cuda_info());
}

}  // namespace wattlab
