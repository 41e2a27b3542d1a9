#include "wattlab/train/models/batch_norm.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <array>
#include <cmath>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <tuple>

#include "wattlab/train/kernel_dispatch.h"
#include "wattlab/train/models/kernel_session.h"
#include "wattlab/train/models/layers.h"

// Debian's LibTorch 1.13 does not export BatchNormImplBase's members (the
// template is not TORCH_API), and a class derived from BatchNorm2dImpl needs
// this one in its construction vtables: LibTorch's own definition
// (torch/csrc/api/src/nn/modules/batchnorm.cpp), specialised for 2-d.
namespace torch::nn {
template <>
void BatchNormImplBase<2, BatchNorm2dImpl>::pretty_print(std::ostream& stream) const {
  stream << std::boolalpha << "torch::nn::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ", momentum=";
  if (options.momentum().has_value()) {
    stream << options.momentum().value();
  } else {
    stream << "None";
  }
  stream << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats() << ")";
}
}  // namespace torch::nn

namespace wattlab::zoo {
namespace {

using torch::autograd::AutogradContext;

// A contiguous [N, C, H, W] map: channel c of sample n is the `plane`
// (H*W) floats from (n * channels + c) * plane.
struct MapShape {
  int64_t batch;
  int64_t channels;
  int64_t plane;

  int64_t offset(int64_t n, int64_t c) const { return (n * channels + c) * plane; }
  int64_t per_channel() const { return batch * plane; }
};

// Channels per parallel task: enough for at least this many values each.
constexpr int64_t kValuesPerTask = 1 << 16;

int64_t channels_per_task(const MapShape& s) { return std::max<int64_t>(1, kValuesPerTask / s.per_channel()); }

// Sums term(j) over the values j of channel c (j indexes the map), in float
// with kLanes independent accumulators, which g++ vectorises at the Debian
// baseline (SSE2, four 4-float registers) without -ffast-math, the order fixed
// by the code; the float sums move into double after every plane that brings
// them to kFlushValues values (one 28x28 plane, 64 4x4 ones), so small
// planes do not pay a horizontal sum each. Each `term` call writes its kTerms
// addends into `out`.
constexpr int64_t kLanes = 16;
constexpr int64_t kFlushValues = 1024;

template <int kTerms, typename Term>
std::array<double, kTerms> channel_sums(const MapShape& s, int64_t c, Term term) {
  std::array<double, kTerms> totals{};
  float lanes[kTerms][kLanes] = {};
  float tail[kTerms] = {};
  int64_t pending = 0;  // values in lanes and tail
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t base = s.offset(n, c);
    int64_t i = 0;
    for (; i + kLanes <= s.plane; i += kLanes) {
      for (int64_t k = 0; k < kLanes; ++k) {
        float addends[kTerms];
        term(base + i + k, addends);
        for (int t = 0; t < kTerms; ++t) lanes[t][k] += addends[t];
      }
    }
    for (; i < s.plane; ++i) {
      float addends[kTerms];
      term(base + i, addends);
      for (int t = 0; t < kTerms; ++t) tail[t] += addends[t];
    }
    pending += s.plane;
    if (pending >= kFlushValues || n + 1 == s.batch) {
      for (int t = 0; t < kTerms; ++t) {
        float sum = tail[t];
        for (int64_t k = 0; k < kLanes; ++k) sum += lanes[t][k];
        totals[t] += sum;
        tail[t] = 0.f;
        for (int64_t k = 0; k < kLanes; ++k) lanes[t][k] = 0.f;
      }
      pending = 0;
    }
  }
  return totals;
}

// The activation fused after the normalisation: its output, and whether its
// backward passes the gradient at output `y` (LibTorch's threshold_backward
// and hardtanh_backward; NaN passes as there).
template <Activation A>
inline float activated(float v) {
  if constexpr (A == Activation::kRelu) return v < 0.f ? 0.f : v;
  if constexpr (A == Activation::kRelu6) return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
  return v;
}

// Bitwise, not short-circuit, and with the gradient loaded unconditionally by
// the callers, so that the loops stay branch-free and vectorise.
template <Activation A>
inline bool gradient_passes(float y) {
  if constexpr (A == Activation::kRelu) return !(y <= 0.f);
  if constexpr (A == Activation::kRelu6) return !((y <= 0.f) | (y >= 6.f));
  return true;
}

// y = x * scale + shift per channel, before the activation: computed the same
// way in forward and backward, so the backward's mask is the forward's.
struct ChannelAffine {
  float scale;
  float shift;

  ChannelAffine(float mean, float invstd, float gamma, float beta) : scale(invstd * gamma), shift(beta - mean * scale) {}
};

// The raw views one forward or backward call works on.
struct Buffers {
  MapShape shape;
  const float* x;
  const float* gamma;
  const float* beta;
  float* save_mean;    // forward writes, backward reads
  float* save_invstd;  // 1 / sqrt(var + eps)
};

// Forward for channels [begin, end): statistics (training) or running
// statistics (eval) into save_mean / save_invstd, then y in one pass while
// the channel is still in cache.
template <Activation A>
void normalize_channels(const Buffers& b, float* y, float* running_mean, float* running_var, bool training,
                        double momentum, double eps, int64_t begin, int64_t end) {
  const MapShape& s = b.shape;
  const double count = static_cast<double>(s.per_channel());
  for (int64_t c = begin; c < end; ++c) {
    if (training) {
      const float* x = b.x;
      const double mean = channel_sums<1>(s, c, [x](int64_t j, float* out) { out[0] = x[j]; })[0] / count;
      const float mean_f = static_cast<float>(mean);
      const double squares = channel_sums<1>(s, c, [x, mean_f](int64_t j, float* out) {
        const float centered = x[j] - mean_f;
        out[0] = centered * centered;
      })[0];
      b.save_mean[c] = static_cast<float>(mean);
      b.save_invstd[c] = static_cast<float>(1.0 / std::sqrt(squares / count + eps));
      // As LibTorch: in double, the unbiased variance for the running one.
      running_mean[c] = static_cast<float>(momentum * mean + (1.0 - momentum) * running_mean[c]);
      running_var[c] = static_cast<float>(momentum * (squares / (count - 1.0)) + (1.0 - momentum) * running_var[c]);
    } else {
      b.save_mean[c] = running_mean[c];
      b.save_invstd[c] = 1.f / std::sqrt(running_var[c] + static_cast<float>(eps));
    }
    const ChannelAffine affine(b.save_mean[c], b.save_invstd[c], b.gamma[c], b.beta[c]);
    for (int64_t n = 0; n < s.batch; ++n) {
      const float* xp = b.x + s.offset(n, c);
      float* yp = y + s.offset(n, c);
      for (int64_t i = 0; i < s.plane; ++i) yp[i] = activated<A>(xp[i] * affine.scale + affine.shift);
    }
  }
}

// Backward for channels [begin, end): the upstream gradient masked by the
// activation (recomputed from x), its sums (grad of bias and, times invstd,
// of weight), then dx. In training dx includes the batch statistics' terms.
template <Activation A>
void backward_channels(const Buffers& b, const float* dy, float* dx, float* grad_weight, float* grad_bias,
                       bool training, int64_t begin, int64_t end) {
  const MapShape& s = b.shape;
  const double count = static_cast<double>(s.per_channel());
  for (int64_t c = begin; c < end; ++c) {
    const float mean = b.save_mean[c], invstd = b.save_invstd[c];
    const ChannelAffine affine(mean, invstd, b.gamma[c], b.beta[c]);
    const float* x = b.x;
    const std::array<double, 2> sums = channel_sums<2>(s, c, [&](int64_t j, float* out) {
      const float upstream = dy[j];
      const float g = gradient_passes<A>(x[j] * affine.scale + affine.shift) ? upstream : 0.f;
      out[0] = g;
      out[1] = g * (x[j] - mean);
    });
    const double sum_dy = sums[0], sum_dy_centered = sums[1];
    if (grad_weight != nullptr) grad_weight[c] = static_cast<float>(sum_dy_centered * invstd);
    if (grad_bias != nullptr) grad_bias[c] = static_cast<float>(sum_dy);
    if (dx == nullptr) continue;
    // dx = gamma * invstd * (g - mean(g) - (x - mean) * invstd^2 * mean(g * (x - mean))).
    const float gain = affine.scale;
    const float centered_gain =
        training ? static_cast<float>(-static_cast<double>(gain) * invstd * invstd * sum_dy_centered / count) : 0.f;
    const float offset = training ? static_cast<float>(-static_cast<double>(gain) * sum_dy / count) : 0.f;
    for (int64_t n = 0; n < s.batch; ++n) {
      const float* xp = b.x + s.offset(n, c);
      const float* dyp = dy + s.offset(n, c);
      float* dxp = dx + s.offset(n, c);
      for (int64_t i = 0; i < s.plane; ++i) {
        const float upstream = dyp[i];
        const float g = gradient_passes<A>(xp[i] * affine.scale + affine.shift) ? upstream : 0.f;
        dxp[i] = g * gain + (xp[i] - mean) * centered_gain + offset;
      }
    }
  }
}

MapShape shape_of(const torch::Tensor& x) { return {x.size(0), x.size(1), x.size(2) * x.size(3)}; }

// y = fused(batch_norm(x)); save_mean and save_invstd ([C] floats) receive the
// statistics used. Tensors as own_kernels_apply() requires.
torch::Tensor normalize(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                        torch::Tensor& running_mean, torch::Tensor& running_var, bool training, double momentum,
                        double eps, Activation fused, torch::Tensor& save_mean, torch::Tensor& save_invstd) {
  torch::Tensor y = torch::empty_like(x);
  save_mean = torch::empty({x.size(1)}, x.options());
  save_invstd = torch::empty({x.size(1)}, x.options());
  const Buffers b{shape_of(x),         x.data_ptr<float>(),      weight.data_ptr<float>(), bias.data_ptr<float>(),
                  save_mean.data_ptr<float>(), save_invstd.data_ptr<float>()};
  float* y_data = y.data_ptr<float>();
  float* mean_data = running_mean.data_ptr<float>();
  float* var_data = running_var.data_ptr<float>();
  at::parallel_for(0, b.shape.channels, channels_per_task(b.shape), [&](int64_t begin, int64_t end) {
    switch (fused) {
      case Activation::kRelu:
        return normalize_channels<Activation::kRelu>(b, y_data, mean_data, var_data, training, momentum, eps, begin,
                                                     end);
      case Activation::kRelu6:
        return normalize_channels<Activation::kRelu6>(b, y_data, mean_data, var_data, training, momentum, eps, begin,
                                                      end);
      default:
        return normalize_channels<Activation::kNone>(b, y_data, mean_data, var_data, training, momentum, eps, begin,
                                                     end);
    }
  });
  return y;
}

// fused(x) in place (the activation LibTorch's path applies after its batch norm).
void activate_in_place(torch::Tensor& y, Activation fused) {
  if (fused == Activation::kRelu) torch::relu_(y);
  if (fused == Activation::kRelu6) torch::hardtanh_(y, 0, 6);
}

// LibTorch's batch norm (the kernel nn::BatchNorm2d's forward reaches), then the
// activation: y, save_mean and save_invstd (empty in eval mode).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> libtorch_normalize(
    const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& running_mean,
    const torch::Tensor& running_var, bool training, double momentum, double eps, Activation fused) {
  auto out = at::native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
  activate_in_place(std::get<0>(out), fused);
  return out;
}

// The gradients of x, weight and bias (those `needed`; the others undefined)
// from dy, by the own kernels: the activation's mask recomputed from x and
// the statistics.
std::array<torch::Tensor, 3> own_backward(const torch::Tensor& x, const torch::Tensor& weight,
                                          const torch::Tensor& bias, const torch::Tensor& save_mean,
                                          const torch::Tensor& save_invstd, const torch::Tensor& dy_any,
                                          bool training, Activation fused, std::array<bool, 3> needed) {
  const torch::Tensor dy = dy_any.to(torch::kFloat).contiguous();
  torch::Tensor dx, grad_weight, grad_bias;
  if (needed[0]) dx = torch::empty_like(x);
  // Both sums come out of the same pass, so both are made when either is needed.
  if (needed[1] || needed[2]) {
    grad_weight = torch::empty_like(weight);
    grad_bias = torch::empty_like(bias);
  }
  const Buffers b{shape_of(x),
                  x.data_ptr<float>(),
                  weight.data_ptr<float>(),
                  bias.data_ptr<float>(),
                  save_mean.data_ptr<float>(),
                  save_invstd.data_ptr<float>()};
  const float* dy_data = dy.data_ptr<float>();
  float* dx_data = dx.defined() ? dx.data_ptr<float>() : nullptr;
  float* gw_data = grad_weight.defined() ? grad_weight.data_ptr<float>() : nullptr;
  float* gb_data = grad_bias.defined() ? grad_bias.data_ptr<float>() : nullptr;
  at::parallel_for(0, b.shape.channels, channels_per_task(b.shape), [&](int64_t begin, int64_t end) {
    switch (fused) {
      case Activation::kRelu:
        return backward_channels<Activation::kRelu>(b, dy_data, dx_data, gw_data, gb_data, training, begin, end);
      case Activation::kRelu6:
        return backward_channels<Activation::kRelu6>(b, dy_data, dx_data, gw_data, gb_data, training, begin, end);
      default:
        return backward_channels<Activation::kNone>(b, dy_data, dx_data, gw_data, gb_data, training, begin, end);
    }
  });
  if (!needed[1]) grad_weight = torch::Tensor();
  if (!needed[2]) grad_bias = torch::Tensor();
  return {dx, grad_weight, grad_bias};
}

// The same by LibTorch's kernels (what its autograd runs after its batch norm
// and activation), from the activation's output y: the mask from y, then its
// batch norm backward.
std::array<torch::Tensor, 3> libtorch_backward(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& save_mean, const torch::Tensor& save_invstd,
                                               const torch::Tensor& y, const torch::Tensor& dy, bool training,
                                               double eps, Activation fused, std::array<bool, 3> needed) {
  torch::Tensor grad = dy;
  if (fused == Activation::kRelu) grad = at::threshold_backward(dy, y, 0);
  if (fused == Activation::kRelu6) grad = at::hardtanh_backward(dy, y, 0, 6);
  auto grads = at::native_batch_norm_backward(grad, x, weight, c10::nullopt, c10::nullopt, save_mean, save_invstd,
                                              training, eps, needed);
  return {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)};
}

// The autograd node of a batch norm with at least one pass by the own
// kernels. Inputs x, weight, bias (the running statistics are updated in
// forward, not differentiated); saves x, weight, bias and the per-channel
// mean and invstd, as LibTorch's batch norm does, and the output when
// LibTorch's backward needs it for the activation's mask.
struct BatchNormFunction : public torch::autograd::Function<BatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean, torch::Tensor running_var,
                               bool training, double momentum, double eps, int64_t fused, bool own_forward,
                               bool own_backward) {
    torch::Tensor y, save_mean, save_invstd;
    if (own_forward) {
      y = normalize(x, weight, bias, running_mean, running_var, training, momentum, eps,
                    static_cast<Activation>(fused), save_mean, save_invstd);
    } else {
      std::tie(y, save_mean, save_invstd) = libtorch_normalize(x, weight, bias, running_mean, running_var, training,
                                                               momentum, eps, static_cast<Activation>(fused));
    }
    const bool keep_output = !own_backward && static_cast<Activation>(fused) != Activation::kNone;
    ctx->save_for_backward({x, weight, bias, save_mean, save_invstd, keep_output ? y : torch::Tensor()});
    ctx->saved_data["training"] = training;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["fused"] = fused;
    ctx->saved_data["own_backward"] = own_backward;
    return y;
  }

  static torch::autograd::tensor_list backward(AutogradContext* ctx, torch::autograd::tensor_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const bool training = ctx->saved_data["training"].toBool();
    const auto fused = static_cast<Activation>(ctx->saved_data["fused"].toInt());
    const std::array<bool, 3> needed = {ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2)};
    const std::array<torch::Tensor, 3> grads =
        ctx->saved_data["own_backward"].toBool()
            ? own_backward(saved[0], saved[1], saved[2], saved[3], saved[4], grad_outputs[0], training, fused, needed)
            : libtorch_backward(saved[0], saved[1], saved[3], saved[4], saved[5], grad_outputs[0], training,
                                ctx->saved_data["eps"].toDouble(), fused, needed);
    // One entry per forward argument: x, weight, bias, then the non-differentiable rest.
    return {grads[0],        grads[1],        grads[2],        torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool is_float_on_cpu(const torch::Tensor& t) { return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat; }

}  // namespace

BatchNormImpl::BatchNormImpl(int64_t num_features) : BatchNormImpl(num_features, Activation::kNone) {}

BatchNormImpl::BatchNormImpl(int64_t num_features, Activation fused)
    : torch::nn::BatchNorm2dImpl(num_features), fused_(fused) {
  if (fused != Activation::kNone && fused != Activation::kRelu && fused != Activation::kRelu6) {
    throw std::invalid_argument("zoo::BatchNorm fuses only ReLU or ReLU6; apply other activations after it");
  }
}

bool BatchNormImpl::own_kernels_apply(const torch::Tensor& x) const {
  if (!is_float_on_cpu(x) || x.dim() != 4 || !x.is_contiguous() || x.numel() == 0) return false;
  if (!options.affine() || !options.track_running_stats() || x.size(1) != options.num_features()) return false;
  if (!is_float_on_cpu(weight) || !is_float_on_cpu(bias) || !is_float_on_cpu(running_mean) ||
      !is_float_on_cpu(running_var)) {
    return false;
  }
  // LibTorch refuses a training batch with one value per channel; its path raises that error.
  return !is_training() || x.size(0) * x.size(2) * x.size(3) > 1;
}

torch::Tensor BatchNormImpl::libtorch_forward(const torch::Tensor& x) {
  torch::Tensor y = torch::nn::BatchNorm2dImpl::forward(x);
  // In place: the backward of ReLU and ReLU6 needs only their result.
  activate_in_place(y, fused_);
  return y;
}

BatchNormPlan BatchNormImpl::choose_plan(const torch::Tensor& x, bool differentiable, double momentum) {
  KernelChooser& chooser = kernel_chooser();
  // "batchnorm+relu6 64x144x14x14 train": what a measurement's speed depends on.
  std::string shape = fused_ == Activation::kRelu ? "batchnorm+relu" : fused_ == Activation::kRelu6 ? "batchnorm+relu6" : "batchnorm";
  for (int64_t d = 0; d < x.dim(); ++d) {
    shape += d == 0 ? ' ' : 'x';
    shape += std::to_string(x.size(d));
  }
  shape += is_training() ? " train" : " eval";
  if (!own_kernels_apply(x)) {
    chooser.choose(kernel_layer_, shape, "forward", {{kLibTorchKernel, [] {}}});
    return {};
  }
  // Measured on copies of the running statistics, with x as the output gradient's stand-in.
  torch::NoGradGuard no_grad;
  const bool training = is_training();
  const double eps = options.eps();
  torch::Tensor mean = running_mean.clone(), var = running_var.clone();
  auto choose = [&](const char* pass, std::function<void()> libtorch, std::function<void()> own) {
    return chooser.choose(kernel_layer_, shape, pass, {{kLibTorchKernel, std::move(libtorch)}, {"wattlab", std::move(own)}}) == 1;
  };
  BatchNormPlan plan;
  torch::Tensor own_mean, own_invstd;
  plan.own_forward = choose(
      "forward", [&] { libtorch_normalize(x, weight, bias, mean, var, training, momentum, eps, fused_); },
      [&] { normalize(x, weight, bias, mean, var, training, momentum, eps, fused_, own_mean, own_invstd); });
  if (!differentiable) return plan;
  if (!training) {  // LibTorch's eval forward saves no statistics for the own backward: no mixing there
    plan.own_backward = plan.own_forward;
    return plan;
  }
  const auto [y, save_mean, save_invstd] = libtorch_normalize(x, weight, bias, mean, var, true, momentum, eps, fused_);
  const std::array<bool, 3> all = {true, true, true};
  plan.own_backward = choose(
      "backward",
      [&] { libtorch_backward(x, weight, save_mean, save_invstd, y, x, true, eps, fused_, all); },
      [&] { own_backward(x, weight, bias, save_mean, save_invstd, x, true, fused_, all); });
  return plan;
}

torch::Tensor BatchNormImpl::forward(const torch::Tensor& x) {
  const bool differentiable =
      torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad() || bias.requires_grad());
  // The momentum and batch count as BatchNorm2dImpl::forward keeps them.
  double momentum = options.momentum().value_or(0.0);
  const uint32_t flags = (is_training() ? 1u : 0u) | (differentiable ? 2u : 0u) | (own_kernels_apply(x) ? 4u : 0u);
  const BatchNormPlan* plan = memo_.find(x, flags);
  if (plan == nullptr) plan = &memo_.remember(x, flags, choose_plan(x, differentiable, momentum));
  if (!plan->own_forward && !plan->own_backward) return libtorch_forward(x);
  if (is_training()) {
    num_batches_tracked += 1;
    if (!options.momentum()) momentum = 1.0 / num_batches_tracked.item<double>();
  }
  if (differentiable) {
    return BatchNormFunction::apply(x, weight, bias, running_mean, running_var, is_training(), momentum,
                                    options.eps(), static_cast<int64_t>(fused_), plan->own_forward,
                                    plan->own_backward);
  }
  torch::NoGradGuard no_grad;  // the running statistics change in place
  torch::Tensor save_mean, save_invstd;
  return normalize(x, weight, bias, running_mean, running_var, is_training(), momentum, options.eps(), fused_,
                   save_mean, save_invstd);
}

}  // namespace wattlab::zoo
