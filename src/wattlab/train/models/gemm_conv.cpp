#include "wattlab/train/models/gemm_conv.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/convolution_backward.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <ATen/ops/zeros_like.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "wattlab/train/models/sgemm.h"
#include "wattlab/train/models/winograd.h"


namespace wattlab::zoo {
namespace {

// rows[(b * oh + i) * ow + j][(c * k + kh) * k + kw] = x[b][c][i*s + kh - p][j*s + kw - p],
// 0 where that falls in the padding: one row per output pixel, its receptive
// field as the columns. With kBack, the adjoint instead: each row entry is
// added to the x element it was read from (x zeroed beforehand), the input
// gradient from the rows' gradient. Each sample is visited by one thread, in
// order, so the sums are the same every run.
template <bool kBack>
void im2row(std::conditional_t<kBack, float*, const float*> x, std::conditional_t<kBack, const float*, float*> rows,
            const ConvGeometry& g) {
  const int64_t k = g.kernel, in_h = g.in_height, in_w = g.in_width;
  const int64_t row_length = g.in_channels * k * k;
  const int64_t sample_in = g.in_channels * in_h * in_w;
  const int64_t sample_rows = g.out_height * g.out_width * row_length;
  at::parallel_for(0, g.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      auto* xb = x + b * sample_in;
      auto* row = rows + b * sample_rows;
      for (int64_t i = 0; i < g.out_height; ++i) {
        const int64_t top = i * g.stride - g.padding;
        for (int64_t j = 0; j < g.out_width; ++j, row += row_length) {
          const int64_t left = j * g.stride - g.padding;
          // The kernel columns that fall inside the image: [kw_begin, kw_end).
          const int64_t kw_begin = std::max<int64_t>(0, -left), kw_end = std::min(k, in_w - left);
          auto* entry = row;
          for (int64_t c = 0; c < g.in_channels; ++c) {
            auto* plane = xb + c * in_h * in_w;
            for (int64_t kh = 0; kh < k; ++kh, entry += k) {
              const int64_t y = top + kh;
              const bool inside = y >= 0 && y < in_h;
              if constexpr (kBack) {
                if (!inside) continue;
                auto* line = plane + y * in_w;
                for (int64_t kw = kw_begin; kw < kw_end; ++kw) line[left + kw] += entry[kw];
              } else {
                if (!inside) {
                  std::fill(entry, entry + k, 0.0f);
                  continue;
                }
                const float* line = plane + y * in_w;
                for (int64_t kw = 0; kw < kw_begin; ++kw) entry[kw] = 0.0f;
                for (int64_t kw = kw_begin; kw < kw_end; ++kw) entry[kw] = line[left + kw];
                for (int64_t kw = std::max(kw_begin, kw_end); kw < k; ++kw) entry[kw] = 0.0f;
              }
            }
          }
        }
      }
    }
  });
}

// The transpose of im2row, written directly: cols[(c * k + kh) * k + kw][(b * oh + i) * ow + j]
// = x[b][c][i*s + kh - p][j*s + kw - p], 0 in the padding. The forward's
// product reads it row by row (sgemm packs B fastest from contiguous rows).
void im2col(const float* x, float* cols, const ConvGeometry& g) {
  const int64_t k = g.kernel, in_h = g.in_height, in_w = g.in_width, s = g.stride;
  const int64_t pixels = g.batch * g.out_height * g.out_width;
  at::parallel_for(0, g.in_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t kh = 0; kh < k; ++kh) {
        for (int64_t kw = 0; kw < k; ++kw) {
          // The output columns whose input column j*s + shift is inside the image: [j_begin, j_end).
          const int64_t shift = kw - g.padding;
          const int64_t j_begin = std::min(g.out_width, shift >= 0 ? 0 : (-shift + s - 1) / s);
          const int64_t j_end =
              in_w - 1 - shift < 0 ? j_begin : std::max(j_begin, std::min(g.out_width, (in_w - 1 - shift) / s + 1));
          float* out = cols + ((c * k + kh) * k + kw) * pixels;
          for (int64_t b = 0; b < g.batch; ++b) {
            const float* plane = x + (b * g.in_channels + c) * in_h * in_w;
            for (int64_t i = 0; i < g.out_height; ++i, out += g.out_width) {
              const int64_t y = i * s - g.padding + kh;
              if (y < 0 || y >= in_h) {
                std::fill(out, out + g.out_width, 0.0f);
                continue;
              }
              const float* line = plane + y * in_w;
              for (int64_t j = 0; j < j_begin; ++j) out[j] = 0.0f;
              for (int64_t j = j_begin; j < j_end; ++j) out[j] = line[j * s + shift];
              for (int64_t j = j_end; j < g.out_width; ++j) out[j] = 0.0f;
            }
          }
        }
      }
    }
  });
}

// `floats` floats of the calling thread's that only grow: the lowered input
// or its gradient, the step's largest temporaries (18.9 MB a call in
// ResNet-18's layer 4), then cost no fresh pages. Valid until the next call.
float* workspace(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

// grad_out [N, O, oh, ow] as [O, N * oh * ow].
at::Tensor channels_first(const at::Tensor& grad_out, const ConvGeometry& g) {
  return grad_out.reshape({g.batch, g.out_channels, -1}).transpose(0, 1).contiguous();
}

// x's every stride-th row and column, contiguous.
at::Tensor subsampled(const at::Tensor& x, int64_t stride) {
  return x.slice(2, 0, x.size(2), stride).slice(3, 0, x.size(3), stride).contiguous();
}

// sgemm with C's columns split among LibTorch's threads in whole tiles; the
// same result for any number of threads.
void parallel_sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                    int64_t b_row, int64_t b_col, float* c, int64_t ldc) {
  const int64_t tile = sgemm_tile_columns();
  at::parallel_for(0, (n + tile - 1) / tile, 1, [&](int64_t begin, int64_t end) {
    const int64_t first = begin * tile, last = std::min(n, end * tile);
    sgemm(m, last - first, k, a, a_row, a_col, b + first * b_col, b_row, b_col, c + first, ldc);
  });
}

}  // namespace

ConvGeometry conv_geometry(const at::Tensor& x, const at::Tensor& weight, int64_t stride, int64_t padding) {
  ConvGeometry g;
  g.batch = x.size(0);
  g.in_channels = x.size(1);
  g.in_height = x.size(2);
  g.in_width = x.size(3);
  g.out_channels = weight.size(0);
  g.kernel = weight.size(2);
  g.stride = stride;
  g.padding = padding;
  g.out_height = (g.in_height + 2 * padding - g.kernel) / stride + 1;
  g.out_width = (g.in_width + 2 * padding - g.kernel) / stride + 1;
  return g;
}

at::Tensor conv_forward_subsampled(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                   int64_t stride) {
  const at::Tensor sampled = subsampled(x, stride);
  const c10::optional<at::Tensor> b = bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
  return at::mkldnn_convolution(sampled, weight, b, {0, 0}, {1, 1}, {1, 1}, 1);
}

at::Tensor conv_grad_input_subsampled(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                      int64_t stride) {
  const at::Tensor sampled_grad = std::get<0>(at::convolution_backward(
      grad_out, subsampled(x, stride), weight, c10::nullopt, {1, 1}, {0, 0}, {1, 1}, false, {0, 0}, 1,
      {true, false, false}));
  // The pixels the subsampling skipped get no gradient.
  at::Tensor grad_x = at::zeros_like(x);
  grad_x.slice(2, 0, x.size(2), stride).slice(3, 0, x.size(3), stride).copy_(sampled_grad);
  return grad_x;
}

at::Tensor conv_grad_weight_subsampled(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                       int64_t stride) {
  return std::get<1>(at::convolution_backward(grad_out, subsampled(x, stride), weight, c10::nullopt, {1, 1},
                                              {0, 0}, {1, 1}, false, {0, 0}, 1, {false, true, false}));
}

at::Tensor conv_forward_gemm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             const ConvGeometry& g) {
  const int64_t pixels = g.batch * g.out_height * g.out_width;
  const int64_t row_length = g.in_channels * g.kernel * g.kernel;
  const at::Tensor xc = x.contiguous();
  float* cols = workspace(row_length * pixels);
  im2col(xc.data_ptr<float>(), cols, g);
  const at::Tensor w = weight.contiguous();
  // [O, N * oh * ow] = weight [O, C*k*k] x cols, then back to [N, O, oh, ow].
  at::Tensor out = at::empty({g.out_channels, pixels}, x.options());
  parallel_sgemm(g.out_channels, pixels, row_length, w.data_ptr<float>(), row_length, 1, cols,
                 pixels, 1, out.data_ptr<float>(), pixels);
  out = out.view({g.out_channels, g.batch, g.out_height, g.out_width}).transpose(0, 1).contiguous();
  if (bias.defined()) out.add_(bias.view({1, -1, 1, 1}));
  return out;
}

at::Tensor conv_grad_input_gemm(const at::Tensor& grad_out, const at::Tensor& weight, const ConvGeometry& g) {
  const int64_t pixels = g.batch * g.out_height * g.out_width;
  const int64_t row_length = g.in_channels * g.kernel * g.kernel;
  const at::Tensor go = channels_first(grad_out, g);
  const at::Tensor w = weight.contiguous();
  // The rows' gradient [N*oh*ow, C*k*k] = go^T x weight, then added back onto the pixels each row was read from.
  float* grad_rows = workspace(pixels * row_length);
  parallel_sgemm(pixels, row_length, g.out_channels, go.data_ptr<float>(), 1, pixels, w.data_ptr<float>(), row_length,
                 1, grad_rows, row_length);
  at::Tensor grad_x = at::zeros({g.batch, g.in_channels, g.in_height, g.in_width}, grad_out.options());
  im2row<true>(grad_x.data_ptr<float>(), grad_rows, g);
  return grad_x;
}

at::Tensor conv_grad_weight_gemm(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g) {
  const int64_t pixels = g.batch * g.out_height * g.out_width;
  const int64_t row_length = g.in_channels * g.kernel * g.kernel;
  const at::Tensor xc = x.contiguous();
  float* rows = workspace(pixels * row_length);
  im2row<false>(xc.data_ptr<float>(), rows, g);
  const at::Tensor go = channels_first(grad_out, g);
  // [O, C*k*k] = go [O, N*oh*ow] x rows, reducing over the batch's pixels.
  at::Tensor grad_weight = at::empty({g.out_channels, g.in_channels, g.kernel, g.kernel}, x.options());
  parallel_sgemm(g.out_channels, row_length, pixels, go.data_ptr<float>(), pixels, 1, rows,
                 row_length, 1, grad_weight.data_ptr<float>(), row_length);
  return grad_weight;
}

namespace {

// winograd.h's parallel loop on LibTorch's threads, down to pieces of one index.
void on_torch_threads(int64_t count, const std::function<void(int64_t, int64_t)>& body) {
  at::parallel_for(0, count, 1, body);
}

WinogradConv winograd_shape(const ConvGeometry& g, int64_t tile) {
  return {g.batch, g.in_channels, g.out_channels, g.in_height, g.in_width, tile};
}

}  // namespace

bool winograd_4x4_runs(const ConvGeometry& g) { return winograd_runs(winograd_shape(g, 4)); }

at::Tensor conv_forward_winograd(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const ConvGeometry& g, int64_t tile) {
  const at::Tensor xc = x.contiguous(), w = weight.contiguous();
  at::Tensor out = at::empty({g.batch, g.out_channels, g.out_height, g.out_width}, x.options());
  winograd_conv_forward(winograd_shape(g, tile), xc.data_ptr<float>(), w.data_ptr<float>(), out.data_ptr<float>(),
                        on_torch_threads);
  if (bias.defined()) out.add_(bias.view({1, -1, 1, 1}));
  return out;
}

at::Tensor conv_grad_input_winograd(const at::Tensor& grad_out, const at::Tensor& weight, const ConvGeometry& g,
                                    int64_t tile) {
  const at::Tensor go = grad_out.contiguous(), w = weight.contiguous();
  at::Tensor grad_x = at::empty({g.batch, g.in_channels, g.in_height, g.in_width}, grad_out.options());
  winograd_conv_grad_input(winograd_shape(g, tile), go.data_ptr<float>(), w.data_ptr<float>(),
                           grad_x.data_ptr<float>(), on_torch_threads);
  return grad_x;
}

at::Tensor conv_grad_weight_winograd(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g,
                                     int64_t tile) {
  const at::Tensor go = grad_out.contiguous(), xc = x.contiguous();
  at::Tensor grad_weight = at::empty({g.out_channels, g.in_channels, 3, 3}, x.options());
  winograd_conv_grad_weight(winograd_shape(g, tile), xc.data_ptr<float>(), go.data_ptr<float>(),
                            grad_weight.data_ptr<float>(), on_torch_threads);
  return grad_weight;
}

}  // namespace wattlab::zoo
