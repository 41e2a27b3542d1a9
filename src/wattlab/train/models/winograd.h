// 3x3 convolutions with stride 1 and padding 1 by Winograd's F(2x2, 3x3):
// 16 multiplications for each 2x2 block of output pixels and input channel
// instead of 36; or by F(4x4, 3x3): 36 for each 4x4 block instead of 144.
// Internal to train/; torch-free (models/gemm_conv.h drives it on LibTorch's
// threads).
//
// F(4x4, 3x3) (Lavin and Gray 2016) is the same scheme with 6x6 transforms:
// 1.8x fewer multiplications again, at a cost in rounding: its transforms
// multiply by up to 8 and divide by 24, so against a direct float32
// convolution its results differ by ~1e-5 of the largest value, not ~1e-6.
// It runs on AVX-512 only, 16 tiles at a time from any tile rows, so that
// maps of 1 to 8 tiles a row fill the vectors: each row's run of tiles read
// and written with whole-vector loads and stores, or on maps of 1 or 2 tiles
// a row by gathers and scatters. Below, what is said of F(2x2, 3x3) holds for
// it with 4x4 tiles and 6x6 transforms.
//
// Each 2x2 output tile reads a 4x4 input patch d. With the fixed matrices
// B, G, A of F(2x2, 3x3), the tile is A^T [(G g G^T) . (B^T d B)] A, where
// g is a 3x3 kernel and "." the element-wise product summed over input
// channels. So the sum over channels becomes 16 matrix products, one per
// element e of the 4x4 transforms:
//   M[e] [out x tiles] = U[e] [out x in] * V[e] [in x tiles].
// The input gradient is the forward convolution of the output gradient with
// the kernels flipped and in/out swapped; the weight gradient follows from
// the same identity:
//   dL/dU[e] = sum over tiles of (A dY A^T)[e] * V[e]^T,  dL/dg = G^T dL/dU G.
//
// The transforms run 8 tiles at a time with AVX2, or 16 of a tile row at a
// time with AVX-512 when sgemm's micro-kernel is AVX-512; both give the same
// bits.
//
// Tiles are numbered row-major over the batch: tile row r covers output rows
// 2*(r % tile_rows_per_image) and the next of sample r / tile_rows_per_image.
// Output pixels past an odd height or width are computed and dropped (their
// gradients taken as zero). Against a direct float32 convolution the results
// differ by ~1e-6 of the largest value (the transforms add and halve).
#pragma once

#include <cstdint>
#include <functional>

namespace wattlab::zoo {

// x [batch, in_channels, height, width] -> y [batch, out_channels, height,
// width], kernel [out_channels, in_channels, 3, 3], all contiguous (NCHW), by
// F(tile x tile, 3x3).
struct WinogradConv {
  int64_t batch = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t tile = 2;  // output tile side: 2 or 4

  int64_t tiles_per_row() const { return (width + tile - 1) / tile; }
  int64_t tile_rows_per_image() const { return (height + tile - 1) / tile; }
  int64_t tile_rows() const { return batch * tile_rows_per_image(); }
  // The products per tile and channel: the elements of a (tile + 2)^2 transform.
  int64_t terms() const { return (tile + 2) * (tile + 2); }
};

// Whether this CPU runs conv: F(2x2, 3x3) wherever sgemm_available();
// F(4x4, 3x3) where the CPU also has AVX-512 (whichever micro-kernel sgemm
// uses), on tensors of under 2^31 floats (its transforms index them with
// 32-bit lanes).
bool winograd_runs(const WinogradConv& conv);

// All three below require winograd_runs(conv). Their working memory is each
// thread's own and only grows (up to 2 x 8 MB a thread at 256 channels).

// Runs body(begin, end) on pieces covering [0, count) once each, on one
// thread or several (gemm_conv.cpp passes LibTorch's parallel_for). Results
// are the same bits however the range is cut.
using WinogradParallelFor =
    std::function<void(int64_t count, const std::function<void(int64_t, int64_t)>& body)>;

// y [batch, out, height, width] = conv(x) with weight [out, in, 3, 3].
void winograd_conv_forward(const WinogradConv& conv, const float* x, const float* weight, float* y,
                           const WinogradParallelFor& parallel_for);

// grad_x [batch, in, height, width] from grad_out [batch, out, height,
// width]: the forward of the output gradient with each kernel turned by 180
// degrees and in and out swapped.
void winograd_conv_grad_input(const WinogradConv& conv, const float* grad_out, const float* weight, float* grad_x,
                              const WinogradParallelFor& parallel_for);

// grad_weight [out, in, 3, 3] from x and grad_out, summed over the batch.
void winograd_conv_grad_weight(const WinogradConv& conv, const float* x, const float* grad_out, float* grad_weight,
                               const WinogradParallelFor& parallel_for);

}  // namespace wattlab::zoo
