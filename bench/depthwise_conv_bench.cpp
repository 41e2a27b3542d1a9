// wattlab's depthwise convolution (models/depthwise_conv.h) against
// torch::conv2d with groups = channels (oneDNN underneath), on MobileNetV2's
// depthwise shapes at batch 64, 1 thread. Forward, and backward (grads wrt
// input and weight), A and B interleaved; prints each median in milliseconds
// of the thread's CPU time and torch / wattlab.
//
//   depthwise_conv_bench [--repeats 9] [--batch 64] [--kernel 3]
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

#include "wattlab/train/models/conv_dispatch.h"

namespace {

// CPU seconds the calling thread has used (steadier than wall time on a shared machine).
double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double time_ms(const std::function<void()>& work) {
  const double start = thread_cpu_s();
  work();
  return 1e3 * (thread_cpu_s() - start);
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 9;
  int64_t batch = 64, kernel = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--kernel")) kernel = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s (known: --repeats, --batch, --kernel)\n", argv[i]);
      return 2;
    }
  }
  at::set_num_threads(1);
  struct Shape { int64_t channels, side, stride; };
  const Shape shapes[] = {{144, 28, 1}, {144, 28, 2}, {192, 14, 1}, {192, 14, 2}, {576, 7, 1},
                          {576, 7, 2},  {384, 7, 1},  {960, 4, 1},  {96, 28, 1},  {32, 28, 1}};
  const int64_t padding = (kernel - 1) / 2;
  std::printf("shape                     stride  fwd torch  fwd ours  ratio   bwd torch  bwd ours  ratio   (ms, medians of %d)\n",
              repeats);
  double total_torch = 0, total_ours = 0;
  for (const Shape& s : shapes) {
    torch::manual_seed(1);
    const torch::Tensor x = torch::randn({batch, s.channels, s.side, s.side}).requires_grad_();
    const torch::Tensor weight = torch::randn({s.channels, 1, kernel, kernel}).requires_grad_();
    auto torch_forward = [&] { return torch::conv2d(x, weight, {}, s.stride, padding, 1, s.channels); };
    auto our_forward = [&] {
      const wattlab::zoo::ConvKernel k = wattlab::zoo::ConvKernel::kDepthwise;
      return wattlab::zoo::conv2d_planned(x, weight, {}, {s.stride, (weight.size(2) - 1) / 2, x.size(1)}, {k, k, k});
    };
    const torch::Tensor grad = torch::randn(torch_forward().sizes());
    std::vector<double> fwd_torch, fwd_ours, bwd_torch, bwd_ours;
    for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up and is not counted
      for (int which = 0; which < 2; ++which) {
        torch::Tensor y;
        const double forward_ms = time_ms([&] { y = which == 0 ? torch_forward() : our_forward(); });
        const double backward_ms = time_ms([&] { y.backward(grad); });
        x.mutable_grad().reset();
        weight.mutable_grad().reset();
        if (r == 0) continue;
        (which == 0 ? fwd_torch : fwd_ours).push_back(forward_ms);
        (which == 0 ? bwd_torch : bwd_ours).push_back(backward_ms);
      }
    }
    const double ft = median(fwd_torch), fo = median(fwd_ours), bt = median(bwd_torch), bo = median(bwd_ours);
    total_torch += ft + bt;
    total_ours += fo + bo;
    std::printf("[%3lld,%4lld,%2lld,%2lld]  %lldx%lld  s%lld   %8.2f  %8.2f  %5.2fx   %8.2f  %8.2f  %5.2fx\n",
                static_cast<long long>(batch), static_cast<long long>(s.channels), static_cast<long long>(s.side),
                static_cast<long long>(s.side), static_cast<long long>(kernel), static_cast<long long>(kernel),
                static_cast<long long>(s.stride), ft, fo, ft / fo, bt, bo, bt / bo);
  }
  std::printf("total forward+backward: torch %.1f ms, ours %.1f ms, %.2fx\n", total_torch, total_ours,
              total_torch / total_ours);
  return 0;
}
