#include "wattlab/train/models/conv_dispatch.h"

#include <ATen/Parallel.h>
#include <ATen/ops/convolution.h>
#include <ATen/ops/convolution_backward.h>
#include <ATen/ops/empty.h>
#include <torch/autograd.h>

#include <functional>
#include <optional>

#include "wattlab/train/autocast.h"
#include "wattlab/train/kernel_dispatch.h"
#include "wattlab/train/models/depthwise_conv.h"
#include "wattlab/train/models/direct_conv.h"
#include "wattlab/train/models/gemm_conv.h"
#include "wattlab/train/models/sgemm.h"

namespace wattlab::zoo {
namespace {

// im2row's lowered input (rows x pixels floats) above this is not offered:
// the workspace only grows, and ResNet-18's layer 4 needs 19 MB at batch 64.
constexpr int64_t kMaxLoweredFloats = int64_t{16} << 20;

// The largest output map im2row + sgemm is offered for: it lost to oneDNN
// (0.5-1.06x) on 7x7 and 8x8 maps on Zen 3, and larger ones cost more memory.
constexpr int64_t kMaxGemmOutputPixels = 64;

// The most input channels the direct 3x3 is offered for: its products grow
// with them, while Winograd's transforms are shared by all of them.
constexpr int64_t kMaxDirectInChannels = 4;

c10::optional<at::Tensor> optional(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}

ConvGeometry geometry(const at::Tensor& x, const at::Tensor& weight, const ConvSettings& s) {
  return conv_geometry(x, weight, s.stride, s.padding);
}

at::Tensor libtorch_grad(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                         const ConvSettings& s, bool input) {
  const auto grads = at::convolution_backward(grad_out, x, weight, c10::nullopt, {s.stride, s.stride},
                                              {s.padding, s.padding}, {1, 1}, false, {0, 0}, s.groups,
                                              {input, !input, false});
  return input ? std::get<0>(grads) : std::get<1>(grads);
}

// x and weight as plain_conv requires; the batch split across LibTorch's threads.
at::Tensor direct_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t channels = x.size(1), height = x.size(2), width = x.size(3), out = weight.size(0);
  at::Tensor y = at::empty({x.size(0), out, height, width}, x.options());
  const at::Tensor b = bias.defined() ? bias.contiguous() : bias;
  const float* x_data = x.data_ptr<float>();
  const float* w_data = weight.data_ptr<float>();
  const float* b_data = b.defined() ? b.data_ptr<float>() : nullptr;
  float* y_data = y.data_ptr<float>();
  at::parallel_for(0, x.size(0), 1, [&](int64_t begin, int64_t end) {
    direct_conv3x3_forward(x_data, channels, height, width, w_data, b_data, out, begin, end, y_data);
  });
  return y;
}

at::Tensor run_forward(ConvKernel kernel, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const ConvSettings& s) {
  switch (kernel) {
    case ConvKernel::kDepthwise: return depthwise_forward(x, weight, s.stride);
    case ConvKernel::kWinograd: return conv_forward_winograd(x, weight, bias, geometry(x, weight, s), 2);
    case ConvKernel::kWinograd4x4: return conv_forward_winograd(x, weight, bias, geometry(x, weight, s), 4);
    case ConvKernel::kGemm: return conv_forward_gemm(x, weight, bias, geometry(x, weight, s));
    case ConvKernel::kSubsampled: return conv_forward_subsampled(x, weight, bias, s.stride);
    case ConvKernel::kDirect: return direct_forward(x, weight, bias);
    case ConvKernel::kLibTorch: break;
  }
  return at::convolution(x, weight, optional(bias), {s.stride, s.stride}, {s.padding, s.padding}, {1, 1}, false,
                         {0, 0}, s.groups);
}

// grad_out contiguous.
at::Tensor run_grad_input(ConvKernel kernel, const at::Tensor& grad_out, const at::Tensor& x,
                          const at::Tensor& weight, const ConvSettings& s) {
  switch (kernel) {
    case ConvKernel::kDepthwise: return depthwise_grad_input(grad_out, x, weight, s.stride);
    case ConvKernel::kWinograd: return conv_grad_input_winograd(grad_out, weight, geometry(x, weight, s), 2);
    case ConvKernel::kWinograd4x4: return conv_grad_input_winograd(grad_out, weight, geometry(x, weight, s), 4);
    case ConvKernel::kGemm: return conv_grad_input_gemm(grad_out, weight, geometry(x, weight, s));
    case ConvKernel::kSubsampled: return conv_grad_input_subsampled(grad_out, x, weight, s.stride);
    case ConvKernel::kDirect:  // not offered where gradients are needed
    case ConvKernel::kLibTorch: break;
  }
  return libtorch_grad(grad_out, x, weight, s, /*input=*/true);
}

// grad_out contiguous.
at::Tensor run_grad_weight(ConvKernel kernel, const at::Tensor& grad_out, const at::Tensor& x,
                           const at::Tensor& weight, const ConvSettings& s) {
  switch (kernel) {
    case ConvKernel::kDepthwise: return depthwise_grad_weight(grad_out, x, weight, s.stride);
    case ConvKernel::kWinograd: return conv_grad_weight_winograd(grad_out, x, geometry(x, weight, s), 2);
    case ConvKernel::kWinograd4x4: return conv_grad_weight_winograd(grad_out, x, geometry(x, weight, s), 4);
    case ConvKernel::kGemm: return conv_grad_weight_gemm(grad_out, x, geometry(x, weight, s));
    case ConvKernel::kSubsampled: return conv_grad_weight_subsampled(grad_out, x, weight, s.stride);
    case ConvKernel::kDirect:  // not offered where gradients are needed
    case ConvKernel::kLibTorch: break;
  }
  return libtorch_grad(grad_out, x, weight, s, /*input=*/false);
}

class PlannedConv2dFunction : public torch::autograd::Function<PlannedConv2dFunction> {
 public:
  // bias: [O], or empty for none (autograd's apply takes no undefined tensors).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, int64_t stride, int64_t padding, int64_t groups,
                            int64_t forward_kernel, int64_t grad_input_kernel, int64_t grad_weight_kernel) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["grad_input"] = grad_input_kernel;
    ctx->saved_data["grad_weight"] = grad_weight_kernel;
    ctx->saved_data["has_bias"] = bias.numel() > 0;
    return run_forward(static_cast<ConvKernel>(forward_kernel), x, weight, bias.numel() > 0 ? bias : at::Tensor(),
                       {stride, padding, groups});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const ConvSettings s{ctx->saved_data["stride"].toInt(), ctx->saved_data["padding"].toInt(),
                         ctx->saved_data["groups"].toInt()};
    const at::Tensor grad_out = grads[0].contiguous();
    at::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) {
      grad_x = run_grad_input(static_cast<ConvKernel>(ctx->saved_data["grad_input"].toInt()), grad_out, saved[0],
                              saved[1], s);
    }
    if (ctx->needs_input_grad(1)) {
      grad_weight = run_grad_weight(static_cast<ConvKernel>(ctx->saved_data["grad_weight"].toInt()), grad_out,
                                    saved[0], saved[1], s);
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) grad_bias = grad_out.sum({0, 2, 3});
    return {grad_x,       grad_weight,  grad_bias,    at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// CPU float32 contiguous NCHW tensors, equal strides and paddings, no
// dilation, autocast off: what every kernel of ours needs.
bool plain_conv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::IntArrayRef stride,
                at::IntArrayRef padding, at::IntArrayRef dilation) {
  for (const at::Tensor* t : {&x, &weight}) {
    if (!t->device().is_cpu() || t->layout() != at::kStrided || t->scalar_type() != at::kFloat ||
        t->dim() != 4 || !t->is_contiguous() || t->numel() == 0) {
      return false;
    }
  }
  if (bias.defined() && (!bias.device().is_cpu() || bias.scalar_type() != at::kFloat)) return false;
  if (stride.size() != 2 || padding.size() != 2 || dilation.size() != 2) return false;
  return stride[0] == stride[1] && padding[0] == padding[1] && dilation[0] == 1 && dilation[1] == 1 &&
         !autocast::enabled(/*cuda=*/false);
}

// "conv 64->64 k3x3 s1 p1 64x28x28" (batch x height x width last): what a
// measurement's speed depends on.
std::string shape_text(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const ConvSettings& s) {
  std::string text = "conv " + std::to_string(x.size(1)) + "->" + std::to_string(weight.size(0)) + " k" +
                     std::to_string(weight.size(2)) + "x" + std::to_string(weight.size(3)) + " s" +
                     std::to_string(s.stride) + " p" + std::to_string(s.padding);
  if (s.groups != 1) text += " g" + std::to_string(s.groups);
  if (bias.defined()) text += " bias";
  return text + " " + std::to_string(x.size(0)) + "x" + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3));
}

}  // namespace

const char* conv_kernel_name(ConvKernel kernel) {
  switch (kernel) {
    case ConvKernel::kLibTorch: return kLibTorchKernel;
    case ConvKernel::kDepthwise: return "depthwise";
    case ConvKernel::kWinograd: return "winograd";
    case ConvKernel::kGemm: return "gemm";
    case ConvKernel::kSubsampled: return "subsampled";
    case ConvKernel::kDirect: return "direct";
    case ConvKernel::kWinograd4x4: return "winograd4x4";
  }
  return kLibTorchKernel;
}

std::vector<ConvKernel> conv_kernels(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                                     int64_t groups) {
  std::vector<ConvKernel> kernels = {ConvKernel::kLibTorch};
  if (depthwise_conv_computes(x, weight, bias, stride, padding, dilation, groups)) {
    kernels.push_back(ConvKernel::kDepthwise);
    return kernels;
  }
  if (groups != 1 || !plain_conv(x, weight, bias, stride, padding, dilation) || weight.size(1) != x.size(1)) {
    return kernels;
  }
  const int64_t k = weight.size(2);
  if (weight.size(3) != k) return kernels;
  if (k == 1 && padding[0] == 0 && stride[0] > 1) kernels.push_back(ConvKernel::kSubsampled);
  if (k != 3 || !sgemm_available()) return kernels;
  const ConvGeometry g = conv_geometry(x, weight, stride[0], padding[0]);
  const int64_t pixels = g.out_height * g.out_width;
  const bool gemm = g.out_height >= 1 && g.out_width >= 1 && pixels <= kMaxGemmOutputPixels &&
                    g.batch * pixels * g.in_channels * 9 <= kMaxLoweredFloats;
  const bool winograd = stride[0] == 1 && padding[0] == 1;
  const bool records = at::GradMode::is_enabled() &&
                       (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  const bool direct = winograd && g.in_channels <= kMaxDirectInChannels && !records;
  // --kernels wattlab's preference: the direct 3x3 on few input channels, im2row + sgemm on the smallest
  // maps (ResNet-18's 4x4), Winograd elsewhere, F(2x2, 3x3) before F(4x4, 3x3) (nearer LibTorch's sums).
  if (direct) kernels.push_back(ConvKernel::kDirect);
  if (gemm && pixels <= 16) kernels.push_back(ConvKernel::kGemm);
  if (winograd) kernels.push_back(ConvKernel::kWinograd);
  if (winograd && winograd_4x4_runs(g)) kernels.push_back(ConvKernel::kWinograd4x4);
  if (gemm && pixels > 16) kernels.push_back(ConvKernel::kGemm);
  return kernels;
}

ConvPlan choose_conv_plan(const std::string& layer, const at::Tensor& x, const at::Tensor& weight,
                          const at::Tensor& bias, const ConvSettings& settings, const std::vector<ConvKernel>& kernels) {
  const bool records = at::GradMode::is_enabled();
  const bool input_grad = records && x.requires_grad(), weight_grad = records && weight.requires_grad();
  KernelChooser& chooser = kernel_chooser();
  const std::string shape = shape_text(x, weight, bias, settings);
  at::NoGradGuard no_grad;  // measuring builds no graph
  std::optional<at::Tensor> grad_out;  // LibTorch's output: the gradients' stand-in, made when first needed
  auto output_gradient = [&]() -> const at::Tensor& {
    if (!grad_out) grad_out = run_forward(ConvKernel::kLibTorch, x, weight, bias, settings).contiguous();
    return *grad_out;
  };
  auto choose = [&](const char* pass, const std::function<void(ConvKernel)>& run) {
    std::vector<KernelCandidate> candidates;
    for (ConvKernel k : kernels) candidates.push_back({conv_kernel_name(k), [&run, k] { run(k); }});
    return kernels[chooser.choose(layer, shape, pass, candidates)];
  };
  ConvPlan plan;
  plan.forward = choose("forward", [&](ConvKernel k) { run_forward(k, x, weight, bias, settings); });
  if (input_grad) {
    plan.grad_input = choose("input_grad", [&](ConvKernel k) { run_grad_input(k, output_gradient(), x, weight, settings); });
  }
  if (weight_grad) {
    plan.grad_weight =
        choose("weight_grad", [&](ConvKernel k) { run_grad_weight(k, output_gradient(), x, weight, settings); });
  }
  return plan;
}

at::Tensor conv2d_planned(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                          const ConvSettings& settings, const ConvPlan& plan) {
  return PlannedConv2dFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, weight.options()),
                                      settings.stride, settings.padding, settings.groups,
                                      static_cast<int64_t>(plan.forward), static_cast<int64_t>(plan.grad_input),
                                      static_cast<int64_t>(plan.grad_weight));
}

}  // namespace wattlab::zoo
