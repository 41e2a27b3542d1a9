// A single-precision matrix product for the convolutions that oneDNN runs
// slowly (models/gemm_conv.h). Internal to train/; torch-free.
//
// Debian's LibTorch has only the reference BLAS (3 GFLOP/s here), so products
// went through oneDNN as 1x1 convolutions, which reach 38-50 GFLOP/s on the
// shapes of ResNet-18's 4x4 layers. This is the usual packed design (Goto /
// BLIS): blocks of A and B copied into panels that stay in cache, a
// micro-kernel computing tiles of C: 6x16 with AVX2 and FMA, 12x32 with
// AVX-512, chosen at run time from the CPU's features (one binary runs on
// both kinds of CPU).
//
// Deterministic: every element of C is the same sum in the same order (blocks
// of k in order, each summed from zero by fused multiply-adds in k's order and
// then added), whatever m, n, the position of the element, how a caller splits
// the columns among threads, or which micro-kernel runs: AVX2 and AVX-512 give
// the same bits.
#pragma once

#include <cstdint>

namespace wattlab::zoo {

// The instruction sets sgemm has micro-kernels for.
enum class SgemmIsa { kAvx2, kAvx512 };

// Whether this CPU runs sgemm at all (AVX2 and FMA).
bool sgemm_available();

// Whether this CPU runs the micro-kernel for `isa` (kAvx512: AVX-512F).
bool sgemm_isa_available(SgemmIsa isa);

// The micro-kernel products use: the widest this CPU runs, unless
// set_sgemm_isa chose another. Requires sgemm_available().
SgemmIsa sgemm_isa();

// "avx2" or "avx512".
const char* sgemm_isa_name(SgemmIsa isa);

// Makes later products use `isa` (for tests and benchmarks that compare the
// micro-kernels). Requires sgemm_isa_available(isa), and no product running
// or A packed by sgemm_pack_a still to be used: the packed layout depends on it.
void set_sgemm_isa(SgemmIsa isa);

// The width of the current micro-kernel's tiles of C (16 or 32): callers
// splitting the columns among threads cut at multiples of it (any cut gives
// the same result; these keep every tile full).
int64_t sgemm_tile_columns();

// C = A * B (C += A * B when `accumulate`), A [m x k] and B [k x n] given by element strides (element (i, j)
// of A at a[i * a_row + j * a_col], so a transposed operand is only a change
// of strides), C [m x n] row-major with row stride ldc. Overwrites C. Single-
// threaded; callers split the columns (b and c offset, n reduced) among
// threads. Requires sgemm_available(). Packing buffers are per thread and
// grow once, so repeated calls allocate nothing.
void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
           int64_t b_row, int64_t b_col, float* c, int64_t ldc, bool accumulate = false);

// A [m x k] packed once for many products with it (models/winograd.h runs 16
// per block of tiles with the same transformed weights): sgemm_pack_a writes
// sgemm_packed_a_floats(m, k) floats, laid out for the current micro-kernel.
int64_t sgemm_packed_a_floats(int64_t m, int64_t k);
void sgemm_pack_a(int64_t m, int64_t k, const float* a, int64_t a_row, int64_t a_col, float* packed);

// For code that writes packed A itself (models/winograd.cpp transforms its
// kernels straight into it): sgemm_pack_a puts A's rows side by side in
// panels of sgemm_panel_rows() rows (6 or 12, as the micro-kernel in use),
// rows past m zero; element (row + l, p), row a multiple of the panel rows
// and l below them, lies at packed[sgemm_packed_a_offset(m, k, row, p) + l].
int64_t sgemm_panel_rows();
int64_t sgemm_packed_a_offset(int64_t m, int64_t k, int64_t row, int64_t p);

// sgemm with A packed by sgemm_pack_a(m, k, ...): the same bits as sgemm for
// the same operands.
void sgemm_packed(int64_t m, int64_t n, int64_t k, const float* packed_a, const float* b, int64_t b_row,
                  int64_t b_col, float* c, int64_t ldc, bool accumulate);

}  // namespace wattlab::zoo
