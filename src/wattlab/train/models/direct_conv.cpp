#include "wattlab/train/models/direct_conv.h"

#include "wattlab/train/models/sgemm.h"

#include <algorithm>
#include <vector>

namespace wattlab::zoo {

namespace {

// The kernel, compiled once per instruction set below (the compiler
// vectorises the row loop with the widest vectors it is allowed).
__attribute__((always_inline)) inline void forward_images(const float* x, int64_t in_channels, int64_t height,
                                                          int64_t width, const float* weight, const float* bias,
                                                          int64_t out_channels, int64_t begin, int64_t end,
                                                          float* y) {
  const int64_t padded_w = width + 2, padded_plane = (height + 2) * padded_w;
  // One image's input with its zero border, so that every output row reads
  // three whole padded rows.
  std::vector<float> padded(static_cast<size_t>(in_channels * padded_plane), 0.0f);
  for (int64_t n = begin; n < end; ++n) {
    for (int64_t c = 0; c < in_channels; ++c) {
      const float* plane = x + (n * in_channels + c) * height * width;
      for (int64_t r = 0; r < height; ++r)
        std::copy(plane + r * width, plane + (r + 1) * width, &padded[c * padded_plane + (r + 1) * padded_w + 1]);
    }
    for (int64_t o = 0; o < out_channels; ++o) {
      const float* w = weight + o * in_channels * 9;
      const float b = bias != nullptr ? bias[o] : 0.0f;
      float* out = y + (n * out_channels + o) * height * width;
      for (int64_t r = 0; r < height; ++r) {
        float* __restrict row = out + r * width;
        for (int64_t j = 0; j < width; ++j) row[j] = b;
        for (int64_t c = 0; c < in_channels; ++c) {
          for (int64_t k = 0; k < 3; ++k) {
            const float* __restrict p = &padded[c * padded_plane + (r + k) * padded_w];
            const float w0 = w[(c * 3 + k) * 3], w1 = w[(c * 3 + k) * 3 + 1], w2 = w[(c * 3 + k) * 3 + 2];
            for (int64_t j = 0; j < width; ++j) row[j] += w0 * p[j] + w1 * p[j + 1] + w2 * p[j + 2];
          }
        }
      }
    }
  }
}

__attribute__((target("avx512f,avx2,fma"))) void forward_avx512(const float* x, int64_t in_channels, int64_t height,
                                                                int64_t width, const float* weight, const float* bias,
                                                                int64_t out_channels, int64_t begin, int64_t end,
                                                                float* y) {
  forward_images(x, in_channels, height, width, weight, bias, out_channels, begin, end, y);
}

__attribute__((target("avx2,fma"))) void forward_avx2(const float* x, int64_t in_channels, int64_t height,
                                                      int64_t width, const float* weight, const float* bias,
                                                      int64_t out_channels, int64_t begin, int64_t end, float* y) {
  forward_images(x, in_channels, height, width, weight, bias, out_channels, begin, end, y);
}

void forward_baseline(const float* x, int64_t in_channels, int64_t height, int64_t width, const float* weight,
                      const float* bias, int64_t out_channels, int64_t begin, int64_t end, float* y) {
  forward_images(x, in_channels, height, width, weight, bias, out_channels, begin, end, y);
}

}  // namespace

void direct_conv3x3_forward(const float* x, int64_t in_channels, int64_t height, int64_t width, const float* weight,
                            const float* bias, int64_t out_channels, int64_t begin, int64_t end, float* y) {
  // The CPU's features, as sgemm detects them (its micro-kernels need the same ones).
  auto* forward = sgemm_isa_available(SgemmIsa::kAvx512) ? forward_avx512
                  : sgemm_isa_available(SgemmIsa::kAvx2)  ? forward_avx2
                                                          : forward_baseline;
  forward(x, in_channels, height, width, weight, bias, out_channels, begin, end, y);
}

}  // namespace wattlab::zoo
