#include "wattlab/train/models/depthwise_conv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "wattlab/train/autocast.h"

namespace wattlab::zoo {
namespace {

// The sizes of one call: x [n, c, h, w], a k x k kernel at stride s with
// padding p = (k-1)/2, y [n, c, oh, ow].
struct Geometry {
  Geometry(const torch::Tensor& x, int64_t kernel, int64_t stride_)
      : n(x.size(0)), c(x.size(1)), h(x.size(2)), w(x.size(3)), k(kernel), s(stride_), p((kernel - 1) / 2),
        oh((h + 2 * p - k) / s + 1), ow((w + 2 * p - k) / s + 1) {}
  int64_t n, c, h, w, k, s, p, oh, ow;
};

// Planes per parallel task: enough work that a task outweighs its start.
int64_t plane_grain(int64_t plane_size) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane_size)); }

// Copies a rows x cols plane into a grid grid_cols wide at (row0, col0). The
// grid's other cells were zeroed once by the caller and are never written:
// the kernels read them as the convolution's zero padding, without a bounds check.
void place(const float* src, int64_t rows, int64_t cols, float* grid, int64_t grid_cols, int64_t row0, int64_t col0) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(grid + (row0 + r) * grid_cols + col0, src + r * cols, static_cast<size_t>(cols) * sizeof(float));
  }
}

// Copies rows x cols out of a grid grid_cols wide, from row row0, column 0.
void take(const float* grid, int64_t grid_cols, int64_t row0, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * cols, grid + (row0 + r) * grid_cols, static_cast<size_t>(cols) * sizeof(float));
  }
}

// Four floats in one SSE register (g++'s vector extension; SSE2 is x86-64's baseline).
typedef float Float4 __attribute__((vector_size(16)));

Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// ---- Stride 1: each plane as one flat array ----
//
// A plane padded by p goes into a grid cols = w + 2p wide, and a correlation
// runs over the grid as one flat array: output i reads grid[i + kh*cols + kw],
// and is the plane's (oh, ow) at i = oh * cols + ow. One loop of
// (h - 1) * cols + w outputs covers the plane, which g++ vectorises, where a
// loop per row of a 4x4 or 7x7 map would have nothing to vectorise. The 2p
// positions after each row are computed and dropped (or, for grad weight,
// meet zeros).
// (Stacking the planes of one channel from several images into one grid,
// tried, was slower: those planes lie c*h*w floats apart.)
int64_t flat_outputs(const Geometry& g) { return (g.h - 1) * (g.w + 2 * g.p) + g.w; }

template <int K>
void correlate_flat(const float* __restrict grid, int64_t cols, const float* __restrict wk, float* __restrict out,
                    int64_t n_flat) {
  for (int64_t i = 0; i < n_flat; ++i) {
    float acc = 0.0f;
    for (int kh = 0; kh < K; ++kh) {
      for (int kw = 0; kw < K; ++kw) acc += grid[i + kh * cols + kw] * wk[kh * K + kw];
    }
    out[i] = acc;
  }
}

// sums[kh*K + kw] += the sum over positions i of dy_grid[i] * grid[i + kh*cols
// + kw], i in [0, n_flat) rounded up to 4 (dy_grid is zero past n_flat, and
// both grids have 4 floats of slack). Each tap sums in a register of four
// lanes in a fixed order, then into a double: the loop has one load per
// multiply-add and stores nothing.
template <int K>
void accumulate_taps_flat(const float* __restrict grid, int64_t cols, const float* __restrict dy_grid,
                          int64_t n_flat, double* __restrict sums) {
  Float4 acc[K * K] = {};
  for (int64_t i = 0; i < n_flat; i += 4) {
    const Float4 d = load4(dy_grid + i);
    for (int kh = 0; kh < K; ++kh) {
      for (int kw = 0; kw < K; ++kw) acc[kh * K + kw] += d * load4(grid + i + kh * cols + kw);
    }
  }
  for (int t = 0; t < K * K; ++t) {
    sums[t] += static_cast<double>(acc[t][0]) + acc[t][1] + acc[t][2] + acc[t][3];
  }
}

// dst = src correlated with each channel's kernel at stride 1, src and dst
// [n, c, h, w]: the forward (flip false), or, given dy, the grad wrt input
// (flip true: the kernel turned 180 degrees).
void flat_correlate(const Geometry& g, const float* src, const float* weight, bool flip, float* dst) {
  const int64_t taps = g.k * g.k, plane_size = g.h * g.w, cols = g.w + 2 * g.p, n_flat = flat_outputs(g);
  at::parallel_for(0, g.n * g.c, plane_grain(plane_size), [&](int64_t begin, int64_t end) {
    std::vector<float> grid(static_cast<size_t>((g.h + 2 * g.p) * cols), 0.0f), out(grid.size());
    for (int64_t plane = begin; plane < end; ++plane) {
      const float* w = weight + (plane % g.c) * taps;
      float wk[25];
      for (int64_t t = 0; t < taps; ++t) wk[t] = w[flip ? taps - 1 - t : t];
      place(src + plane * plane_size, g.h, g.w, grid.data(), cols, g.p, g.p);
      if (g.k == 3) {
        correlate_flat<3>(grid.data(), cols, wk, out.data(), n_flat);
      } else {
        correlate_flat<5>(grid.data(), cols, wk, out.data(), n_flat);
      }
      take(out.data(), cols, 0, g.h, g.w, dst + plane * plane_size);
    }
  });
}

// dw at stride 1: per channel, the images in order, each adding its taps.
void flat_grad_weight(const Geometry& g, const float* x, const float* dy, float* dw) {
  const int64_t taps = g.k * g.k, plane_size = g.h * g.w, cols = g.w + 2 * g.p, n_flat = flat_outputs(g);
  at::parallel_for(0, g.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> grid(static_cast<size_t>((g.h + 2 * g.p) * cols + 4), 0.0f), dy_grid(grid.size(), 0.0f);
    for (int64_t channel = begin; channel < end; ++channel) {
      double sums[25] = {};
      for (int64_t image = 0; image < g.n; ++image) {
        const int64_t offset = (image * g.c + channel) * plane_size;
        place(x + offset, g.h, g.w, grid.data(), cols, g.p, g.p);
        place(dy + offset, g.h, g.w, dy_grid.data(), cols, 0, 0);
        if (g.k == 3) {
          accumulate_taps_flat<3>(grid.data(), cols, dy_grid.data(), n_flat, sums);
        } else {
          accumulate_taps_flat<5>(grid.data(), cols, dy_grid.data(), n_flat, sums);
        }
      }
      for (int64_t t = 0; t < taps; ++t) dw[channel * taps + t] = static_cast<float>(sums[t]);
    }
  });
}

// ---- Stride 2: plane by plane, row by row ----

// y[oh][ow] = sum over kh, kw of xp[2*oh + kh][2*ow + kw] * weight[kh][kw], xp
// the input plane padded by (K-1)/2 with xp_cols columns.
template <int K>
void strided_forward_plane(const float* __restrict xp, int64_t xp_cols, const float* __restrict weight,
                           float* __restrict y, int64_t oh_n, int64_t ow_n) {
  float wk[K * K];
  for (int i = 0; i < K * K; ++i) wk[i] = weight[i];
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    const float* __restrict in = xp + 2 * oh * xp_cols;
    float* __restrict out = y + oh * ow_n;
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      float acc = 0.0f;
      for (int kh = 0; kh < K; ++kh) {
        for (int kw = 0; kw < K; ++kw) acc += in[kh * xp_cols + 2 * ow + kw] * wk[kh * K + kw];
      }
      out[ow] = acc;
    }
  }
}

// One row of the grad wrt input, the transposed convolution: input row
// ih = 2a + RH gets, at column 2q + rw, the sum over the taps (kh, kw) that
// reach it, dy[a + (RH+P-kh)/2][q + (rw+P-kw)/2] * weight[kh][kw] for the kh,
// kw where those divisions are exact. dyp is dy padded by P = (K-1)/2 with
// dyp_cols columns; row receives 2 * q_n columns.
template <int K, int RH>
void strided_grad_input_row(const float* __restrict dyp, int64_t dyp_cols, int64_t a, const float* __restrict wk,
                            float* __restrict row, int64_t q_n) {
  constexpr int P = (K - 1) / 2;
  const float* __restrict base = dyp + (a + P) * dyp_cols + P;
  for (int64_t q = 0; q < q_n; ++q) {
    for (int rw = 0; rw < 2; ++rw) {
      float acc = 0.0f;
      for (int kh = 0; kh < K; ++kh) {
        if ((RH + P - kh) % 2 != 0) continue;
        const int64_t row_offset = (RH + P - kh) / 2 * dyp_cols;
        for (int kw = 0; kw < K; ++kw) {
          if ((rw + P - kw) % 2 != 0) continue;
          acc += base[row_offset + q + (rw + P - kw) / 2] * wk[kh * K + kw];
        }
      }
      row[2 * q + rw] = acc;
    }
  }
}

// The grad wrt one input plane (h x w); row is scratch of 2 * ceil(w / 2) floats.
template <int K>
void strided_grad_input_plane(const float* __restrict dyp, int64_t dyp_cols, const float* __restrict weight,
                              float* __restrict dx, int64_t h, int64_t w, float* __restrict row) {
  float wk[K * K];
  for (int i = 0; i < K * K; ++i) wk[i] = weight[i];
  const int64_t q_n = (w + 1) / 2;
  for (int64_t ih = 0; ih < h; ++ih) {
    if (ih % 2 == 0) {
      strided_grad_input_row<K, 0>(dyp, dyp_cols, ih / 2, wk, row, q_n);
    } else {
      strided_grad_input_row<K, 1>(dyp, dyp_cols, ih / 2, wk, row, q_n);
    }
    std::memcpy(dx + ih * w, row, static_cast<size_t>(w) * sizeof(float));
  }
}

// sums[kh*K + kw] += the sum over oh, ow of dy[oh][ow] * xp[2*oh + kh][2*ow + kw],
// dy in rows dy_cols wide (a multiple of 4, zero past the map's width), xp
// padded by (K-1)/2 with 32 floats of slack after it. As accumulate_taps_flat:
// four lanes per tap in a fixed order, then a double; the even columns of
// two loads are one shuffle.
template <int K>
void strided_accumulate_taps(const float* __restrict xp, int64_t xp_cols, const float* __restrict dy,
                             int64_t dy_cols, int64_t oh_n, double* __restrict sums) {
  typedef int Int4 __attribute__((vector_size(16)));
  Float4 acc[K * K] = {};
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    for (int64_t ow = 0; ow < dy_cols; ow += 4) {
      const Float4 d = load4(dy + oh * dy_cols + ow);
      for (int kh = 0; kh < K; ++kh) {
        const float* in = xp + (2 * oh + kh) * xp_cols + 2 * ow;
        for (int kw = 0; kw < K; ++kw) {
          acc[kh * K + kw] += d * __builtin_shuffle(load4(in + kw), load4(in + kw + 4), Int4{0, 2, 4, 6});
        }
      }
    }
  }
  for (int t = 0; t < K * K; ++t) {
    sums[t] += static_cast<double>(acc[t][0]) + acc[t][1] + acc[t][2] + acc[t][3];
  }
}

torch::Tensor forward_kernel(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride) {
  const Geometry g(x, weight.size(2), stride);
  torch::Tensor y = torch::empty({g.n, g.c, g.oh, g.ow}, x.options());
  const float* xd = x.data_ptr<float>();
  const float* wd = weight.data_ptr<float>();
  float* yd = y.data_ptr<float>();
  if (g.s == 1) {
    flat_correlate(g, xd, wd, /*flip=*/false, yd);
    return y;
  }
  const auto plane_forward = g.k == 3 ? &strided_forward_plane<3> : &strided_forward_plane<5>;
  const int64_t xp_cols = g.w + 2 * g.p;
  at::parallel_for(0, g.n * g.c, plane_grain(g.h * g.w), [&](int64_t begin, int64_t end) {
    std::vector<float> xp(static_cast<size_t>((g.h + 2 * g.p) * xp_cols), 0.0f);
    for (int64_t plane = begin; plane < end; ++plane) {
      place(xd + plane * g.h * g.w, g.h, g.w, xp.data(), xp_cols, g.p, g.p);
      plane_forward(xp.data(), xp_cols, wd + (plane % g.c) * g.k * g.k, yd + plane * g.oh * g.ow, g.oh, g.ow);
    }
  });
  return y;
}

// dy contiguous [n, c, oh, ow]; returns the grad wrt x.
torch::Tensor grad_input_kernel(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& dy,
                                int64_t stride) {
  const Geometry g(x, weight.size(2), stride);
  torch::Tensor dx = torch::empty_like(x);
  const float* dyd = dy.data_ptr<float>();
  const float* wd = weight.data_ptr<float>();
  float* dxd = dx.data_ptr<float>();
  if (g.s == 1) {
    flat_correlate(g, dyd, wd, /*flip=*/true, dxd);
    return dx;
  }
  const auto plane_grad = g.k == 3 ? &strided_grad_input_plane<3> : &strided_grad_input_plane<5>;
  const int64_t dyp_cols = g.ow + 2 * g.p;
  at::parallel_for(0, g.n * g.c, plane_grain(g.h * g.w), [&](int64_t begin, int64_t end) {
    std::vector<float> dyp(static_cast<size_t>((g.oh + 2 * g.p) * dyp_cols), 0.0f);
    std::vector<float> row(static_cast<size_t>(2 * ((g.w + 1) / 2)));
    for (int64_t plane = begin; plane < end; ++plane) {
      place(dyd + plane * g.oh * g.ow, g.oh, g.ow, dyp.data(), dyp_cols, g.p, g.p);
      plane_grad(dyp.data(), dyp_cols, wd + (plane % g.c) * g.k * g.k, dxd + plane * g.h * g.w, g.h, g.w, row.data());
    }
  });
  return dx;
}

// dy contiguous [n, c, oh, ow]; returns the grad wrt weight, each channel's
// taps summed over images 0..n-1 in order.
torch::Tensor grad_weight_kernel(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& dy,
                                 int64_t stride) {
  const Geometry g(x, weight.size(2), stride);
  torch::Tensor dw = torch::empty_like(weight);
  const float* xd = x.data_ptr<float>();
  const float* dyd = dy.data_ptr<float>();
  float* dwd = dw.data_ptr<float>();
  if (g.s == 1) {
    flat_grad_weight(g, xd, dyd, dwd);
    return dw;
  }
  const auto accumulate = g.k == 3 ? &strided_accumulate_taps<3> : &strided_accumulate_taps<5>;
  const int64_t xp_cols = g.w + 2 * g.p, dy_cols = (g.ow + 3) / 4 * 4;
  const int64_t taps = g.k * g.k;
  at::parallel_for(0, g.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> xp(static_cast<size_t>((g.h + 2 * g.p) * xp_cols + 32), 0.0f);
    std::vector<float> dy_rows(static_cast<size_t>(g.oh * dy_cols), 0.0f);
    for (int64_t channel = begin; channel < end; ++channel) {
      double sums[25] = {};
      for (int64_t image = 0; image < g.n; ++image) {
        const int64_t plane = image * g.c + channel;
        place(xd + plane * g.h * g.w, g.h, g.w, xp.data(), xp_cols, g.p, g.p);
        place(dyd + plane * g.oh * g.ow, g.oh, g.ow, dy_rows.data(), dy_cols, 0, 0);
        accumulate(xp.data(), xp_cols, dy_rows.data(), dy_cols, g.oh, sums);
      }
      for (int64_t t = 0; t < taps; ++t) dwd[channel * taps + t] = static_cast<float>(sums[t]);
    }
  });
  return dw;
}

}  // namespace

bool depthwise_conv_computes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                             at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                             int64_t groups) {
  if (!x.defined() || !weight.defined() || bias.defined()) return false;
  if (x.dim() != 4 || weight.dim() != 4 || x.numel() == 0) return false;
  for (const torch::Tensor* t : {&x, &weight}) {
    if (!t->device().is_cpu() || t->layout() != torch::kStrided || t->scalar_type() != torch::kFloat ||
        !t->is_contiguous()) {
      return false;
    }
  }
  const int64_t channels = x.size(1), kernel = weight.size(2);
  if (groups != channels || weight.size(0) != channels || weight.size(1) != 1 || weight.size(3) != kernel) return false;
  if (kernel != 3 && kernel != 5) return false;
  if (stride.size() != 2 || stride[0] != stride[1] || (stride[0] != 1 && stride[0] != 2)) return false;
  if (padding.size() != 2 || padding[0] != (kernel - 1) / 2 || padding[1] != (kernel - 1) / 2) return false;
  if (dilation.size() != 2 || dilation[0] != 1 || dilation[1] != 1) return false;
  return !autocast::enabled(/*cuda=*/false);
}

torch::Tensor depthwise_forward(const torch::Tensor& x, const torch::Tensor& weight, int64_t stride) {
  return forward_kernel(x, weight, stride);
}

torch::Tensor depthwise_grad_input(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& weight,
                                   int64_t stride) {
  return grad_input_kernel(x, weight, dy.contiguous(), stride);
}

torch::Tensor depthwise_grad_weight(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& weight,
                                    int64_t stride) {
  return grad_weight_kernel(x, weight, dy.contiguous(), stride);
}

}  // namespace wattlab::zoo
