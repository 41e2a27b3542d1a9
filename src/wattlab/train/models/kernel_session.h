// The kernel chooser (train/kernel_dispatch.h) that the zoo's convolutions
// and batch norms ask which implementation runs each pass, and what they
// share to ask it. Internal to train/.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace wattlab {
class KernelChooser;  // train/kernel_dispatch.h
}  // namespace wattlab

namespace wattlab::zoo {

// The chooser of the KernelSession in force; without one, a process-wide
// chooser in auto mode with no cache file (tests, inference).
KernelChooser& kernel_chooser();

// Makes `chooser` the one the layers ask, for its lifetime (the trainer, for
// one run). Sessions nest; one at a time per process, like the training
// itself (it sets LibTorch's global thread count and generator).
class KernelSession {
 public:
  explicit KernelSession(KernelChooser& chooser);
  KernelSession(const KernelSession&) = delete;
  KernelSession& operator=(const KernelSession&) = delete;
  ~KernelSession();

 private:
  KernelChooser* previous_;
};

// Seconds for comparing kernels: the calling thread's CPU time at one
// LibTorch thread (steadier on a shared machine), wall-clock time at more
// (the other threads' work is then the caller's wait).
double kernel_clock_s();

// Makes glibc keep freed blocks of any size for reuse (once per process;
// later calls do nothing): the main heap serves every block (no mmap, but
// where the heap cannot grow) and its top is not given back below 1 GiB. By
// default glibc returns a large freed block to the OS (munmap, or trimming
// the heap's top), and the next block of the same size faults in every page
// again: on a Zen 5 VM a 64-channel 28x28 convolution of LibTorch's took
// 105 ms with 6,276 page faults per call, and 21 ms with none after this;
// MobileNetV2's 64x144x32x32 maps (38 MB, above the 32 MiB that glibc's
// mmap threshold can be raised to) trained at 10.5 images per CPU second
// with mmap and 14 without. Training and measuring kernels both need it: a
// kernel's measured cost must be its cost in the steady state of training,
// not the allocator's. The process keeps its peak heap afterwards, and its
// freed blocks may fragment the heap instead of going back to the OS.
void reuse_freed_memory();

// Names each zoo::Conv and zoo::BatchNorm of `model` by its path
// ("layer1.0.conv1") in the chooser's records.
void name_kernel_layers(torch::nn::Module& model);

// Changes whenever a KernelSession starts or ends.
uint64_t kernel_session_serial();

// A layer's plan for its last input, so that the chooser is asked once per
// shape and not on every call: valid while the input's sizes, the flags the
// plan depends on (whether autograd records, training mode) and the session
// stay the same.
template <typename Plan>
class PlanMemo {
 public:
  const Plan* find(const at::Tensor& x, uint32_t flags) const {
    if (!plan_ || session_ != kernel_session_serial() || flags_ != flags || x.sizes() != at::IntArrayRef(sizes_)) {
      return nullptr;
    }
    return &*plan_;
  }
  const Plan& remember(const at::Tensor& x, uint32_t flags, Plan plan) {
    sizes_ = x.sizes().vec();
    flags_ = flags;
    session_ = kernel_session_serial();
    plan_ = plan;
    return *plan_;
  }

 private:
  std::vector<int64_t> sizes_;
  uint32_t flags_ = 0;
  uint64_t session_ = 0;
  std::optional<Plan> plan_;
};

}  // namespace wattlab::zoo
