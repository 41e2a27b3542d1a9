#include "wattlab/train/models/sgemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "wattlab/train/models/sgemm_testing.h"

namespace wattlab::zoo {
namespace {

// A [m x k] and B [k x n], each stored row-major or transposed.
struct Operands {
  int64_t m, n, k;
  bool a_transposed, b_transposed;
  std::vector<float> a, b;

  Operands(int64_t m_, int64_t n_, int64_t k_, bool at, bool bt, uint32_t seed)
      : m(m_), n(n_), k(k_), a_transposed(at), b_transposed(bt), a(m_ * k_), b(k_ * n_) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (float& x : a) x = value(gen);
    for (float& x : b) x = value(gen);
  }
  int64_t a_row() const { return a_transposed ? 1 : k; }
  int64_t a_col() const { return a_transposed ? m : 1; }
  int64_t b_row() const { return b_transposed ? 1 : n; }
  int64_t b_col() const { return b_transposed ? k : 1; }
  float a_at(int64_t i, int64_t p) const { return a[i * a_row() + p * a_col()]; }
  float b_at(int64_t p, int64_t j) const { return b[p * b_row() + j * b_col()]; }

  // C's columns [first, last) into c (row stride ldc), C's column `first` at c[0].
  void multiply(float* c, int64_t ldc, int64_t first, int64_t last) const {
    sgemm(m, last - first, k, a.data(), a_row(), a_col(), b.data() + first * b_col(), b_row(), b_col(), c + first,
          ldc);
  }
};

// Every test runs once per micro-kernel (AVX2, and AVX-512 where the CPU has it).
class SgemmTest : public SgemmIsaTest {};
INSTANTIATE_TEST_SUITE_P(Isa, SgemmTest, kEverySgemmIsa, sgemm_isa_test_name);

TEST_P(SgemmTest, MatchesADoublePrecisionProductForEveryShapeAndLayout) {
  // Edges of the 6x16 and 12x32 tiles, several blocks of k (256), of m (96) and of n (4096).
  const int64_t shapes[][3] = {{1, 1, 1},      {5, 17, 3},   {6, 16, 256}, {7, 33, 300},
                               {12, 32, 256}, {25, 63, 40}, {97, 20, 513}, {13, 4100, 9}};
  uint32_t seed = 1;
  for (const auto& shape : shapes) {
    for (int layout = 0; layout < 4; ++layout) {
      const Operands ops(shape[0], shape[1], shape[2], layout & 1, layout & 2, seed++);
      std::vector<float> c(ops.m * ops.n, std::numeric_limits<float>::quiet_NaN());
      ops.multiply(c.data(), ops.n, 0, ops.n);
      for (int64_t i = 0; i < ops.m; ++i) {
        for (int64_t j = 0; j < ops.n; ++j) {
          double exact = 0, magnitude = 0;
          for (int64_t p = 0; p < ops.k; ++p) {
            exact += static_cast<double>(ops.a_at(i, p)) * ops.b_at(p, j);
            magnitude += std::fabs(static_cast<double>(ops.a_at(i, p)) * ops.b_at(p, j));
          }
          ASSERT_NEAR(c[i * ops.n + j], exact, 1e-5 * magnitude + 1e-30)
              << ops.m << "x" << ops.n << "x" << ops.k << " layout " << layout << " at (" << i << ", " << j << ")";
        }
      }
    }
  }
}

TEST_P(SgemmTest, ColumnSplitsAndRepeatsGiveTheSameBits) {
  // What lets callers split C's columns among threads: each element is the
  // same sum whatever tile it falls in.
  const Operands ops(50, 300, 700, true, false, 7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> whole(ops.m * ops.n, nan), again(ops.m * ops.n, nan), split(ops.m * ops.n, nan);
  ops.multiply(whole.data(), ops.n, 0, ops.n);
  ops.multiply(again.data(), ops.n, 0, ops.n);
  EXPECT_EQ(std::memcmp(whole.data(), again.data(), whole.size() * sizeof(float)), 0);
  const int64_t cuts[] = {0, 7, 23, 32, 181, 300};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) ops.multiply(split.data(), ops.n, cuts[i], cuts[i + 1]);
  EXPECT_EQ(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)), 0);
  EXPECT_TRUE(std::all_of(split.begin(), split.end(), [](float v) { return std::isfinite(v); }));
}

TEST_P(SgemmTest, WritesOnlyItsColumnsAndZerosForAnEmptyInnerDimension) {
  const int64_t m = 9, n = 21, ldc = 40;
  const Operands ops(m, n, 5, false, true, 3);
  std::vector<float> c(m * ldc, -7.0f);
  ops.multiply(c.data(), ldc, 0, n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], -7.0f) << "(" << i << ", " << j << ")";
  }
  const Operands empty(m, n, 0, false, false, 4);
  empty.multiply(c.data(), ldc, 0, n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], j < n ? 0.0f : -7.0f) << "(" << i << ", " << j << ")";
  }
}

// What lets a caller write packed A itself (Winograd's kernels): every
// element where sgemm_packed_a_offset says, the padding rows zero.
TEST_P(SgemmTest, PackedOffsetsFindEveryElementThatPackingPlaced) {
  for (const auto& [m, k] : {std::pair<int64_t, int64_t>{101, 300}, {12, 256}, {5, 7}}) {
    const Operands ops(m, 1, k, false, false, 13);
    std::vector<float> packed(sgemm_packed_a_floats(m, k), std::numeric_limits<float>::quiet_NaN());
    sgemm_pack_a(m, k, ops.a.data(), ops.a_row(), ops.a_col(), packed.data());
    const int64_t panel = sgemm_panel_rows();
    for (int64_t row = 0; row < m; row += panel) {
      for (int64_t p = 0; p < k; ++p) {
        const int64_t at = sgemm_packed_a_offset(m, k, row, p);
        for (int64_t l = 0; l < panel; ++l) {
          ASSERT_EQ(packed[at + l], row + l < m ? ops.a_at(row + l, p) : 0.0f)
              << m << "x" << k << " at (" << row + l << ", " << p << ")";
        }
      }
    }
  }
}

TEST_P(SgemmTest, PackedOperandGivesSgemmsBitsAndAccumulates) {
  // m past one block of rows (96) and k past one block (256), A transposed and not.
  for (bool transposed : {false, true}) {
    const Operands ops(101, 40, 300, transposed, false, 11);
    std::vector<float> expected(ops.m * ops.n), packed_product(ops.m * ops.n, std::numeric_limits<float>::quiet_NaN());
    ops.multiply(expected.data(), ops.n, 0, ops.n);
    std::vector<float> packed(sgemm_packed_a_floats(ops.m, ops.k));
    sgemm_pack_a(ops.m, ops.k, ops.a.data(), ops.a_row(), ops.a_col(), packed.data());
    sgemm_packed(ops.m, ops.n, ops.k, packed.data(), ops.b.data(), ops.b_row(), ops.b_col(), packed_product.data(),
                 ops.n, false);
    EXPECT_EQ(std::memcmp(expected.data(), packed_product.data(), expected.size() * sizeof(float)), 0);

    std::vector<float> accumulated(ops.m * ops.n, 0.5f);
    sgemm_packed(ops.m, ops.n, ops.k, packed.data(), ops.b.data(), ops.b_row(), ops.b_col(), accumulated.data(),
                 ops.n, true);
    for (size_t i = 0; i < accumulated.size(); ++i) {
      ASSERT_NEAR(accumulated[i], expected[i] + 0.5f, 1e-5f * (1.0f + std::fabs(expected[i]))) << i;
    }
  }
}

// What lets a checkpoint written on one CPU resume bit for bit on another:
// the AVX-512 micro-kernel sums every element in the AVX2 one's order.
TEST(SgemmKernelsTest, Avx2AndAvx512GiveTheSameBits) {
  if (!sgemm_isa_available(SgemmIsa::kAvx512)) GTEST_SKIP() << "this CPU lacks AVX-512";
  const SgemmIsa previous = sgemm_isa();
  const Operands ops(101, 333, 700, true, false, 13);
  std::vector<std::vector<float>> products;
  for (SgemmIsa isa : {SgemmIsa::kAvx2, SgemmIsa::kAvx512}) {
    set_sgemm_isa(isa);
    products.emplace_back(ops.m * ops.n, std::numeric_limits<float>::quiet_NaN());
    ops.multiply(products.back().data(), ops.n, 0, ops.n);
  }
  set_sgemm_isa(previous);
  EXPECT_TRUE(std::all_of(products[1].begin(), products[1].end(), [](float v) { return std::isfinite(v); }));
  EXPECT_EQ(std::memcmp(products[0].data(), products[1].data(), products[0].size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace wattlab::zoo
