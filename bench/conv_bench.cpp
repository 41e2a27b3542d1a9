// Per-layer convolution speed: oneDNN's forward, input gradient and weight
// gradient (what nn::Conv2d runs) against ours (models/gemm_conv.h: Winograd
// F(2x2, 3x3) for stride 1 on maps over 16 pixels, else im2row + sgemm) with
// each sgemm micro-kernel the CPU runs (AVX2, AVX-512), and F(4x4, 3x3) for
// stride 1 where it runs (AVX-512), on ResNet-18's
// 3x3 layers at 28x28 and 32x32 inputs
// (or the layers given), batch 64, one thread; then ResNet-18's 1x1 stride-2
// shortcuts, forward + backward, strided against subsampled. A and B alternate
// within each repetition; prints the median CPU time of the calling thread
// (steadier than wall time on a shared machine; wall time with --threads > 1), GFLOP/s, the median
// per-repetition ratio, and the largest difference between the two results
// relative to the largest value.
//
//   conv_bench [--reps 7] [--batch 64] [--threads 1] [IN,OUT,STRIDE,SIDE ...]
#include <ATen/Parallel.h>
#include <ATen/ops/convolution_backward.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/train/models/conv_dispatch.h"
#include "wattlab/train/models/gemm_conv.h"
#include "wattlab/train/models/sgemm.h"

namespace {

// CPU time of the calling thread with one thread (steadier than wall time on
// a shared machine); wall time with more, whose work the caller's clock misses.
bool wall_clock = false;

double now_s() {
  timespec t{};
  clock_gettime(wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double time_s(const std::function<void()>& work) {
  const double start = now_s();
  work();
  return now_s() - start;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Layer {
  int64_t in, out, stride, side;  // 3x3 kernel, padding 1
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  int64_t batch = 64;
  int threads = 1;
  std::vector<Layer> layers;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = std::atoll(argv[++i]);
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      Layer l{};
      if (std::sscanf(argv[i], "%ld,%ld,%ld,%ld", &l.in, &l.out, &l.stride, &l.side) != 4) {
        std::fprintf(stderr, "conv_bench: %s is not IN,OUT,STRIDE,SIDE (e.g. 512,512,1,4)\n", argv[i]);
        return 2;
      }
      layers.push_back(l);
    }
  }
  if (reps < 1 || batch < 1 || threads < 1) {
    std::fprintf(stderr, "conv_bench: --reps, --batch and --threads must be at least 1\n");
    return 2;
  }
  if (layers.empty()) {
    // ResNet-18's 3x3 convolutions past the stem at 28x28 (maps 28, 14, 7, 4) and 32x32 (32, 16, 8, 4).
    layers = {{512, 512, 1, 4},   {256, 512, 2, 7},   {256, 512, 2, 8},   {256, 256, 1, 7},
              {256, 256, 1, 8},   {128, 256, 2, 14},  {128, 256, 2, 16},  {128, 128, 1, 14},
              {128, 128, 1, 16},  {64, 128, 2, 28},   {64, 128, 2, 32},   {64, 64, 1, 28},
              {64, 64, 1, 32}};
  }
  at::set_num_threads(threads);
  wall_clock = threads > 1;
  // Ours with each sgemm micro-kernel this CPU runs; then F(4x4, 3x3) on the widest.
  struct Variant {
    wattlab::zoo::SgemmIsa isa;
    int64_t tile;  // Winograd's output tile: 2, or 4 for F(4x4, 3x3)
  };
  std::vector<Variant> variants;
  for (auto isa : {wattlab::zoo::SgemmIsa::kAvx2, wattlab::zoo::SgemmIsa::kAvx512}) {
    if (wattlab::zoo::sgemm_isa_available(isa)) variants.push_back({isa, 2});
  }
  const wattlab::zoo::SgemmIsa widest = variants.back().isa;
  std::printf("batch=%ld threads=%d reps=%d (median %s ms; GFLOP/s)\n", batch, threads, reps,
              wall_clock ? "wall-clock" : "thread CPU");
  for (const Layer& l : layers) {
    const at::Tensor x = at::randn({batch, l.in, l.side, l.side});
    const at::Tensor w = at::randn({l.out, l.in, 3, 3}) * 0.05;
    const at::Tensor y = at::mkldnn_convolution(x, w, c10::nullopt, {1, 1}, {l.stride, l.stride}, {1, 1}, 1);
    const at::Tensor grad_out = at::randn(y.sizes());
    const wattlab::zoo::ConvGeometry g = wattlab::zoo::conv_geometry(x, w, l.stride, 1);
    const double flop = 2.0 * static_cast<double>(batch * l.out * l.in * 9 * g.out_height * g.out_width);
    // Ours as the zoo's Conv picks it: Winograd for stride 1 on maps over 16 pixels, else im2row + sgemm.
    const bool winograd = l.stride == 1 && g.out_height * g.out_width > 16;
    namespace zoo = wattlab::zoo;
    std::vector<Variant> ours = variants;
    if (l.stride == 1 && zoo::winograd_4x4_runs(g)) ours.push_back({widest, 4});
    int64_t tile = 2;  // of the variant being run
    auto onednn_grad = [&](bool input, bool weight) {
      return at::convolution_backward(grad_out, x, w, c10::nullopt, {l.stride, l.stride}, {1, 1}, {1, 1}, false,
                                      {0, 0}, 1, {input, weight, false});
    };
    struct Pass {
      const char* name;
      std::function<at::Tensor()> onednn, ours;
      std::vector<double> onednn_s;
      std::vector<std::vector<double>> ours_s, ratio;  // per variant in `ours`
    };
    Pass passes[] = {
        {"fwd", [&] { return at::mkldnn_convolution(x, w, c10::nullopt, {1, 1}, {l.stride, l.stride}, {1, 1}, 1); },
         [&] { return winograd || tile == 4 ? zoo::conv_forward_winograd(x, w, at::Tensor(), g, tile) : zoo::conv_forward_gemm(x, w, at::Tensor(), g); }, {}, {}, {}},
        {"grad input", [&] { return std::get<0>(onednn_grad(true, false)); },
         [&] { return winograd || tile == 4 ? zoo::conv_grad_input_winograd(grad_out, w, g, tile) : zoo::conv_grad_input_gemm(grad_out, w, g); }, {}, {}, {}},
        {"grad weight", [&] { return std::get<1>(onednn_grad(false, true)); },
         [&] { return winograd || tile == 4 ? zoo::conv_grad_weight_winograd(grad_out, x, g, tile) : zoo::conv_grad_weight_gemm(grad_out, x, g); }, {}, {}, {}},
    };
    for (Pass& p : passes) {
      p.ours_s.resize(ours.size());
      p.ratio.resize(ours.size());
    }
    for (int r = 0; r < reps; ++r) {
      for (Pass& p : passes) {
        p.onednn_s.push_back(time_s([&] { p.onednn(); }));
        for (size_t i = 0; i < ours.size(); ++i) {
          zoo::set_sgemm_isa(ours[i].isa);
          tile = ours[i].tile;
          p.ours_s[i].push_back(time_s([&] { p.ours(); }));
          p.ratio[i].push_back(p.onednn_s.back() / p.ours_s[i].back());
        }
      }
    }
    auto shown = [&](const std::vector<double>& t) {
      const double s = median(t);
      return std::to_string(static_cast<int>(s * 1e3 + 0.5)) + " ms (" +
             std::to_string(static_cast<int>(flop / s / 1e9 + 0.5)) + ")";
    };
    std::printf("%ld->%ld s%ld %ldx%ld->%ldx%ld (ours: %s):\n", l.in, l.out, l.stride, l.side, l.side, g.out_height,
                g.out_width, winograd ? "winograd" : "gemm");
    for (Pass& p : passes) {
      const at::Tensor reference = p.onednn();
      std::printf("  %-11s oneDNN %s", p.name, shown(p.onednn_s).c_str());
      for (size_t i = 0; i < ours.size(); ++i) {
        zoo::set_sgemm_isa(ours[i].isa);
        tile = ours[i].tile;
        const at::Tensor result = p.ours();
        const double rel_error = ((result - reference).abs().max() / reference.abs().max()).item<double>();
        std::printf(" | ours %s%s %s, speedup %.2fx, max rel diff %.1e", zoo::sgemm_isa_name(ours[i].isa),
                    ours[i].tile == 4 ? " 4x4" : "", shown(p.ours_s[i]).c_str(), median(p.ratio[i]), rel_error);
      }
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  // ResNet-18's 1x1 stride-2 shortcuts (maps 28/32 -> 14/16 -> 7/8 -> 4): forward + backward through
  // autograd, LibTorch's conv2d against the subsampled kernel (conv_dispatch.h).
  const Layer shortcuts[] = {{64, 128, 2, 28}, {64, 128, 2, 32}, {128, 256, 2, 14},
                             {128, 256, 2, 16}, {256, 512, 2, 7},  {256, 512, 2, 8}};
  for (const Layer& l : shortcuts) {
    const at::Tensor x = at::randn({batch, l.in, l.side, l.side}).requires_grad_();
    const at::Tensor w = at::randn({l.out, l.in, 1, 1}).requires_grad_();
    std::vector<double> strided, sampled, ratio;
    for (int r = 0; r < reps; ++r) {
      strided.push_back(time_s([&] { at::conv2d(x, w, {}, l.stride).sum().backward(); }));
      sampled.push_back(time_s([&] {
        const wattlab::zoo::ConvKernel k = wattlab::zoo::ConvKernel::kSubsampled;
        wattlab::zoo::conv2d_planned(x, w, {}, {l.stride, 0, 1}, {k, k, k}).sum().backward();
      }));
      ratio.push_back(strided.back() / sampled.back());
    }
    std::printf("shortcut %ld->%ld 1x1 s%ld %ldx%ld, forward + backward: strided %.1f ms, subsampled %.1f ms, "
                "speedup %.2fx\n",
                l.in, l.out, l.stride, l.side, l.side, median(strided) * 1e3, median(sampled) * 1e3, median(ratio));
    std::fflush(stdout);
  }
  return 0;
}
