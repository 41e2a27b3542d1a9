// Winograd's F(2x2, 3x3) and F(4x4, 3x3): the forward, the input gradient and
// the weight gradient against a direct convolution summed in double precision,
// on even and odd sides, maps of one pixel, several blocks of tiles; the same
// bits however the work is cut among threads and whichever micro-kernel runs.
#include "wattlab/train/models/winograd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "wattlab/train/models/sgemm_testing.h"

namespace wattlab::zoo {
namespace {

// One piece, as on one thread.
void serially(int64_t count, const std::function<void(int64_t, int64_t)>& body) { body(0, count); }

// Uneven pieces of 1, 2, 3, ... indices, as threads might take them.
void in_uneven_pieces(int64_t count, const std::function<void(int64_t, int64_t)>& body) {
  for (int64_t begin = 0, size = 1; begin < count; begin += size, ++size) body(begin, std::min(count, begin + size));
}

std::vector<float> random_values(int64_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = value(gen);
  return v;
}

// The largest |actual - expected| as a share of the largest |expected|;
// infinite when an output is NaN or infinite. Outputs start as NaN, so one the
// kernel never writes fails (std::max alone would skip NaN, which compares false).
double relative_error(const std::vector<float>& actual, const std::vector<double>& expected) {
  double scale = 0, error = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!std::isfinite(actual[i])) return INFINITY;
    scale = std::max(scale, std::fabs(expected[i]));
    error = std::max(error, std::fabs(actual[i] - expected[i]));
  }
  return error / (scale > 0 ? scale : 1.0);
}

// Whether every value is finite: written, when the buffer started as NaN.
bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

// The direct convolution's forward, input gradient and weight gradient in double precision.
struct Direct {
  const WinogradConv& c;
  const std::vector<float>& x;       // [N, in, H, W]
  const std::vector<float>& weight;  // [out, in, 3, 3]
  const std::vector<float>& grad_out;  // [N, out, H, W]

  // Calls f(n, o, i, y, x, ky, kx, input index, output index) for every term x[..] * w[..] of the sum.
  template <typename F>
  void each_term(F f) const {
    for (int64_t n = 0; n < c.batch; ++n)
      for (int64_t o = 0; o < c.out_channels; ++o)
        for (int64_t i = 0; i < c.in_channels; ++i)
          for (int64_t y = 0; y < c.height; ++y)
            for (int64_t xx = 0; xx < c.width; ++xx)
              for (int64_t ky = 0; ky < 3; ++ky)
                for (int64_t kx = 0; kx < 3; ++kx) {
                  const int64_t sy = y + ky - 1, sx = xx + kx - 1;
                  if (sy < 0 || sy >= c.height || sx < 0 || sx >= c.width) continue;
                  f(((n * c.in_channels + i) * c.height + sy) * c.width + sx,
                    ((n * c.out_channels + o) * c.height + y) * c.width + xx, ((o * c.in_channels + i) * 3 + ky) * 3 + kx);
                }
  }
  std::vector<double> forward() const {
    std::vector<double> y(grad_out.size());
    each_term([&](int64_t in, int64_t out, int64_t k) { y[out] += static_cast<double>(x[in]) * weight[k]; });
    return y;
  }
  std::vector<double> grad_input() const {
    std::vector<double> g(x.size());
    each_term([&](int64_t in, int64_t out, int64_t k) { g[in] += static_cast<double>(grad_out[out]) * weight[k]; });
    return g;
  }
  std::vector<double> grad_weight() const {
    std::vector<double> g(weight.size());
    each_term([&](int64_t in, int64_t out, int64_t k) { g[k] += static_cast<double>(grad_out[out]) * x[in]; });
    return g;
  }
};

// Every test runs once per sgemm micro-kernel (AVX2, and AVX-512 where the CPU has it).
class WinogradTest : public SgemmIsaTest {};
INSTANTIATE_TEST_SUITE_P(Isa, WinogradTest, kEverySgemmIsa, sgemm_isa_test_name);

TEST_P(WinogradTest, MatchesTheDirectConvolutionOnEveryKindOfShape) {
  // Even and odd sides, one-pixel maps, channel counts off the 6x16 and 12x32
  // tiles and the AVX-512 transforms' 16 input channels, rows of more than 16
  // tiles (several vectors), and batches whose tiles span several blocks (96
  // forward, 512 weight gradient).
  const WinogradConv shapes[] = {{1, 1, 1, 1, 1},   {2, 3, 5, 2, 2},   {3, 7, 4, 7, 5},    {2, 5, 9, 8, 8},
                                 {1, 4, 3, 1, 6},   {2, 6, 2, 5, 1},   {4, 17, 13, 14, 14}, {9, 8, 10, 16, 16},
                                 {2, 33, 20, 32, 28}, {1, 3, 2, 5, 37}, {1, 2, 3, 3, 64}};
  uint32_t seed = 1;
  for (const WinogradConv& shape : shapes) {
    for (int64_t tile : {2, 4}) {
      WinogradConv c = shape;
      c.tile = tile;
      if (!winograd_runs(c)) continue;  // F(4x4, 3x3) without AVX-512
      const std::string name = std::to_string(c.batch) + "x" + std::to_string(c.in_channels) + "x" +
                               std::to_string(c.height) + "x" + std::to_string(c.width) + " -> " +
                               std::to_string(c.out_channels) + " by F(" + std::to_string(tile) + "x" +
                               std::to_string(tile) + ", 3x3)";
      const auto x = random_values(c.batch * c.in_channels * c.height * c.width, seed++);
      const auto weight = random_values(c.out_channels * c.in_channels * 9, seed++);
      const auto grad_out = random_values(c.batch * c.out_channels * c.height * c.width, seed++);
      const Direct direct{c, x, weight, grad_out};

      std::vector<float> y(grad_out.size(), NAN), grad_x(x.size(), NAN), grad_w(weight.size(), NAN);
      winograd_conv_forward(c, x.data(), weight.data(), y.data(), serially);
      winograd_conv_grad_input(c, grad_out.data(), weight.data(), grad_x.data(), serially);
      winograd_conv_grad_weight(c, x.data(), grad_out.data(), grad_w.data(), serially);
      // F(4x4, 3x3)'s transforms multiply by up to 8 and divide by 24: ~5e-6 here at 33 channels.
      const double tolerance = tile == 2 ? 2e-6 : 2e-5;
      EXPECT_LE(relative_error(y, direct.forward()), tolerance) << name;
      EXPECT_LE(relative_error(grad_x, direct.grad_input()), tolerance) << name;
      EXPECT_LE(relative_error(grad_w, direct.grad_weight()), tolerance) << name;
    }
  }
}

// Each pass's results by `c` on these inputs, into `out` (sized for the pass):
// 0 the forward, 1 the input gradient, 2 the weight gradient.
void run_pass(int pass, const WinogradConv& c, const std::vector<float>& x, const std::vector<float>& weight,
              const std::vector<float>& grad_out, std::vector<float>& out, const WinogradParallelFor& parallel_for) {
  out.assign(pass == 0 ? grad_out.size() : pass == 1 ? x.size() : weight.size(), NAN);
  if (pass == 0) winograd_conv_forward(c, x.data(), weight.data(), out.data(), parallel_for);
  if (pass == 1) winograd_conv_grad_input(c, grad_out.data(), weight.data(), out.data(), parallel_for);
  if (pass == 2) winograd_conv_grad_weight(c, x.data(), grad_out.data(), out.data(), parallel_for);
}

TEST_P(WinogradTest, ResultsAreTheSameBitsHoweverTheWorkIsCut) {
  for (int64_t tile : {2, 4}) {
    const WinogradConv c{6, 12, 10, 15, 16, tile};
    if (!winograd_runs(c)) continue;  // F(4x4, 3x3) without AVX-512
    const auto x = random_values(c.batch * c.in_channels * c.height * c.width, 5);
    const auto weight = random_values(c.out_channels * c.in_channels * 9, 6);
    const auto grad_out = random_values(c.batch * c.out_channels * c.height * c.width, 7);
    for (int pass = 0; pass < 3; ++pass) {
      std::vector<float> whole, cut;
      run_pass(pass, c, x, weight, grad_out, whole, serially);
      run_pass(pass, c, x, weight, grad_out, cut, in_uneven_pieces);
      EXPECT_TRUE(all_finite(whole) && all_finite(cut)) << "tile " << tile << " pass " << pass << ": unwritten";
      EXPECT_EQ(std::memcmp(whole.data(), cut.data(), whole.size() * sizeof(float)), 0)
          << "tile " << tile << " pass " << pass;
    }
  }
}

// A run's results do not depend on which micro-kernel and transforms the CPU
// has: AVX-512 gives AVX2's bits (F(4x4, 3x3) has AVX-512 transforms only,
// on either micro-kernel).
TEST(Winograd, Avx512GivesTheSameBitsAsAvx2) {
  if (!sgemm_isa_available(SgemmIsa::kAvx512)) GTEST_SKIP() << "this CPU lacks avx512";
  const SgemmIsa previous = sgemm_isa();
  for (int64_t tile : {2, 4}) {
    const WinogradConv c{3, 19, 14, 9, 37, tile};
    const auto x = random_values(c.batch * c.in_channels * c.height * c.width, 8);
    const auto weight = random_values(c.out_channels * c.in_channels * 9, 9);
    const auto grad_out = random_values(c.batch * c.out_channels * c.height * c.width, 10);
    for (int pass = 0; pass < 3; ++pass) {
      std::vector<float> avx2, avx512;
      set_sgemm_isa(SgemmIsa::kAvx2);
      run_pass(pass, c, x, weight, grad_out, avx2, serially);
      set_sgemm_isa(SgemmIsa::kAvx512);
      run_pass(pass, c, x, weight, grad_out, avx512, serially);
      EXPECT_TRUE(all_finite(avx2) && all_finite(avx512)) << "tile " << tile << " pass " << pass;
      EXPECT_EQ(std::memcmp(avx2.data(), avx512.data(), avx2.size() * sizeof(float)), 0)
          << "tile " << tile << " pass " << pass;
    }
  }
  set_sgemm_isa(previous);
}

}  // namespace
}  // namespace wattlab::zoo
