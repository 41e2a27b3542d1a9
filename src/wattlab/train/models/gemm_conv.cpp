#include "wattlab/train/models/gemm_conv.h"

#include <ATen/Parallel.h>
#include <ATen/ops/convolution_backward.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <torch/autograd.h>


namespace wattlab::zoo {
namespace {

// rows[(b * oh + i) * ow + j][(c * k + kh) * k + kw] = x[b][c][i*s + kh - p][j*s + kw - p],
// 0 where that falls in the padding: one row per output pixel, its receptive
// field as the columns. Each sample's rows are written by one thread, in order.
void im2row(const float* x, float* rows, const ConvGeometry& g) {
  const int64_t k = g.kernel, in_h = g.in_height, in_w = g.in_width;
  const int64_t row_length = g.in_channels * k * k;
  const int64_t sample_in = g.in_channels * in_h * in_w;
  const int64_t sample_rows = g.out_height * g.out_width * row_length;
  at::parallel_for(0, g.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* xb = x + b * sample_in;
      float* row = rows + b * sample_rows;
      for (int64_t i = 0; i < g.out_height; ++i) {
        const int64_t top = i * g.stride - g.padding;
        for (int64_t j = 0; j < g.out_width; ++j, row += row_length) {
          const int64_t left = j * g.stride - g.padding;
          float* out = row;
          for (int64_t c = 0; c < g.in_channels; ++c) {
            const float* plane = xb + c * in_h * in_w;
            for (int64_t kh = 0; kh < k; ++kh) {
              const int64_t y = top + kh;
              if (y < 0 || y >= in_h) {
                for (int64_t kw = 0; kw < k; ++kw) *out++ = 0.0f;
                continue;
              }
              const float* line = plane + y * in_w;
              for (int64_t kw = 0; kw < k; ++kw) {
                const int64_t xpos = left + kw;
                *out++ = (xpos >= 0 && xpos < in_w) ? line[xpos] : 0.0f;
              }
            }
          }
        }
      }
    }
  });
}

// A oneDNN convolution with no bias, stride 1, no padding or dilation: the
// matrix product of src's channels with weight's, whatever the batch size
// (LibTorch's own 1x1 path would take small batches to the system BLAS).
at::Tensor onednn_1x1(const at::Tensor& src, const at::Tensor& weight) {
  return at::mkldnn_convolution(src, weight, c10::nullopt, {0, 0}, {1, 1}, {1, 1}, 1);
}

class GemmConv2dFunction : public torch::autograd::Function<GemmConv2dFunction> {
 public:
  // bias: [O], or empty for none (autograd's apply takes no undefined tensors).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, int64_t stride, int64_t padding) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["has_bias"] = bias.numel() > 0;
    const c10::optional<at::Tensor> b = bias.numel() > 0 ? c10::optional<at::Tensor>(bias) : c10::nullopt;
    return at::mkldnn_convolution(x, weight, b, {padding, padding}, {stride, stride}, {1, 1}, 1);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& weight = saved[1];
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const int64_t padding = ctx->saved_data["padding"].toInt();
    const at::Tensor grad_out = grads[0].contiguous();
    at::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) {
      grad_x = std::get<0>(at::convolution_backward(grad_out, x, weight, c10::nullopt, {stride, stride},
                                                    {padding, padding}, {1, 1}, false, {0, 0}, 1,
                                                    {true, false, false}));
    }
    if (ctx->needs_input_grad(1)) {
      grad_weight = conv_grad_weight_gemm(grad_out, x, conv_geometry(x, weight, stride, padding));
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) grad_bias = grad_out.sum({0, 2, 3});
    return {grad_x, grad_weight, grad_bias, at::Tensor(), at::Tensor()};
  }
};

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

namespace {

// What both fast paths need: autograd recording a weight gradient, CPU float32
// contiguous NCHW tensors, groups 1, no dilation, equal strides and paddings.
bool plain_training_conv(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                         at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  if (!at::GradMode::is_enabled() || !weight.requires_grad()) return false;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  if (x.dim() != 4 || weight.dim() != 4 || !x.is_contiguous() || !weight.is_contiguous()) return false;
  if (groups != 1 || stride.size() != 2 || padding.size() != 2 || dilation.size() != 2) return false;
  return stride[0] == stride[1] && padding[0] == padding[1] && dilation[0] == 1 && dilation[1] == 1 &&
         weight.size(1) == x.size(1);
}

}  // namespace

bool gemm_conv_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  if (!plain_training_conv(x, weight, stride, padding, dilation, groups)) return false;
  if (weight.size(2) != 3 || weight.size(3) != 3) return false;
  const ConvGeometry g = conv_geometry(x, weight, stride[0], padding[0]);
  return g.out_height >= 1 && g.out_width >= 1 && g.out_height * g.out_width <= 16;
}

at::Tensor gemm_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                       int64_t padding) {
  return GemmConv2dFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, weight.options()), stride,
                                   padding);
}

bool subsampled_pointwise_applies(const at::Tensor& x, const at::Tensor& weight, at::IntArrayRef stride,
                                  at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups) {
  return plain_training_conv(x, weight, stride, padding, dilation, groups) && x.size(0) >= 16 &&
         weight.size(2) == 1 && weight.size(3) == 1 && padding[0] == 0 && stride[0] > 1;
}

at::Tensor subsampled_pointwise_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                       int64_t stride) {
  const at::Tensor sampled = x.slice(2, 0, x.size(2), stride).slice(3, 0, x.size(3), stride).contiguous();
  const c10::optional<at::Tensor> b = bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt;
  return at::mkldnn_convolution(sampled, weight, b, {0, 0}, {1, 1}, {1, 1}, 1);
}

at::Tensor conv_grad_weight_gemm(const at::Tensor& grad_out, const at::Tensor& x, const ConvGeometry& g) {
  const int64_t pixels = g.batch * g.out_height * g.out_width;
  const int64_t row_length = g.in_channels * g.kernel * g.kernel;
  const at::Tensor xc = x.contiguous();
  at::Tensor rows = at::empty({1, pixels, row_length, 1}, x.options());
  im2row(xc.data_ptr<float>(), rows.data_ptr<float>(), g);
  // grad_out as [O, N * oh * ow]: the reduction runs over the 1x1 conv's input channels.
  const at::Tensor lhs =
      grad_out.reshape({g.batch, g.out_channels, -1}).transpose(0, 1).contiguous().view({g.out_channels, pixels, 1, 1});
  return onednn_1x1(rows, lhs).view({g.out_channels, g.in_channels, g.kernel, g.kernel});
}

}  // namespace wattlab::zoo
