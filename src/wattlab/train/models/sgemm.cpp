#include "wattlab/train/models/sgemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace wattlab::zoo {
namespace {

// Block sizes shared by both micro-kernels (the same k-blocks give the same
// sums, so AVX2 and AVX-512 agree bit for bit): a kKc-deep panel of B's tile
// columns stays in L1 (16 KiB at 16 columns, 32 KiB at 32: Zen 4/5 and recent
// Xeons have 48 KiB), a kMc x kKc block of A (96 KiB) in L2.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 96;
constexpr int64_t kNc = 4096;

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A 64-byte aligned buffer of this thread's that only grows.
class PackBuffer {
 public:
  float* get(int64_t floats) {
    if (floats > capacity_) {
      const auto bytes = static_cast<size_t>((floats * 4 + 63) / 64 * 64);
      data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!data_) throw std::bad_alloc();
      capacity_ = floats;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<float, FreeDeleter> data_;
  int64_t capacity_ = 0;
};

// rows x kc of A, from `a` (strides a_row, a_col), as panels of kMr rows:
// panel r holds a[r*kMr + i][p] at [p * kMr + i], rows past `rows` zero.
template <int64_t kMr>
void pack_a(int64_t rows, int64_t kc, const float* a, int64_t a_row, int64_t a_col, float* out) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMr, out += kc * kMr) {
    const int64_t live = std::min(kMr, rows - r0);
    if (a_col == 1) {
      // Rows contiguous in k: the panel written in order, its rows read side by
      // side (row after row, every store lands kMr floats from the last).
      const float* src = a + r0 * a_row;
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t i = 0; i < kMr; ++i) out[p * kMr + i] = i < live ? src[i * a_row + p] : 0.0f;
      }
      continue;
    }
    for (int64_t i = 0; i < kMr; ++i) {
      if (i >= live) {
        for (int64_t p = 0; p < kc; ++p) out[p * kMr + i] = 0.0f;
        continue;
      }
      const float* src = a + (r0 + i) * a_row;
      for (int64_t p = 0; p < kc; ++p) out[p * kMr + i] = src[p * a_col];
    }
  }
}

// kc x cols of B as panels of kNr columns: panel c holds b[p][c*kNr + j] at
// [p * kNr + j], columns past `cols` zero.
template <int64_t kNr>
void pack_b(int64_t kc, int64_t cols, const float* b, int64_t b_row, int64_t b_col, float* out) {
  for (int64_t c0 = 0; c0 < cols; c0 += kNr, out += kc * kNr) {
    const int64_t live = std::min(kNr, cols - c0);
    if (b_col == 1 && live == kNr) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * kNr, b + p * b_row + c0, kNr * sizeof(float));
      continue;
    }
    for (int64_t j = 0; j < kNr; ++j) {
      if (j >= live) {
        for (int64_t p = 0; p < kc; ++p) out[p * kNr + j] = 0.0f;
        continue;
      }
      const float* src = b + (c0 + j) * b_col;
      for (int64_t p = 0; p < kc; ++p) out[p * kNr + j] = src[p * b_row];
    }
  }
}

// ---- AVX2 + FMA: 6x16 tiles in 12 of the 16 ymm registers ----

// C's rows x cols corner (row stride ldc) = tile (rows 16 apart), or += tile when `add`.
void store_tile(const float* tile, int64_t rows, int64_t cols, float* c, int64_t ldc, bool add) {
  for (int64_t i = 0; i < rows; ++i) {
    float* out = c + i * ldc;
    const float* in = tile + i * 16;
    if (add) {
      for (int64_t j = 0; j < cols; ++j) out[j] += in[j];
    } else {
      for (int64_t j = 0; j < cols; ++j) out[j] = in[j];
    }
  }
}

// out[0..16) = (v0, v1), or += when `add`.
__attribute__((target("avx2,fma"), always_inline)) inline void put_row(float* out, __m256 v0, __m256 v1, bool add) {
  if (add) {
    v0 = _mm256_add_ps(_mm256_loadu_ps(out), v0);
    v1 = _mm256_add_ps(_mm256_loadu_ps(out + 8), v1);
  }
  _mm256_storeu_ps(out, v0);
  _mm256_storeu_ps(out + 8, v1);
}

// The product of a packed A panel and a packed B panel over kc, summed from
// zero, into C's rows x cols corner (row stride ldc): stored, or added when
// `add`. Full 6x16 tiles go straight from registers; C's rows are fetched
// into cache while the sum runs.
__attribute__((target("avx2,fma"))) void kernel_6x16(int64_t kc, const float* a, const float* b, float* c,
                                                     int64_t ldc, int64_t rows, int64_t cols, bool add) {
  constexpr int64_t kMr = 6, kNr = 16;
  for (int64_t i = 0; i < rows; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kNr - 1), _MM_HINT_T0);
  }
  // Twelve named accumulators: GCC keeps these in registers (an array of
  // them went through the stack on every step, a third of the speed).
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 x = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  if (rows == kMr && cols == kNr) {
    put_row(c, c00, c01, add);
    put_row(c + ldc, c10, c11, add);
    put_row(c + 2 * ldc, c20, c21, add);
    put_row(c + 3 * ldc, c30, c31, add);
    put_row(c + 4 * ldc, c40, c41, add);
    put_row(c + 5 * ldc, c50, c51, add);
    return;
  }
  alignas(32) float tile[kMr * kNr];
  const __m256 all[kMr * 2] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int64_t i = 0; i < kMr * 2; ++i) _mm256_store_ps(tile + i * 8, all[i]);
  store_tile(tile, rows, cols, c, ldc, add);
}

struct Avx2Tile {
  static constexpr int64_t kRows = 6;
  static constexpr int64_t kColumns = 16;
  static void multiply(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                       int64_t cols, bool add) {
    kernel_6x16(kc, a, b, c, ldc, rows, cols, add);
  }
};

// ---- AVX-512: 12x32 tiles in 24 of the 32 zmm registers ----

#define WATTLAB_AVX512 __attribute__((target("avx512f")))

// C's row `out` (16 columns under `mask`) = v, or += v when `add`.
WATTLAB_AVX512 inline __attribute__((always_inline)) void put_masked(float* out, __mmask16 mask, __m512 v,
                                                                     bool add) {
  if (add) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), v);
  _mm512_mask_storeu_ps(out, mask, v);
}

// As kernel_6x16, 12 rows by 32 columns. The accumulators are an array
// indexed only by the pack's constants, which GCC keeps in registers.
template <size_t... I>
WATTLAB_AVX512 inline __attribute__((always_inline)) void kernel_12x32_rows(
    std::index_sequence<I...>, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
    int64_t cols, bool add) {
  constexpr int64_t kMr = sizeof...(I), kNr = 32;
  ((_mm_prefetch(reinterpret_cast<const char*>(c + static_cast<int64_t>(I) * ldc), _MM_HINT_T0),
    _mm_prefetch(reinterpret_cast<const char*>(c + static_cast<int64_t>(I) * ldc + kNr - 1), _MM_HINT_T0)),
   ...);
  __m512 low[kMr], high[kMr];
  ((low[I] = _mm512_setzero_ps(), high[I] = _mm512_setzero_ps()), ...);
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; ++p, a += kMr, b += kNr) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    ((low[I] = _mm512_fmadd_ps(_mm512_set1_ps(a[I]), b0, low[I]),
      high[I] = _mm512_fmadd_ps(_mm512_set1_ps(a[I]), b1, high[I])),
     ...);
  }
  const __mmask16 low_mask = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 high_mask = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
  (((static_cast<int64_t>(I) < rows)
        ? (put_masked(c + static_cast<int64_t>(I) * ldc, low_mask, low[I], add),
           put_masked(c + static_cast<int64_t>(I) * ldc + 16, high_mask, high[I], add))
        : void()),
   ...);
}

WATTLAB_AVX512 void kernel_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                                 int64_t cols, bool add) {
  kernel_12x32_rows(std::make_index_sequence<12>(), kc, a, b, c, ldc, rows, cols, add);
}

struct Avx512Tile {
  static constexpr int64_t kRows = 12;
  static constexpr int64_t kColumns = 32;
  static void multiply(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                       int64_t cols, bool add) {
    kernel_12x32(kc, a, b, c, ldc, rows, cols, add);
  }
};

// The micro-kernel in use; the widest available until set_sgemm_isa.
std::atomic<SgemmIsa>& current_isa() {
  static std::atomic<SgemmIsa> isa(sgemm_isa_available(SgemmIsa::kAvx512) ? SgemmIsa::kAvx512 : SgemmIsa::kAvx2);
  return isa;
}

// C = A * B (or C += A * B when `accumulate`), A's blocks given by
// a_block(ic, pc, mc, kc): a pointer to rows [ic, ic + mc) x columns
// [pc, pc + kc) of A packed as pack_a<Tile::kRows> writes them.
template <typename Tile, typename ABlock>
void multiply(int64_t m, int64_t n, int64_t k, ABlock a_block, const float* b, int64_t b_row, int64_t b_col,
              float* c, int64_t ldc, bool accumulate) {
  constexpr int64_t kMr = Tile::kRows, kNr = Tile::kColumns;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  thread_local PackBuffer b_buffer;
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    float* b_packed = b_buffer.get((nc + kNr - 1) / kNr * kNr * kKc);
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      pack_b<kNr>(kc, nc, b + pc * b_row + jc * b_col, b_row, b_col, b_packed);
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        const float* a_packed = a_block(ic, pc, mc, kc);
        for (int64_t jr = 0; jr < nc; jr += kNr) {
          for (int64_t ir = 0; ir < mc; ir += kMr) {
            Tile::multiply(kc, a_packed + ir * kc, b_packed + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                           std::min(kMr, mc - ir), std::min(kNr, nc - jr), accumulate || pc > 0);
          }
        }
      }
    }
  }
}

// Rows of A rounded up to whole panels.
template <typename Tile>
int64_t padded_rows(int64_t m) {
  return (m + Tile::kRows - 1) / Tile::kRows * Tile::kRows;
}

template <typename Tile>
void sgemm_with(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                int64_t b_row, int64_t b_col, float* c, int64_t ldc, bool accumulate) {
  thread_local PackBuffer a_buffer;
  float* a_packed = a_buffer.get(kMc * kKc);
  multiply<Tile>(
      m, n, k,
      [&](int64_t ic, int64_t pc, int64_t mc, int64_t kc) {
        pack_a<Tile::kRows>(mc, kc, a + ic * a_row + pc * a_col, a_row, a_col, a_packed);
        return a_packed;
      },
      b, b_row, b_col, c, ldc, accumulate);
}

// The blocks lie one k-block after another, each holding all of A's rows
// for its kc columns as pack_a writes them, so block (ic, pc) starts at
// pc * padded_rows(m) + ic * kc.
template <typename Tile>
void pack_a_with(int64_t m, int64_t k, const float* a, int64_t a_row, int64_t a_col, float* packed) {
  for (int64_t pc = 0; pc < k; pc += kKc) {
    const int64_t kc = std::min(kKc, k - pc);
    pack_a<Tile::kRows>(m, kc, a + pc * a_col, a_row, a_col, packed + pc * padded_rows<Tile>(m));
  }
}

template <typename Tile>
void sgemm_packed_with(int64_t m, int64_t n, int64_t k, const float* packed_a, const float* b, int64_t b_row,
                       int64_t b_col, float* c, int64_t ldc, bool accumulate) {
  const int64_t rows = padded_rows<Tile>(m);
  multiply<Tile>(
      m, n, k, [&](int64_t ic, int64_t pc, int64_t, int64_t kc) { return packed_a + pc * rows + ic * kc; }, b,
      b_row, b_col, c, ldc, accumulate);
}

bool avx512() { return current_isa().load(std::memory_order_relaxed) == SgemmIsa::kAvx512; }

}  // namespace

bool sgemm_available() { return sgemm_isa_available(SgemmIsa::kAvx2); }

bool sgemm_isa_available(SgemmIsa isa) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
  return isa == SgemmIsa::kAvx512 ? avx512 : avx2;
}

SgemmIsa sgemm_isa() { return current_isa().load(std::memory_order_relaxed); }

const char* sgemm_isa_name(SgemmIsa isa) { return isa == SgemmIsa::kAvx512 ? "avx512" : "avx2"; }

void set_sgemm_isa(SgemmIsa isa) { current_isa().store(isa, std::memory_order_relaxed); }

int64_t sgemm_tile_columns() { return avx512() ? Avx512Tile::kColumns : Avx2Tile::kColumns; }

void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
           int64_t b_row, int64_t b_col, float* c, int64_t ldc, bool accumulate) {
  if (avx512()) {
    sgemm_with<Avx512Tile>(m, n, k, a, a_row, a_col, b, b_row, b_col, c, ldc, accumulate);
  } else {
    sgemm_with<Avx2Tile>(m, n, k, a, a_row, a_col, b, b_row, b_col, c, ldc, accumulate);
  }
}

// Rows of A rounded up to whole panels of the micro-kernel in use.
int64_t padded_rows_in_use(int64_t m) { return avx512() ? padded_rows<Avx512Tile>(m) : padded_rows<Avx2Tile>(m); }

int64_t sgemm_packed_a_floats(int64_t m, int64_t k) { return padded_rows_in_use(m) * k; }

void sgemm_pack_a(int64_t m, int64_t k, const float* a, int64_t a_row, int64_t a_col, float* packed) {
  if (avx512()) {
    pack_a_with<Avx512Tile>(m, k, a, a_row, a_col, packed);
  } else {
    pack_a_with<Avx2Tile>(m, k, a, a_row, a_col, packed);
  }
}

int64_t sgemm_panel_rows() { return avx512() ? Avx512Tile::kRows : Avx2Tile::kRows; }

int64_t sgemm_packed_a_offset(int64_t m, int64_t k, int64_t row, int64_t p) {
  // As pack_a_with lays A out: k-block pc at pc * padded rows, in it panel row / kMr at (row / kMr) * kc * kMr.
  const int64_t panel_rows = sgemm_panel_rows(), pc = p / kKc * kKc, kc = std::min(kKc, k - pc);
  return pc * padded_rows_in_use(m) + (row / panel_rows) * kc * panel_rows + (p - pc) * panel_rows;
}

void sgemm_packed(int64_t m, int64_t n, int64_t k, const float* packed_a, const float* b, int64_t b_row,
                  int64_t b_col, float* c, int64_t ldc, bool accumulate) {
  if (avx512()) {
    sgemm_packed_with<Avx512Tile>(m, n, k, packed_a, b, b_row, b_col, c, ldc, accumulate);
  } else {
    sgemm_packed_with<Avx2Tile>(m, n, k, packed_a, b, b_row, b_col, c, ldc, accumulate);
  }
}

}  // namespace wattlab::zoo
