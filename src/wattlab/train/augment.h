// Training-time augmentation of uint8 images (C x H x W planes), driven by a
// caller-owned seeded generator so that a run is reproducible. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct AugmentOptions {
  bool crop = false;         // random crop of the original size from the image padded with zeros
  int64_t crop_padding = 0;  // pixels of zero padding on every side, > 0 when crop
  bool flip = false;         // horizontal flip with probability 1/2

  bool any() const { return crop || flip; }
};

// Parses --augment: "none", or a comma-separated list of "crop" and "flip".
// `crop_padding` < 0 picks the default: 4 for images 32 pixels or larger, 2 below
// (the usual CIFAR and MNIST choices), from the smaller side `image_side`.
// Errors: InvalidArgument naming --augment or --crop-padding.
Result<AugmentOptions> parse_augment(const std::string& spec, int64_t crop_padding, int64_t image_side);

// The spec back as text ("crop(pad 4),flip" or "none"), for run params.
std::string describe(const AugmentOptions& options);

// A small, fast generator whose output is fixed by its seed (SplitMix64).
class AugmentRng {
 public:
  explicit AugmentRng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

// Writes to `out` (channels x height x width bytes, not overlapping `in`) the
// augmented `in`: draws, in this order, the crop offsets (y then x, each in
// [0, 2 * padding]) when crop and a flip bit when flip; pixels that fall in
// the padding are 0. With no augmentation `out` is a copy of `in`.
void augment_image(const uint8_t* in, int64_t channels, int64_t height, int64_t width,
                   const AugmentOptions& options, AugmentRng& rng, uint8_t* out);

}  // namespace wattlab
