#include "wattlab/train/models/sgemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

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

class SgemmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sgemm_available()) GTEST_SKIP() << "this CPU lacks AVX2 or FMA";
  }
};

TEST_F(SgemmTest, MatchesADoublePrecisionProductForEveryShapeAndLayout) {
  // Edges of the 6x16 tiles, several blocks of k (256) and of n (4096).
  const int64_t shapes[][3] = {{1, 1, 1}, {5, 17, 3}, {6, 16, 256}, {7, 33, 300}, {97, 20, 513}, {13, 4100, 9}};
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

TEST_F(SgemmTest, ColumnSplitsAndRepeatsGiveTheSameBits) {
  // What lets callers split C's columns among threads: each element is the
  // same sum whatever tile it falls in.
  const Operands ops(50, 300, 700, true, false, 7);
  std::vector<float> whole(ops.m * ops.n), again(ops.m * ops.n), split(ops.m * ops.n);
  ops.multiply(whole.data(), ops.n, 0, ops.n);
  ops.multiply(again.data(), ops.n, 0, ops.n);
  EXPECT_EQ(std::memcmp(whole.data(), again.data(), whole.size() * sizeof(float)), 0);
  const int64_t cuts[] = {0, 7, 23, 32, 181, 300};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) ops.multiply(split.data(), ops.n, cuts[i], cuts[i + 1]);
  EXPECT_EQ(std::memcmp(whole.data(), split.data(), whole.size() * sizeof(float)), 0);
}

TEST_F(SgemmTest, WritesOnlyItsColumnsAndZerosForAnEmptyInnerDimension) {
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

TEST_F(SgemmTest, PackedOperandGivesSgemmsBitsAndAccumulates) {
  // m past one block of rows (96) and k past one block (256), A transposed and not.
  for (bool transposed : {false, true}) {
    const Operands ops(101, 40, 300, transposed, false, 11);
    std::vector<float> expected(ops.m * ops.n), packed_product(ops.m * ops.n);
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

}  // namespace
}  // namespace wattlab::zoo
