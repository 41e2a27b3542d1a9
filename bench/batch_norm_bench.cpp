// zoo::BatchNorm (own kernels, activation fused) against LibTorch's
// nn::BatchNorm2d followed by the in-place activation (what the zoo ran
// before), on the feature maps of MobileNetV2 and ResNet-18 training at 28x28:
// training forward, training forward + backward, and eval forward in
// inference mode. Runs A and B interleaved on one thread and prints the
// median thread CPU time of each and their ratio.
//
//   batch_norm_bench [--reps 15]
#include <ATen/Parallel.h>
#include <torch/nn/modules/batchnorm.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/train/models/kernel_session.h"

#include "wattlab/train/models/batch_norm.h"
#include "wattlab/train/models/layers.h"

namespace {

using wattlab::zoo::Activation;

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

torch::Tensor libtorch_forward(torch::nn::BatchNorm2d& bn, const torch::Tensor& x, Activation a) {
  torch::Tensor y = bn->forward(x);
  return a == Activation::kRelu ? torch::relu_(y) : torch::hardtanh_(y, 0, 6);
}

// Median thread CPU ms of `ours` and `theirs`, run alternately `reps` times after one warm-up each.
void compare(const char* what, int reps, const std::function<void()>& ours, const std::function<void()>& theirs) {
  ours();
  theirs();
  std::vector<double> a, b;
  for (int r = 0; r < reps; ++r) {
    double t0 = thread_cpu_ms();
    ours();
    a.push_back(thread_cpu_ms() - t0);
    t0 = thread_cpu_ms();
    theirs();
    b.push_back(thread_cpu_ms() - t0);
  }
  std::printf("%-44s zoo %8.3f ms  libtorch %8.3f ms  speed-up %5.2fx\n", what, median(a), median(b),
              median(b) / median(a));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // zoo::BatchNorm runs its own kernels in both passes (--kernels wattlab), whatever a measurement would pick.
  wattlab::KernelChooserOptions forced;
  forced.mode = wattlab::KernelMode::kWattlab;
  wattlab::KernelChooser chooser(forced);
  wattlab::zoo::KernelSession session(chooser);
  int reps = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: batch_norm_bench [--reps N]\n");
      return 2;
    }
  }
  if (reps < 1) reps = 1;
  at::set_num_threads(1);
  struct Case { std::vector<int64_t> shape; Activation fused; const char* name; };
  const std::vector<Case> cases = {{{64, 144, 14, 14}, Activation::kRelu6, "[64,144,14,14] relu6"},
                                   {{64, 96, 28, 28}, Activation::kRelu6, "[64,96,28,28] relu6"},
                                   {{64, 512, 4, 4}, Activation::kRelu, "[64,512,4,4] relu"}};
  for (const Case& c : cases) {
    torch::manual_seed(1);
    const torch::Tensor x = (torch::randn(c.shape) * 2 + 0.5).requires_grad_(true);
    const torch::Tensor upstream = torch::randn(c.shape);
    wattlab::zoo::BatchNorm ours(c.shape[1], c.fused);
    torch::nn::BatchNorm2d theirs(c.shape[1]);
    const std::string name = c.name;
    compare((name + " train forward").c_str(), reps, [&] { ours->forward(x); },
            [&] { libtorch_forward(theirs, x, c.fused); });
    // x's gradient is dropped before each step, so its backward stores dx rather than adding it to the last one.
    compare((name + " train forward+backward").c_str(), reps,
            [&] {
              x.mutable_grad() = torch::Tensor();
              ours->forward(x).backward(upstream);
            },
            [&] {
              x.mutable_grad() = torch::Tensor();
              libtorch_forward(theirs, x, c.fused).backward(upstream);
            });
    ours->eval();
    theirs->eval();
    c10::InferenceMode inference;
    const torch::Tensor plain = x.detach().clone();
    compare((name + " eval forward (inference mode)").c_str(), reps, [&] { ours->forward(plain); },
            [&] { libtorch_forward(theirs, plain, c.fused); });
  }
  return 0;
}
