#include "wattlab/train/models/pooling.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

namespace wattlab::zoo {

namespace {

// The larger of a and b, NaN when either is (max_pool2d's and relu's NaN
// rule); written as a select so that the compiler vectorises the loop.
inline float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

}  // namespace

void relu_max_pool2x2_planes(const float* in, int64_t planes, int64_t height, int64_t width, float* out) {
  const int64_t out_h = height / 2, out_w = width / 2;
  at::parallel_for(0, planes * out_h, /*grain_size=*/64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t plane = row / out_h, y = row % out_h;
      const float* top = in + (plane * height + 2 * y) * width;
      const float* bottom = top + width;
      float* o = out + row * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const float m = nan_max(nan_max(top[2 * x], top[2 * x + 1]), nan_max(bottom[2 * x], bottom[2 * x + 1]));
        o[x] = m < 0 ? 0.0f : m;  // relu: max(relu(v)) = relu(max(v)); NaN stays NaN
      }
    }
  });
}

at::Tensor relu_max_pool2x2(at::Tensor x) {
  const bool records = c10::GradMode::is_enabled() && x.requires_grad();
  if (records || x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != at::kFloat || !x.is_contiguous() ||
      x.size(2) < 2 || x.size(3) < 2) {
    return at::max_pool2d(x.relu_(), {2, 2});
  }
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor out = at::empty({n, c, h / 2, w / 2}, x.options());
  relu_max_pool2x2_planes(x.data_ptr<float>(), n * c, h, w, out.data_ptr<float>());
  return out;
}

}  // namespace wattlab::zoo
