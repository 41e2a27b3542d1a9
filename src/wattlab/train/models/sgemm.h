// A single-precision matrix product for the convolutions that oneDNN runs
// slowly (models/gemm_conv.h). Internal to train/; torch-free.
//
// Debian's LibTorch has only the reference BLAS (3 GFLOP/s here), so products
// went through oneDNN as 1x1 convolutions, which reach 38-50 GFLOP/s on the
// shapes of ResNet-18's 4x4 layers. This is the usual packed design (Goto /
// BLIS): blocks of A and B copied into panels that stay in cache, an AVX2 FMA
// micro-kernel computing 6x16 tiles of C.
//
// Deterministic: every element of C is the same sum in the same order (blocks
// of k in order, each summed from zero and then added), whatever m, n, the
// position of the element or how a caller splits the columns among threads.
#pragma once

#include <cstdint>

namespace wattlab::zoo {

// The width of sgemm's tiles of C: callers splitting the columns among
// threads cut at multiples of it (any cut gives the same result; these keep
// every tile full).
constexpr int64_t kSgemmTileColumns = 16;

// Whether this CPU runs sgemm (AVX2 and FMA).
bool sgemm_available();

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
// sgemm_packed_a_floats(m, k) floats.
int64_t sgemm_packed_a_floats(int64_t m, int64_t k);
void sgemm_pack_a(int64_t m, int64_t k, const float* a, int64_t a_row, int64_t a_col, float* packed);

// sgemm with A packed by sgemm_pack_a(m, k, ...): the same bits as sgemm for
// the same operands.
void sgemm_packed(int64_t m, int64_t n, int64_t k, const float* packed_a, const float* b, int64_t b_row,
                  int64_t b_col, float* c, int64_t ldc, bool accumulate);

}  // namespace wattlab::zoo
