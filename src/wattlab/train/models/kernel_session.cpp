#include "wattlab/train/models/kernel_session.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "wattlab/train/kernel_dispatch.h"
#include "wattlab/train/models/layers.h"

namespace wattlab::zoo {
namespace {

std::atomic<KernelChooser*> session_chooser{nullptr};
std::atomic<uint64_t> session_serial{1};

}  // namespace

KernelChooser& kernel_chooser() {
  if (KernelChooser* chooser = session_chooser.load()) return *chooser;
  static KernelChooser fallback([] {
    KernelChooserOptions options;
    options.clock_s = kernel_clock_s;
    options.cache_scope = kernel_cache_scope(at::get_num_threads(), TORCH_VERSION);
    return options;
  }());
  return fallback;
}

KernelSession::KernelSession(KernelChooser& chooser) : previous_(session_chooser.exchange(&chooser)) {
  ++session_serial;
}

KernelSession::~KernelSession() {
  session_chooser.store(previous_);
  ++session_serial;
}

uint64_t kernel_session_serial() { return session_serial.load(); }

double kernel_clock_s() {
  timespec t{};
  clock_gettime(at::get_num_threads() == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void reuse_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);             // every block from the heap (mmap only where it cannot grow)
    mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and the heap's top is not given back below 1 GiB
  });
}

void name_kernel_layers(torch::nn::Module& model) {
  for (const auto& item : model.named_modules()) {
    if (auto* conv = dynamic_cast<ConvImpl*>(item.value().get())) conv->set_kernel_layer(item.key());
    if (auto* bn = dynamic_cast<BatchNormImpl*>(item.value().get())) bn->set_kernel_layer(item.key());
  }
}

}  // namespace wattlab::zoo
