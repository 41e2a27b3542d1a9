#include "wattlab/train/models/winograd.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "wattlab/train/models/sgemm.h"

namespace wattlab::zoo {
namespace {

// The products per tile and channel of F(2x2, 3x3): the 16 elements of a 4x4 transform.
constexpr int64_t kWinogradTerms = 16;

// The forward works through blocks of about this many tiles: their
// transformed input and products (16 floats per tile and channel) then stay
// in L2/L3 between the transform, the products and the output transform.
constexpr int64_t kForwardBlockTiles = 96;

// The weight gradient sums its products over blocks of about this many
// tiles, each block's transforms made by all threads first.
constexpr int64_t kWeightBlockTiles = 512;

// The same for F(4x4, 3x3), whose tiles hold 36 terms: multiples of sgemm's 32 columns.
constexpr int64_t kForwardBlockTiles4x4 = 64;
constexpr int64_t kWeightBlockTiles4x4 = 256;

// Working memory, one buffer of each thread's per use.
enum Slot { kTransformed, kProducts, kPackedWeight, kUnpacked, kTransformLines, kOutputLines, kSlots };

// A buffer of the calling thread's that only grows (fresh pages on every
// call cost more than some of the transforms): valid until the next call
// with the same slot. Not zeroed.
float* scratch(Slot slot, int64_t floats) {
  thread_local std::vector<float> buffers[kSlots];
  std::vector<float>& buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

// (G g G^T) for a 3x3 kernel g (g[a * 3 + b], read at g[a * row + b * col]
// so that a flipped kernel is a change of strides), into u[16].
void transform_kernel(const float* g, int64_t row, int64_t col, float* u) {
  // G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]].
  float t[4][3];  // G g
  for (int b = 0; b < 3; ++b) {
    const float g0 = g[b * col], g1 = g[row + b * col], g2 = g[2 * row + b * col];
    t[0][b] = g0;
    t[1][b] = 0.5f * (g0 + g1 + g2);
    t[2][b] = 0.5f * (g0 - g1 + g2);
    t[3][b] = g2;
  }
  for (int i = 0; i < 4; ++i) {
    u[i * 4 + 0] = t[i][0];
    u[i * 4 + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
    u[i * 4 + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
    u[i * 4 + 3] = t[i][2];
  }
}

// The convolution whose forward is conv's input gradient: in and out swapped.
WinogradConv adjoint_of(const WinogradConv& conv) {
  WinogradConv adjoint = conv;
  std::swap(adjoint.in_channels, adjoint.out_channels);
  return adjoint;
}

// The floats from one term's packed U[e] to the next's: a cache line more
// than its size, as term_stride's (writing all terms of a kernel at once, as
// transform_weight4 does, into 36 streams a multiple of 4 KiB apart took 3x as long).
int64_t packed_term_floats(const WinogradConv& conv) {
  return sgemm_packed_a_floats(conv.out_channels, conv.in_channels) + 16;
}

// Floats of the transformed kernel, U, packed for sgemm_packed.
int64_t winograd_weight_floats(const WinogradConv& conv) { return conv.terms() * packed_term_floats(conv); }

// The 16 matrices of a block's transforms, one per term e, each [channels x
// ld] (a column per tile), lie term_stride floats apart: a cache line more
// than their size, since 16 streams a multiple of 4 KiB apart would all fall
// in one set of the L1 and L2 caches (at 256 channels they did, and the
// transforms ran 10x slower than their arithmetic).
int64_t term_stride(int64_t channels, int64_t ld) { return channels * ld + 16; }

#define WATTLAB_AVX2 __attribute__((target("avx2,fma")))

// Tiles rounded up to whole vectors of 8: the transforms below compute 8
// tiles at a time, and write past a row's last tile into the next row's
// place (overwritten next) or into 8 floats of slack at the end.
int64_t vector_tiles(int64_t tiles) { return (tiles + 7) / 8 * 8; }

// p[0, 2, ..., 14] and p[1, 3, ..., 15].
WATTLAB_AVX2 inline void deinterleave8(const float* p, __m256& even, __m256& odd) {
  const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
  // shuffle_ps works within 128-bit lanes: (a0 a2 b0 b2 | a4 a6 b4 b6), then the 64-bit pairs reordered.
  even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

// out[0, 16) = (even[0], odd[0], even[1], odd[1], ...).
WATTLAB_AVX2 inline void interleave8(__m256 even, __m256 odd, float* out) {
  const __m256 low = _mm256_unpacklo_ps(even, odd), high = _mm256_unpackhi_ps(even, odd);
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(low, high, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(low, high, 0x31));
}

// Row y of a plane [height x width] into line[0, width), zeros when y is
// outside the plane; the line's floats past the width are left as they are.
inline void copy_row(const float* __restrict plane, const WinogradConv& conv, int64_t y, float* __restrict line) {
  const bool inside = y >= 0 && y < conv.height;
  const float* row = plane + y * conv.width;
  for (int64_t q = 0; q < conv.width; ++q) line[q] = inside ? row[q] : 0.0f;
}

// V = B^T d B for every input channel of the tiles in rows [row_begin,
// row_end): element e of channel c of the row's tile t at
// v[e * term_stride(in_channels, ldv) + c * ldv + (r - row_begin) * tiles_per_row + t].
WATTLAB_AVX2 void winograd_transform_input(const WinogradConv& conv, const float* x, int64_t row_begin,
                                           int64_t row_end, float* v, int64_t ldv) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane_size = conv.height * conv.width, stride = term_stride(conv.in_channels, ldv);
  const int64_t count = (row_end - row_begin) * tiles;  // the tiles of the range
  const int64_t line_length = 2 * vector_tiles(tiles) + 2, h_length = count + 8;
  // Four padded patch rows (line[q] is column q - 1, zero outside), then d B of each, h[i * 4 + j][tile].
  float* const lines = scratch(kTransformLines, 4 * line_length + kWinogradTerms * h_length);
  std::fill(lines, lines + 4 * line_length, 0.0f);
  float* const h = lines + 4 * line_length;
  for (int64_t c = 0; c < conv.in_channels; ++c) {
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / per_image, top = 2 * (r % per_image) - 1;
      const float* plane = x + (n * conv.in_channels + c) * plane_size;
      const int64_t column = (r - row_begin) * tiles;
      for (int i = 0; i < 4; ++i) {
        float* line = lines + i * line_length;
        copy_row(plane, conv, top + i, line + 1);
        // d B: (p0 - p2, p1 + p2, p2 - p1, p1 - p3) of each tile's padded columns 2t..2t+3.
        float* hi = h + i * 4 * h_length + column;
        for (int64_t t = 0; t < tiles; t += 8) {
          __m256 p0, p1, p2, p3;
          deinterleave8(line + 2 * t, p0, p1);
          deinterleave8(line + 2 * t + 2, p2, p3);
          _mm256_storeu_ps(hi + t, _mm256_sub_ps(p0, p2));
          _mm256_storeu_ps(hi + h_length + t, _mm256_add_ps(p1, p2));
          _mm256_storeu_ps(hi + 2 * h_length + t, _mm256_sub_ps(p2, p1));
          _mm256_storeu_ps(hi + 3 * h_length + t, _mm256_sub_ps(p1, p3));
        }
      }
    }
    // B^T down the columns, over all the range's tiles at once: rows (h0 - h2, h1 + h2, h2 - h1, h1 - h3).
    float* out = v + c * ldv;
    for (int j = 0; j < 4; ++j) {
      const float* __restrict d0 = h + (0 * 4 + j) * h_length;
      const float* __restrict d1 = h + (1 * 4 + j) * h_length;
      const float* __restrict d2 = h + (2 * 4 + j) * h_length;
      const float* __restrict d3 = h + (3 * 4 + j) * h_length;
      float* __restrict v0 = out + (0 * 4 + j) * stride;
      float* __restrict v1 = out + (1 * 4 + j) * stride;
      float* __restrict v2 = out + (2 * 4 + j) * stride;
      float* __restrict v3 = out + (3 * 4 + j) * stride;
      for (int64_t q = 0; q < count; ++q) {
        v0[q] = d0[q] - d2[q];
        v1[q] = d1[q] + d2[q];
        v2[q] = d2[q] - d1[q];
        v3[q] = d1[q] - d3[q];
      }
    }
  }
}

// y's rows for output channel o of tile rows [block, block + rows), from the
// block's products m (laid out like winograd_transform_input's v: row stride
// ld, terms `stride` apart). `work` holds 4 * (rows * tiles + 8) + 2 *
// vector_tiles(tiles) + 16 floats.
WATTLAB_AVX2 void output_rows(const WinogradConv& conv, const float* m, int64_t stride, int64_t o, int64_t block,
                              int64_t rows, float* y, float* work) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t count = rows * tiles, y_length = count + 8;
  // A^T m A for every tile: rows (m0 + m1 + m2, m1 - m2 - m3), then the same along the columns.
  float* __restrict y00 = work;
  float* __restrict y01 = work + y_length;
  float* __restrict y10 = work + 2 * y_length;
  float* __restrict y11 = work + 3 * y_length;
  const float* __restrict t[kWinogradTerms];
  for (int e = 0; e < kWinogradTerms; ++e) t[e] = m + e * stride + o * count;
  for (int64_t q = 0; q < count; ++q) {
    const float s00 = t[0][q] + t[4][q] + t[8][q], s01 = t[1][q] + t[5][q] + t[9][q];
    const float s02 = t[2][q] + t[6][q] + t[10][q], s03 = t[3][q] + t[7][q] + t[11][q];
    const float s10 = t[4][q] - t[8][q] - t[12][q], s11 = t[5][q] - t[9][q] - t[13][q];
    const float s12 = t[6][q] - t[10][q] - t[14][q], s13 = t[7][q] - t[11][q] - t[15][q];
    y00[q] = s00 + s01 + s02;
    y01[q] = s01 - s02 - s03;
    y10[q] = s10 + s11 + s12;
    y11[q] = s11 - s12 - s13;
  }
  float* line = work + 4 * y_length;
  for (int64_t r = block; r < block + rows; ++r) {
    const int64_t n = r / per_image, top = 2 * (r % per_image), column = (r - block) * tiles;
    float* plane = y + (n * conv.out_channels + o) * conv.height * conv.width;
    for (int64_t p = 0; p < 2 && top + p < conv.height; ++p) {
      const float* even = (p == 0 ? y00 : y10) + column;
      const float* odd = (p == 0 ? y01 : y11) + column;
      for (int64_t q = 0; q < tiles; q += 8) interleave8(_mm256_loadu_ps(even + q), _mm256_loadu_ps(odd + q), line + 2 * q);
      std::copy(line, line + conv.width, plane + (top + p) * conv.width);
    }
  }
}

#define WATTLAB_AVX512 __attribute__((target("avx512f")))
#define WATTLAB_AVX512_INLINE WATTLAB_AVX512 inline __attribute__((always_inline))

// ---- AVX-512: the same transforms 16 tiles at a time, along one tile row ----
// Each computes the same sums in the same order as its AVX2 form above (the
// same bits), reading and writing through masks instead of padded lines.

// The lanes l of a 16-float load from column `first` with 0 <= first + l < width.
inline __mmask16 columns_inside(int64_t first, int64_t width) {
  const int64_t begin = std::clamp<int64_t>(-first, 0, 16), end = std::clamp<int64_t>(width - first, 0, 16);
  return begin >= end ? 0 : static_cast<__mmask16>(((1u << end) - 1) & ~((1u << begin) - 1));
}

// The first `count` lanes (up to 16).
inline __mmask16 first_lanes(int64_t count) {
  return count >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << std::max<int64_t>(count, 0)) - 1);
}

// step * l in lane l.
WATTLAB_AVX512_INLINE __m512i lane_multiples(int64_t step) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int32_t>(step)));
}

// Columns [first, first + 32) of row y of a plane, zero outside it, split
// into the even ones (first, first + 2, ...) and the odd ones.
WATTLAB_AVX512 inline void load_pairs(const float* plane, const WinogradConv& conv, int64_t y, int64_t first,
                                      __m512& even, __m512& odd) {
  __mmask16 low = 0, high = 0;
  if (y >= 0 && y < conv.height) {
    low = columns_inside(first, conv.width);
    high = columns_inside(first + 16, conv.width);
  }
  // Masked-off lanes are neither read nor faulted, so `first` may be -1.
  const float* row = plane + y * conv.width + first;
  const __m512 a = _mm512_maskz_loadu_ps(low, row), b = _mm512_maskz_loadu_ps(high, row + 16);
  const __m512i even_lanes = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_lanes = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  even = _mm512_permutex2var_ps(a, even_lanes, b);
  odd = _mm512_permutex2var_ps(a, odd_lanes, b);
}

// As winograd_transform_input.
WATTLAB_AVX512 void winograd_transform_input_avx512(const WinogradConv& conv, const float* x, int64_t row_begin,
                                                    int64_t row_end, float* v, int64_t ldv) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane_size = conv.height * conv.width, stride = term_stride(conv.in_channels, ldv);
  for (int64_t c = 0; c < conv.in_channels; ++c) {
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / per_image, top = 2 * (r % per_image) - 1;
      const float* plane = x + (n * conv.in_channels + c) * plane_size;
      float* out = v + c * ldv + (r - row_begin) * tiles;
      for (int64_t t = 0; t < tiles; t += 16) {
        // d B of each of the tile's 4 rows: (p0 - p2, p1 + p2, p2 - p1, p1 - p3) of its columns 2t - 1 .. 2t + 2.
        __m512 h[4][4];
        for (int i = 0; i < 4; ++i) {
          __m512 p0, p1, p2, p3;
          load_pairs(plane, conv, top + i, 2 * t - 1, p0, p1);
          load_pairs(plane, conv, top + i, 2 * t + 1, p2, p3);
          h[i][0] = _mm512_sub_ps(p0, p2);
          h[i][1] = _mm512_add_ps(p1, p2);
          h[i][2] = _mm512_sub_ps(p2, p1);
          h[i][3] = _mm512_sub_ps(p1, p3);
        }
        const __mmask16 live = first_lanes(tiles - t);
        for (int j = 0; j < 4; ++j) {
          _mm512_mask_storeu_ps(out + (0 * 4 + j) * stride + t, live, _mm512_sub_ps(h[0][j], h[2][j]));
          _mm512_mask_storeu_ps(out + (1 * 4 + j) * stride + t, live, _mm512_add_ps(h[1][j], h[2][j]));
          _mm512_mask_storeu_ps(out + (2 * 4 + j) * stride + t, live, _mm512_sub_ps(h[2][j], h[1][j]));
          _mm512_mask_storeu_ps(out + (3 * 4 + j) * stride + t, live, _mm512_sub_ps(h[1][j], h[3][j]));
        }
      }
    }
  }
}

// As output_rows, for every output channel of the block.
WATTLAB_AVX512 void output_rows_avx512(const WinogradConv& conv, const float* m, int64_t stride, int64_t block,
                                       int64_t rows, float* y) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image(), count = rows * tiles;
  const __m512i low_lanes = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high_lanes = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int64_t o = 0; o < conv.out_channels; ++o) {
    for (int64_t r = block; r < block + rows; ++r) {
      const int64_t n = r / per_image, top = 2 * (r % per_image);
      float* plane = y + (n * conv.out_channels + o) * conv.height * conv.width;
      const float* in = m + o * count + (r - block) * tiles;
      for (int64_t t = 0; t < tiles; t += 16) {
        const __mmask16 live = first_lanes(tiles - t);
        __m512 e[kWinogradTerms];
        for (int k = 0; k < kWinogradTerms; ++k) e[k] = _mm512_maskz_loadu_ps(live, in + k * stride + t);
        // A^T m A: rows (m0 + m1 + m2, m1 - m2 - m3), then the same along the columns.
        __m512 s0[4], s1[4];
        for (int j = 0; j < 4; ++j) {
          s0[j] = _mm512_add_ps(_mm512_add_ps(e[j], e[4 + j]), e[8 + j]);
          s1[j] = _mm512_sub_ps(_mm512_sub_ps(e[4 + j], e[8 + j]), e[12 + j]);
        }
        for (int p = 0; p < 2 && top + p < conv.height; ++p) {
          const __m512* s = p == 0 ? s0 : s1;
          const __m512 even = _mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]);
          const __m512 odd = _mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]);
          float* row = plane + (top + p) * conv.width + 2 * t;
          _mm512_mask_storeu_ps(row, columns_inside(2 * t, conv.width),
                                _mm512_permutex2var_ps(even, low_lanes, odd));
          _mm512_mask_storeu_ps(row + 16, columns_inside(2 * t + 16, conv.width),
                                _mm512_permutex2var_ps(even, high_lanes, odd));
        }
      }
    }
  }
}

// -v by a flip of the sign bit, as the scalar negation (AVX-512F has no xor_ps).
WATTLAB_AVX512 inline __m512 negative(__m512 v) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

// As winograd_transform_grad_output.
WATTLAB_AVX512 void winograd_transform_grad_output_avx512(const WinogradConv& conv, const float* grad_out,
                                                          int64_t row_begin, int64_t row_end, float* w, int64_t ldw) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane_size = conv.height * conv.width, stride = term_stride(conv.out_channels, ldw);
  for (int64_t o = 0; o < conv.out_channels; ++o) {
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / per_image, top = 2 * (r % per_image);
      const float* plane = grad_out + (n * conv.out_channels + o) * plane_size;
      float* out = w + o * ldw + (r - row_begin) * tiles;
      for (int64_t t = 0; t < tiles; t += 16) {
        __m512 a0, a1, b0, b1;  // dY[0][0], dY[0][1], dY[1][0], dY[1][1] of each tile
        load_pairs(plane, conv, top, 2 * t, a0, a1);
        load_pairs(plane, conv, top + 1, 2 * t, b0, b1);
        // A dY: rows (dY0, dY0 + dY1, dY0 - dY1, -dY1); then A along each row likewise.
        const __m512 rows[4][2] = {{a0, a1},
                                   {_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1)},
                                   {_mm512_sub_ps(a0, b0), _mm512_sub_ps(a1, b1)},
                                   {negative(b0), negative(b1)}};
        const __mmask16 live = first_lanes(tiles - t);
        for (int i = 0; i < 4; ++i) {
          _mm512_mask_storeu_ps(out + (i * 4 + 0) * stride + t, live, rows[i][0]);
          _mm512_mask_storeu_ps(out + (i * 4 + 1) * stride + t, live, _mm512_add_ps(rows[i][0], rows[i][1]));
          _mm512_mask_storeu_ps(out + (i * 4 + 2) * stride + t, live, _mm512_sub_ps(rows[i][0], rows[i][1]));
          _mm512_mask_storeu_ps(out + (i * 4 + 3) * stride + t, live, negative(rows[i][1]));
        }
      }
    }
  }
}

// Whether the transforms above run: with sgemm's AVX-512 micro-kernel.
bool avx512_transforms() { return sgemm_isa() == SgemmIsa::kAvx512; }

// u[(o * 16 + e) * in + i] = (G g G^T)[e] for conv's kernel g = (o, i) of
// weight: [out, in, 3, 3], or with `adjoint` [in, out, 3, 3], where conv's
// kernel (o, i) is the given kernel (i, o) turned by 180 degrees.
void transform_weight_scalar(const WinogradConv& conv, const float* weight, bool adjoint, float* u) {
  const int64_t out = conv.out_channels, in = conv.in_channels;
  float terms[kWinogradTerms];
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      if (adjoint) {
        transform_kernel(weight + (i * out + o) * 9 + 8, -3, -1, terms);
      } else {
        transform_kernel(weight + (o * in + i) * 9, 3, 1, terms);
      }
      for (int64_t e = 0; e < kWinogradTerms; ++e) u[(o * kWinogradTerms + e) * in + i] = terms[e];
    }
  }
}

// As transform_weight_scalar (the same bits), 16 input channels at a time.
WATTLAB_AVX512 void transform_weight_avx512(const WinogradConv& conv, const float* weight, bool adjoint, float* u) {
  const int64_t out = conv.out_channels, in = conv.in_channels;
  // Lane l reads kernel (o, i + l): 9 floats on, or 9 * out with `adjoint`; element (a, b) at a * row + b * col.
  const int64_t lane_stride = adjoint ? 9 * out : 9, row = adjoint ? -3 : 3, col = adjoint ? -1 : 1;
  const __m512i lanes = lane_multiples(lane_stride);
  const __m512 half = _mm512_set1_ps(0.5f);
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; i += 16) {
      const __mmask16 live = first_lanes(in - i);
      const float* g = adjoint ? weight + (i * out + o) * 9 + 8 : weight + (o * in + i) * 9;
      __m512 t[4][3];  // G g
      for (int b = 0; b < 3; ++b) {
        __m512 column[3];
        for (int a = 0; a < 3; ++a) {
          const __m512i at = _mm512_add_epi32(lanes, _mm512_set1_epi32(static_cast<int32_t>(a * row + b * col)));
          column[a] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, at, g, 4);
        }
        t[0][b] = column[0];
        t[1][b] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_add_ps(column[0], column[1]), column[2]));
        t[2][b] = _mm512_mul_ps(half, _mm512_add_ps(_mm512_sub_ps(column[0], column[1]), column[2]));
        t[3][b] = column[2];
      }
      float* terms = u + o * kWinogradTerms * in + i;
      for (int a = 0; a < 4; ++a) {
        const __m512 sum = _mm512_add_ps(_mm512_add_ps(t[a][0], t[a][1]), t[a][2]);
        const __m512 difference = _mm512_add_ps(_mm512_sub_ps(t[a][0], t[a][1]), t[a][2]);
        _mm512_mask_storeu_ps(terms + (a * 4 + 0) * in, live, t[a][0]);
        _mm512_mask_storeu_ps(terms + (a * 4 + 1) * in, live, _mm512_mul_ps(half, sum));
        _mm512_mask_storeu_ps(terms + (a * 4 + 2) * in, live, _mm512_mul_ps(half, difference));
        _mm512_mask_storeu_ps(terms + (a * 4 + 3) * in, live, t[a][2]);
      }
    }
  }
}

// ---- F(4x4, 3x3): AVX-512 only; 16 tiles at a time from any tile rows ----

// The 1-D transforms of F(4x4, 3x3) (Lavin and Gray 2016, points 0, +-1, +-2, infinity).
namespace f43 {

WATTLAB_AVX512_INLINE __m512 all(float v) { return _mm512_set1_ps(v); }

// r = B^T d: (4 d0 - 5 d2 + d4, -4 d1 - 4 d2 + d3 + d4, 4 d1 - 4 d2 - d3 + d4,
// -2 d1 - d2 + 2 d3 + d4, 2 d1 - d2 - 2 d3 + d4, 4 d1 - 5 d3 + d5).
WATTLAB_AVX512_INLINE void input(const __m512 d[6], __m512 r[6]) {
  const __m512 t1 = _mm512_fnmadd_ps(all(4), d[2], d[4]), t2 = _mm512_fnmadd_ps(all(4), d[1], d[3]);
  const __m512 t3 = _mm512_sub_ps(d[4], d[2]), t4 = _mm512_sub_ps(d[3], d[1]);
  r[0] = _mm512_fnmadd_ps(all(5), d[2], _mm512_fmadd_ps(all(4), d[0], d[4]));
  r[1] = _mm512_add_ps(t1, t2);
  r[2] = _mm512_sub_ps(t1, t2);
  r[3] = _mm512_fmadd_ps(all(2), t4, t3);
  r[4] = _mm512_fnmadd_ps(all(2), t4, t3);
  r[5] = _mm512_fnmadd_ps(all(5), d[3], _mm512_fmadd_ps(all(4), d[1], d[5]));
}

// y = A^T m: (m0 + m1 + m2 + m3 + m4, m1 - m2 + 2 (m3 - m4), m1 + m2 + 4 (m3 + m4), m1 - m2 + 8 (m3 - m4) + m5).
WATTLAB_AVX512_INLINE void output(const __m512 m[6], __m512 y[4]) {
  const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
  const __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
  y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
  y[1] = _mm512_fmadd_ps(all(2), d, b);
  y[2] = _mm512_fmadd_ps(all(4), c, a);
  y[3] = _mm512_add_ps(_mm512_fmadd_ps(all(8), d, b), m[5]);
}

// u = G g: (g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6,
// g0 / 24 - g1 / 12 + g2 / 6, g2).
WATTLAB_AVX512_INLINE void kernel(const __m512 g[3], __m512 u[6]) {
  const __m512 p = _mm512_add_ps(g[0], g[2]);
  const __m512 q = _mm512_fmadd_ps(all(1.0f / 24), g[0], _mm512_mul_ps(all(1.0f / 6), g[2]));
  u[0] = _mm512_mul_ps(all(0.25f), g[0]);
  u[1] = _mm512_mul_ps(all(-1.0f / 6), _mm512_add_ps(p, g[1]));
  u[2] = _mm512_mul_ps(all(-1.0f / 6), _mm512_sub_ps(p, g[1]));
  u[3] = _mm512_fmadd_ps(all(1.0f / 12), g[1], q);
  u[4] = _mm512_fnmadd_ps(all(1.0f / 12), g[1], q);
  u[5] = g[2];
}

// w = A y: (y0, y0 + y1 + y2 + y3, y0 - y1 + y2 - y3, y0 + 2 y1 + 4 y2 + 8 y3, y0 - 2 y1 + 4 y2 - 8 y3, y3).
WATTLAB_AVX512_INLINE void grad_output(const __m512 y[4], __m512 w[6]) {
  const __m512 p = _mm512_add_ps(y[0], y[2]), q = _mm512_add_ps(y[1], y[3]);
  const __m512 r = _mm512_fmadd_ps(all(4), y[2], y[0]), s = _mm512_fmadd_ps(all(8), y[3], _mm512_add_ps(y[1], y[1]));
  w[0] = y[0];
  w[1] = _mm512_add_ps(p, q);
  w[2] = _mm512_sub_ps(p, q);
  w[3] = _mm512_add_ps(r, s);
  w[4] = _mm512_sub_ps(r, s);
  w[5] = y[3];
}

// g = G^T u: (u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24, (u2 - u1) / 6 + (u3 - u4) / 12, (u3 + u4 - u1 - u2) / 6 + u5).
WATTLAB_AVX512_INLINE void grad_kernel(const __m512 u[6], __m512 g[3]) {
  const __m512 p = _mm512_add_ps(u[1], u[2]), m = _mm512_sub_ps(u[2], u[1]);
  const __m512 big_p = _mm512_add_ps(u[3], u[4]), big_m = _mm512_sub_ps(u[3], u[4]);
  g[0] = _mm512_fmadd_ps(all(0.25f), u[0], _mm512_fmadd_ps(all(-1.0f / 6), p, _mm512_mul_ps(all(1.0f / 24), big_p)));
  g[1] = _mm512_fmadd_ps(all(1.0f / 6), m, _mm512_mul_ps(all(1.0f / 12), big_m));
  g[2] = _mm512_fmadd_ps(all(1.0f / 6), _mm512_sub_ps(big_p, p), u[5]);
}

}  // namespace f43

// The 36 terms V = B^T h of 16 tiles' patches, h[i] the row pass (d B) of
// their row i, stored at out[e * stride] for the `live` lanes.
WATTLAB_AVX512_INLINE void store_input_terms(const __m512 h[6][6], float* out, int64_t stride, __mmask16 live) {
  for (int j = 0; j < 6; ++j) {
    const __m512 column[6] = {h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j]};
    __m512 result[6];
    f43::input(column, result);
    for (int i = 0; i < 6; ++i) _mm512_mask_storeu_ps(out + (i * 6 + j) * stride, live, result[i]);
  }
}

// tile[i][j] = (A^T m A)[i][j] of 16 tiles whose 36 products lie at in[e * stride], `live` lanes.
WATTLAB_AVX512_INLINE void output_tiles(const float* in, int64_t stride, __mmask16 live, __m512 tile[4][4]) {
  __m512 s[6][4];  // A^T along each row of m
  for (int i = 0; i < 6; ++i) {
    __m512 row[6];
    for (int j = 0; j < 6; ++j) row[j] = _mm512_maskz_loadu_ps(live, in + (i * 6 + j) * stride);
    f43::output(row, s[i]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 column[6] = {s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j]};
    __m512 result[4];
    f43::output(column, result);
    for (int i = 0; i < 4; ++i) tile[i][j] = result[i];
  }
}

// The 36 terms A t of 16 tiles' output gradients, t[i] the row pass (dY A^T)
// of their row i, stored at out[e * stride] for the `live` lanes.
WATTLAB_AVX512_INLINE void store_grad_output_terms(const __m512 t[4][6], float* out, int64_t stride,
                                                   __mmask16 live) {
  for (int j = 0; j < 6; ++j) {
    const __m512 column[4] = {t[0][j], t[1][j], t[2][j], t[3][j]};
    __m512 result[6];
    f43::grad_output(column, result);
    for (int i = 0; i < 6; ++i) _mm512_mask_storeu_ps(out + (i * 6 + j) * stride, live, result[i]);
  }
}

// 16 consecutive tiles of the tile rows from row_begin on: tiles [first,
// first + 16) counted from the first tile of row_begin, those below `end`.
struct Tiles16 {
  __mmask16 live = 0;      // lanes that hold a tile
  __m512i sample;          // each lane's sample
  __m512i corner;          // each lane's first output pixel, y * width + x
  __mmask16 rows[6] = {};  // live lanes whose input row corner_y - 1 + i is inside the map
  __mmask16 columns[6] = {};  // and whose input column corner_x - 1 + j is
};

WATTLAB_AVX512 Tiles16 tiles16(const WinogradConv& conv, int64_t row_begin, int64_t first, int64_t end) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  Tiles16 lanes;
  alignas(64) int32_t sample[16] = {}, corner[16] = {};
  for (int64_t l = 0; l < 16 && first + l < end; ++l) {
    const int64_t q = row_begin * tiles + first + l, r = q / tiles;
    const int64_t y = 4 * (r % per_image), x = 4 * (q % tiles);
    lanes.live |= static_cast<__mmask16>(1u << l);
    sample[l] = static_cast<int32_t>(r / per_image);
    corner[l] = static_cast<int32_t>(y * conv.width + x);
    for (int i = 0; i < 6; ++i) {
      if (y - 1 + i >= 0 && y - 1 + i < conv.height) lanes.rows[i] |= static_cast<__mmask16>(1u << l);
      if (x - 1 + i >= 0 && x - 1 + i < conv.width) lanes.columns[i] |= static_cast<__mmask16>(1u << l);
    }
  }
  lanes.sample = _mm512_load_si512(sample);
  lanes.corner = _mm512_load_si512(corner);
  return lanes;
}

// Each lane's offset of its first output pixel in a tensor [batch, channels, height, width].
WATTLAB_AVX512_INLINE __m512i tile_offsets(const WinogradConv& conv, const Tiles16& lanes, int64_t channels) {
  const auto image = static_cast<int32_t>(channels * conv.height * conv.width);
  return _mm512_add_epi32(_mm512_mullo_epi32(lanes.sample, _mm512_set1_epi32(image)), lanes.corner);
}

// `offsets` + `delta` in every lane.
WATTLAB_AVX512_INLINE __m512i shifted(__m512i offsets, int64_t delta) {
  return _mm512_add_epi32(offsets, _mm512_set1_epi32(static_cast<int32_t>(delta)));
}

// As winograd_transform_input, for F(4x4, 3x3): V = B^T d B of each 6x6 patch.
// Its 36 elements for 16 tiles are 36 gathers.
WATTLAB_AVX512 void transform_input4_by_gathers(const WinogradConv& conv, const float* x, int64_t row_begin,
                                                int64_t row_end, float* v, int64_t ldv) {
  const int64_t count = (row_end - row_begin) * conv.tiles_per_row(), width = conv.width;
  const int64_t plane = conv.height * width, stride = term_stride(conv.in_channels, ldv);
  for (int64_t first = 0; first < count; first += 16) {
    const Tiles16 lanes = tiles16(conv, row_begin, first, count);
    const __m512i offsets = tile_offsets(conv, lanes, conv.in_channels);
    for (int64_t c = 0; c < conv.in_channels; ++c) {
      __m512 h[6][6];  // d B, row by row
      for (int i = 0; i < 6; ++i) {
        const __m512i row = shifted(offsets, c * plane + (i - 1) * width - 1);
        __m512 d[6];
        for (int j = 0; j < 6; ++j) {
          d[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes.rows[i] & lanes.columns[j], shifted(row, j), x, 4);
        }
        f43::input(d, h[i]);
      }
      store_input_terms(h, v + c * ldv + first, stride, lanes.live);
    }
  }
}

// As output_rows, for F(4x4, 3x3): y's 4x4 tiles A^T m A of tile rows [block, block + rows),
// written by 16 scatters for 16 tiles.
WATTLAB_AVX512 void output4_by_scatters(const WinogradConv& conv, const float* m, int64_t stride, int64_t block,
                                        int64_t rows, float* y) {
  const int64_t count = rows * conv.tiles_per_row(), width = conv.width, plane = conv.height * width;
  for (int64_t first = 0; first < count; first += 16) {
    const Tiles16 lanes = tiles16(conv, block, first, count);
    const __m512i offsets = tile_offsets(conv, lanes, conv.out_channels);
    for (int64_t o = 0; o < conv.out_channels; ++o) {
      __m512 tile[4][4];
      output_tiles(m + o * count + first, stride, lanes.live, tile);
      for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) {
          _mm512_mask_i32scatter_ps(y, lanes.rows[i + 1] & lanes.columns[j + 1],
                                    shifted(offsets, o * plane + i * width + j), tile[i][j], 4);
        }
      }
    }
  }
}

// As winograd_transform_grad_output, for F(4x4, 3x3): A dY A^T of each 4x4 tile of grad_out,
// its 16 elements for 16 tiles read by 16 gathers.
WATTLAB_AVX512 void transform_grad_output4_by_gathers(const WinogradConv& conv, const float* grad_out,
                                                      int64_t row_begin, int64_t row_end, float* w, int64_t ldw) {
  const int64_t count = (row_end - row_begin) * conv.tiles_per_row(), width = conv.width;
  const int64_t plane = conv.height * width, stride = term_stride(conv.out_channels, ldw);
  for (int64_t first = 0; first < count; first += 16) {
    const Tiles16 lanes = tiles16(conv, row_begin, first, count);
    const __m512i offsets = tile_offsets(conv, lanes, conv.out_channels);
    for (int64_t o = 0; o < conv.out_channels; ++o) {
      __m512 t[4][6];  // A along each row of dY
      for (int i = 0; i < 4; ++i) {
        __m512 row[4];
        for (int j = 0; j < 4; ++j) {
          row[j] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes.rows[i + 1] & lanes.columns[j + 1],
                                            shifted(offsets, o * plane + i * width + j), grad_out, 4);
        }
        f43::grad_output(row, t[i]);
      }
      store_grad_output_terms(t, w + o * ldw + first, stride, lanes.live);
    }
  }
}

// A run of a chunk's tiles from one tile row: lanes [lane, lane + count)
// hold tiles [column, column + count) of tile row `row`; at most 8, so that
// the input they read (4 * count + 2 columns) fits 3 vectors.
struct TileRun {
  int64_t lane = 0, count = 0, row = 0, column = 0;
};

// The runs of the chunk of tiles [first, min(first + 16, end)) counted from
// the first tile of row_begin, in lane order; returns how many.
int tile_runs(const WinogradConv& conv, int64_t row_begin, int64_t first, int64_t end, TileRun runs[16]) {
  const int64_t tiles = conv.tiles_per_row();
  int n = 0;
  for (int64_t lane = 0; lane < 16 && first + lane < end;) {
    const int64_t q = row_begin * tiles + first + lane, column = q % tiles;
    const int64_t count = std::min({tiles - column, int64_t{8}, 16 - lane, end - first - lane});
    runs[n++] = {lane, count, q / tiles, column};
    lane += count;
  }
  return n;
}

// The lanes a run holds.
inline __mmask16 run_lanes(const TileRun& run) {
  return static_cast<__mmask16>(((1u << run.count) - 1) << run.lane);
}

// d[k], lanes of `run`, = column 4 t - 1 + first_phase + k of row y of
// `plane` for the run's tiles t (0 outside the plane), k < phases,
// first_phase + phases <= 6; other lanes kept.
WATTLAB_AVX512 inline void gather_phases(const float* plane, const WinogradConv& conv, const TileRun& run, int64_t y,
                                         int first_phase, int phases, __m512 d[]) {
  if (y < 0 || y >= conv.height) return;  // d stays 0
  // The run's columns [4 t0 - 1, 4 (t0 + count) + 1): window element w is column 4 t0 - 1 + w.
  const int64_t start = 4 * run.column - 1;
  const float* row = plane + y * conv.width + start;  // masked-off lanes are neither read nor faulted
  const __m512 a = _mm512_maskz_loadu_ps(columns_inside(start, conv.width), row);
  const __m512 b = _mm512_maskz_loadu_ps(columns_inside(start + 16, conv.width), row + 16);
  const bool third = 4 * run.count + 2 > 32;
  const __m512 c = third ? _mm512_maskz_loadu_ps(columns_inside(start + 32, conv.width), row + 32) : a;
  const __mmask16 lanes = run_lanes(run);
  for (int k = 0; k < phases; ++k) {
    // Lane run.lane + u takes window element 4 u + first_phase + k.
    const __m512i at =
        _mm512_add_epi32(lane_multiples(4), _mm512_set1_epi32(static_cast<int32_t>(first_phase + k - 4 * run.lane)));
    __m512 picked = _mm512_permutex2var_ps(a, at, b);
    if (third) {
      picked = _mm512_mask_permutexvar_ps(picked, _mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(32)) & lanes, at, c);
    }
    d[k] = _mm512_mask_mov_ps(d[k], lanes, picked);
  }
}

// As transform_input4_by_gathers, reading each run's rows with whole-vector loads.
WATTLAB_AVX512 void transform_input4_by_runs(const WinogradConv& conv, const float* x, int64_t row_begin,
                                             int64_t row_end, float* v, int64_t ldv) {
  const int64_t count = (row_end - row_begin) * conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane = conv.height * conv.width, stride = term_stride(conv.in_channels, ldv);
  TileRun runs[16];
  for (int64_t first = 0; first < count; first += 16) {
    const int n = tile_runs(conv, row_begin, first, count, runs);
    const __mmask16 live = first_lanes(count - first);
    for (int64_t c = 0; c < conv.in_channels; ++c) {
      __m512 h[6][6];  // d B, row by row
      for (int i = 0; i < 6; ++i) {
        __m512 d[6];
        for (int k = 0; k < 6; ++k) d[k] = _mm512_setzero_ps();
        for (int r = 0; r < n; ++r) {
          const int64_t sample = runs[r].row / per_image, top = 4 * (runs[r].row % per_image) - 1;
          gather_phases(x + (sample * conv.in_channels + c) * plane, conv, runs[r], top + i, 0, 6, d);
        }
        f43::input(d, h[i]);
      }
      store_input_terms(h, v + c * ldv + first, stride, live);
    }
  }
}

// As output4_by_scatters, writing each run's rows with whole-vector stores.
WATTLAB_AVX512 void output4_by_runs(const WinogradConv& conv, const float* m, int64_t stride, int64_t block,
                                    int64_t rows, float* y) {
  const int64_t count = rows * conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane = conv.height * conv.width;
  // Output float f of a run's 16 takes lane (f % 16) / 4 of y[j], j = f % 4: from pairs (y0, y1) and (y2, y3).
  const __m512i pattern = _mm512_setr_epi32(0, 16, 0, 16, 1, 17, 1, 17, 2, 18, 2, 18, 3, 19, 3, 19);
  TileRun runs[16];
  for (int64_t first = 0; first < count; first += 16) {
    const int n = tile_runs(conv, block, first, count, runs);
    const __mmask16 live = first_lanes(count - first);
    for (int64_t o = 0; o < conv.out_channels; ++o) {
      __m512 tile[4][4];  // tile[i][j]: output pixel (i, j) of each lane's tile
      output_tiles(m + o * count + first, stride, live, tile);
      for (int r = 0; r < n; ++r) {
        const TileRun& run = runs[r];
        const int64_t sample = run.row / per_image, top = 4 * (run.row % per_image), left = 4 * run.column;
        float* out = y + (sample * conv.out_channels + o) * plane + top * conv.width + left;
        for (int i = 0; i < 4 && top + i < conv.height; ++i) {
          for (int64_t half = 0; half < 4 * run.count; half += 16) {
            const __m512i at = _mm512_add_epi32(pattern, _mm512_set1_epi32(static_cast<int32_t>(run.lane + half / 4)));
            const __m512 low = _mm512_permutex2var_ps(tile[i][0], at, tile[i][1]);
            const __m512 high = _mm512_permutex2var_ps(tile[i][2], at, tile[i][3]);
            const __mmask16 inside = columns_inside(left + half, conv.width) & first_lanes(4 * run.count - half);
            _mm512_mask_storeu_ps(out + i * conv.width + half, inside, _mm512_mask_blend_ps(0xCCCC, low, high));
          }
        }
      }
    }
  }
}

// As transform_grad_output4_by_gathers, reading each run's rows with whole-vector loads.
WATTLAB_AVX512 void transform_grad_output4_by_runs(const WinogradConv& conv, const float* grad_out,
                                                   int64_t row_begin, int64_t row_end, float* w, int64_t ldw) {
  const int64_t count = (row_end - row_begin) * conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane = conv.height * conv.width, stride = term_stride(conv.out_channels, ldw);
  TileRun runs[16];
  for (int64_t first = 0; first < count; first += 16) {
    const int n = tile_runs(conv, row_begin, first, count, runs);
    const __mmask16 live = first_lanes(count - first);
    for (int64_t o = 0; o < conv.out_channels; ++o) {
      __m512 t[4][6];  // A along each row of dY
      for (int i = 0; i < 4; ++i) {
        __m512 row[4];
        for (int j = 0; j < 4; ++j) row[j] = _mm512_setzero_ps();
        for (int r = 0; r < n; ++r) {
          // A tile's row of dY is its columns 4 t .. 4 t + 3: phases 1 to 4 of the input's windows.
          const int64_t sample = runs[r].row / per_image, top = 4 * (runs[r].row % per_image);
          gather_phases(grad_out + (sample * conv.out_channels + o) * plane, conv, runs[r], top + i, 1, 4, row);
        }
        f43::grad_output(row, t[i]);
      }
      store_grad_output_terms(t, w + o * ldw + first, stride, live);
    }
  }
}

// F(4x4, 3x3)'s transforms: by runs, except on maps of 1 or 2 tiles a row
// (8 or 16 runs a chunk), where gathers and scatters took 0.7-0.8x their
// time (Zen 5, 256 and 512 channels).
bool by_gathers(const WinogradConv& conv) { return conv.tiles_per_row() <= 2; }

void transform_input4(const WinogradConv& conv, const float* x, int64_t row_begin, int64_t row_end, float* v,
                      int64_t ldv) {
  if (by_gathers(conv)) {
    transform_input4_by_gathers(conv, x, row_begin, row_end, v, ldv);
  } else {
    transform_input4_by_runs(conv, x, row_begin, row_end, v, ldv);
  }
}

void output4(const WinogradConv& conv, const float* m, int64_t stride, int64_t block, int64_t rows, float* y) {
  if (by_gathers(conv)) {
    output4_by_scatters(conv, m, stride, block, rows, y);
  } else {
    output4_by_runs(conv, m, stride, block, rows, y);
  }
}

void transform_grad_output4(const WinogradConv& conv, const float* grad_out, int64_t row_begin, int64_t row_end,
                            float* w, int64_t ldw) {
  if (by_gathers(conv)) {
    transform_grad_output4_by_gathers(conv, grad_out, row_begin, row_end, w, ldw);
  } else {
    transform_grad_output4_by_runs(conv, grad_out, row_begin, row_end, w, ldw);
  }
}

// As winograd_transform_weight, for F(4x4, 3x3), written straight into
// sgemm's packed layout: a panel's rows (output channels) side by side.
WATTLAB_AVX512 void transform_weight4(const WinogradConv& conv, const float* weight, bool adjoint, float* packed) {
  const int64_t out = conv.out_channels, in = conv.in_channels, each = packed_term_floats(conv);
  const int64_t panel = sgemm_panel_rows();
  // Lane l reads kernel (o + l, i): 9 * in floats on, or 9 with `adjoint`; element (a, b) at a * row + b * col.
  const int64_t lane_stride = adjoint ? 9 : 9 * in, row = adjoint ? -3 : 3, col = adjoint ? -1 : 1;
  const __m512i lanes = lane_multiples(lane_stride);
  for (int64_t o = 0; o < out; o += panel) {
    const __mmask16 live = first_lanes(std::min(panel, out - o)), whole = first_lanes(panel);
    for (int64_t i = 0; i < in; ++i) {
      const float* g = adjoint ? weight + (i * out + o) * 9 + 8 : weight + (o * in + i) * 9;
      __m512 t[6][3];  // G g, column by column
      for (int b = 0; b < 3; ++b) {
        __m512 column[3], result[6];
        for (int a = 0; a < 3; ++a) {
          column[a] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, shifted(lanes, a * row + b * col), g, 4);
        }
        f43::kernel(column, result);
        for (int a = 0; a < 6; ++a) t[a][b] = result[a];
      }
      // Rows past `out` are zero, as the packed layout wants.
      float* at = packed + sgemm_packed_a_offset(out, in, o, i);
      for (int a = 0; a < 6; ++a) {
        __m512 result[6];
        f43::kernel(t[a], result);
        for (int b = 0; b < 6; ++b) _mm512_mask_storeu_ps(at + (a * 6 + b) * each, whole, result[b]);
      }
    }
  }
}

// As winograd_weight_from_transformed, for F(4x4, 3x3): G^T dU G, 16 kernels at a time.
WATTLAB_AVX512 void weight_from_transformed4(const WinogradConv& conv, const float* grad_u, float* grad_weight) {
  const int64_t pairs = conv.out_channels * conv.in_channels;
  for (int64_t k = 0; k < pairs; k += 16) {
    const __mmask16 live = first_lanes(pairs - k);
    __m512 s[6][3];  // G^T along each row of dU
    for (int a = 0; a < 6; ++a) {
      __m512 row[6];
      for (int b = 0; b < 6; ++b) row[b] = _mm512_maskz_loadu_ps(live, grad_u + (a * 6 + b) * pairs + k);
      f43::grad_kernel(row, s[a]);
    }
    alignas(64) float g[9][16];
    for (int b = 0; b < 3; ++b) {
      const __m512 column[6] = {s[0][b], s[1][b], s[2][b], s[3][b], s[4][b], s[5][b]};
      __m512 result[3];
      f43::grad_kernel(column, result);
      for (int a = 0; a < 3; ++a) _mm512_store_ps(g[a * 3 + b], result[a]);
    }
    for (int64_t l = 0; l < 16 && k + l < pairs; ++l) {
      for (int e = 0; e < 9; ++e) grad_weight[(k + l) * 9 + e] = g[e][l];
    }
  }
}

// U[e] = (G g G^T)[e] for every kernel g of weight [out, in, 3, 3], each
// packed as sgemm's A [out x in]. With `adjoint`, weight is [in, out, 3, 3],
// the kernel of the convolution whose input gradient conv computes, and
// conv's kernel (o, i) is its kernel (i, o) turned by 180 degrees.
void winograd_transform_weight(const WinogradConv& conv, const float* weight, bool adjoint, float* packed) {
  if (conv.tile == 4) {
    transform_weight4(conv, weight, adjoint, packed);
    return;
  }
  const int64_t out = conv.out_channels, in = conv.in_channels;
  // u[o][e][i] unpacked (16 streams a multiple of 4 KiB apart, as [e][o][i] has, thrash the cache), then
  // each e packed as sgemm's A [out x in] with rows 16 * in apart.
  float* const u = scratch(kUnpacked, kWinogradTerms * out * in);
  if (avx512_transforms()) {
    transform_weight_avx512(conv, weight, adjoint, u);
  } else {
    transform_weight_scalar(conv, weight, adjoint, u);
  }
  const int64_t each = packed_term_floats(conv);
  for (int64_t e = 0; e < kWinogradTerms; ++e) {
    sgemm_pack_a(out, in, u + e * in, kWinogradTerms * in, 1, packed + e * each);
  }
}

// Output tile rows [row_begin, row_end) of y = conv(x), U from
// winograd_transform_weight; other rows are not touched.
void winograd_forward(const WinogradConv& conv, const float* x, const float* packed_weight, float* y,
                      int64_t row_begin, int64_t row_end) {
  const int64_t tiles = conv.tiles_per_row(), terms = conv.terms();
  const int64_t out = conv.out_channels, in = conv.in_channels;
  const bool f4x4 = conv.tile == 4, avx512 = avx512_transforms();
  const int64_t block_rows = std::max<int64_t>(1, (f4x4 ? kForwardBlockTiles4x4 : kForwardBlockTiles) / tiles);
  const int64_t weight_each = packed_term_floats(conv);
  float* v = scratch(kTransformed, terms * term_stride(in, block_rows * tiles));
  float* m = scratch(kProducts, terms * term_stride(out, block_rows * tiles));
  float* work = f4x4 || avx512 ? nullptr
                               : scratch(kOutputLines, 4 * (block_rows * tiles + 8) + 2 * vector_tiles(tiles) + 16);
  for (int64_t block = row_begin; block < row_end; block += block_rows) {
    const int64_t rows = std::min(block_rows, row_end - block), ld = rows * tiles;
    const int64_t v_stride = term_stride(in, ld), m_stride = term_stride(out, ld);
    if (f4x4) {
      transform_input4(conv, x, block, block + rows, v, ld);
    } else if (avx512) {
      winograd_transform_input_avx512(conv, x, block, block + rows, v, ld);
    } else {
      winograd_transform_input(conv, x, block, block + rows, v, ld);
    }
    for (int64_t e = 0; e < terms; ++e) {
      sgemm_packed(out, ld, in, packed_weight + e * weight_each, v + e * v_stride, ld, 1, m + e * m_stride, ld, false);
    }
    if (f4x4) {
      output4(conv, m, m_stride, block, rows, y);
    } else if (avx512) {
      output_rows_avx512(conv, m, m_stride, block, rows, y);
    } else {
      for (int64_t o = 0; o < out; ++o) output_rows(conv, m, m_stride, o, block, rows, y, work);
    }
  }
}

// A dY A^T for every output channel of the same tiles, dY the 2x2 tile of
// grad_out [batch, out, height, width] (0 past its edges), laid out like v.
WATTLAB_AVX2 void winograd_transform_grad_output(const WinogradConv& conv, const float* grad_out, int64_t row_begin,
                                                 int64_t row_end, float* w, int64_t ldw) {
  const int64_t tiles = conv.tiles_per_row(), per_image = conv.tile_rows_per_image();
  const int64_t plane_size = conv.height * conv.width, stride = term_stride(conv.out_channels, ldw);
  const int64_t count = (row_end - row_begin) * tiles, d_length = count + 8;
  const int64_t line_length = 2 * vector_tiles(tiles);
  // A row of dY zero past the width, then dY's four columns per tile: d[p * 2 + q][tile] = dY[p][q].
  float* const line = scratch(kTransformLines, line_length + 4 * d_length);
  std::fill(line, line + line_length, 0.0f);
  float* const d = line + line_length;
  for (int64_t o = 0; o < conv.out_channels; ++o) {
    for (int64_t r = row_begin; r < row_end; ++r) {
      const int64_t n = r / per_image, top = 2 * (r % per_image), column = (r - row_begin) * tiles;
      const float* plane = grad_out + (n * conv.out_channels + o) * plane_size;
      for (int64_t p = 0; p < 2; ++p) {
        copy_row(plane, conv, top + p, line);
        for (int64_t t = 0; t < tiles; t += 8) {
          __m256 left, right;
          deinterleave8(line + 2 * t, left, right);
          _mm256_storeu_ps(d + (2 * p) * d_length + column + t, left);
          _mm256_storeu_ps(d + (2 * p + 1) * d_length + column + t, right);
        }
      }
    }
    // A dY: rows (dY0, dY0 + dY1, dY0 - dY1, -dY1); then A along each row likewise.
    const float* __restrict a0 = d;
    const float* __restrict a1 = d + d_length;
    const float* __restrict b0 = d + 2 * d_length;
    const float* __restrict b1 = d + 3 * d_length;
    float* __restrict out[kWinogradTerms];
    for (int e = 0; e < kWinogradTerms; ++e) out[e] = w + e * stride + o * ldw;
    for (int64_t q = 0; q < count; ++q) {
      const float rows[4][2] = {{a0[q], a1[q]}, {a0[q] + b0[q], a1[q] + b1[q]}, {a0[q] - b0[q], a1[q] - b1[q]},
                                {-b0[q], -b1[q]}};
      for (int i = 0; i < 4; ++i) {
        out[i * 4 + 0][q] = rows[i][0];
        out[i * 4 + 1][q] = rows[i][0] + rows[i][1];
        out[i * 4 + 2][q] = rows[i][0] - rows[i][1];
        out[i * 4 + 3][q] = -rows[i][1];
      }
    }
  }
}

// grad_weight [out, in, 3, 3] = G^T dU G from dU [16][out][in].
void winograd_weight_from_transformed(const WinogradConv& conv, const float* grad_u, float* grad_weight) {
  const int64_t pairs = conv.out_channels * conv.in_channels;
  for (int64_t k = 0; k < pairs; ++k) {
    float du[4][4];
    for (int e = 0; e < kWinogradTerms; ++e) du[e / 4][e % 4] = grad_u[e * pairs + k];
    // G^T du G, G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]].
    float t[3][4];
    for (int j = 0; j < 4; ++j) {
      t[0][j] = du[0][j] + 0.5f * (du[1][j] + du[2][j]);
      t[1][j] = 0.5f * (du[1][j] - du[2][j]);
      t[2][j] = 0.5f * (du[1][j] + du[2][j]) + du[3][j];
    }
    float* g = grad_weight + k * 9;
    for (int a = 0; a < 3; ++a) {
      g[a * 3 + 0] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
      g[a * 3 + 1] = 0.5f * (t[a][1] - t[a][2]);
      g[a * 3 + 2] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
    }
  }
}

// Throws std::invalid_argument unless winograd_runs(conv).
void check_runs(const WinogradConv& conv) {
  if (!winograd_runs(conv)) {
    throw std::invalid_argument("Winograd's F(" + std::to_string(conv.tile) + "x" + std::to_string(conv.tile) +
                                ", 3x3) does not run on this CPU or this shape");
  }
}

}  // namespace

bool winograd_runs(const WinogradConv& conv) {
  if (conv.tile == 2) return sgemm_available();
  const int64_t floats = conv.batch * std::max(conv.in_channels, conv.out_channels) * conv.height * conv.width;
  return conv.tile == 4 && sgemm_isa_available(SgemmIsa::kAvx512) && floats < (int64_t{1} << 31);
}

void winograd_conv_forward(const WinogradConv& conv, const float* x, const float* weight, float* y,
                           const WinogradParallelFor& parallel_for) {
  check_runs(conv);
  float* packed = scratch(kPackedWeight, winograd_weight_floats(conv));
  winograd_transform_weight(conv, weight, false, packed);
  parallel_for(conv.tile_rows(), [&](int64_t begin, int64_t end) { winograd_forward(conv, x, packed, y, begin, end); });
}

void winograd_conv_grad_input(const WinogradConv& conv, const float* grad_out, const float* weight, float* grad_x,
                              const WinogradParallelFor& parallel_for) {
  check_runs(conv);
  const WinogradConv adjoint = adjoint_of(conv);
  float* packed = scratch(kPackedWeight, winograd_weight_floats(adjoint));
  winograd_transform_weight(adjoint, weight, true, packed);
  parallel_for(adjoint.tile_rows(),
               [&](int64_t begin, int64_t end) { winograd_forward(adjoint, grad_out, packed, grad_x, begin, end); });
}

void winograd_conv_grad_weight(const WinogradConv& conv, const float* x, const float* grad_out, float* grad_weight,
                               const WinogradParallelFor& parallel_for) {
  check_runs(conv);
  const int64_t tiles = conv.tiles_per_row(), terms = conv.terms(), in = conv.in_channels, out = conv.out_channels;
  const bool f4x4 = conv.tile == 4, avx512 = avx512_transforms();
  const int64_t block_rows = std::max<int64_t>(1, (f4x4 ? kWeightBlockTiles4x4 : kWeightBlockTiles) / tiles);
  // The blocks' transforms (filled by all threads), then dU summed block after block.
  float* v = scratch(kTransformed, terms * term_stride(in, block_rows * tiles));
  float* w = scratch(kProducts, terms * term_stride(out, block_rows * tiles));
  float* grad_u = scratch(kUnpacked, terms * out * in);
  for (int64_t block = 0; block < conv.tile_rows(); block += block_rows) {
    const int64_t rows = std::min(block_rows, conv.tile_rows() - block), ld = rows * tiles;
    parallel_for(rows, [&](int64_t begin, int64_t end) {
      if (f4x4) {
        transform_input4(conv, x, block + begin, block + end, v + begin * tiles, ld);
        transform_grad_output4(conv, grad_out, block + begin, block + end, w + begin * tiles, ld);
      } else if (avx512) {
        winograd_transform_input_avx512(conv, x, block + begin, block + end, v + begin * tiles, ld);
        winograd_transform_grad_output_avx512(conv, grad_out, block + begin, block + end, w + begin * tiles, ld);
      } else {
        winograd_transform_input(conv, x, block + begin, block + end, v + begin * tiles, ld);
        winograd_transform_grad_output(conv, grad_out, block + begin, block + end, w + begin * tiles, ld);
      }
    });
    // dU[e] [out x in] += w[e] [out x tiles] * v[e]^T.
    parallel_for(terms, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        sgemm(out, in, ld, w + e * term_stride(out, ld), ld, 1, v + e * term_stride(in, ld), 1, ld,
              grad_u + e * out * in, in, block > 0);
      }
    });
  }
  if (f4x4) {
    weight_from_transformed4(conv, grad_u, grad_weight);
  } else {
    winograd_weight_from_transformed(conv, grad_u, grad_weight);
  }
}

}  // namespace wattlab::zoo
