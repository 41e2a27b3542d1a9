#include "wattlab/train/augment.h"

#include <cstring>
#include <sstream>

namespace wattlab {

Result<AugmentOptions> parse_augment(const std::string& spec, int64_t crop_padding, int64_t image_side) {
  AugmentOptions options;
  if (spec != "none" && !spec.empty()) {
    std::stringstream in(spec);
    for (std::string item; std::getline(in, item, ',');) {
      if (item == "crop") {
        options.crop = true;
      } else if (item == "flip") {
        options.flip = true;
      } else {
        return Status::invalid_argument("--augment must be none or a comma-separated list of crop and flip (got \"" +
                                        spec + "\")");
      }
    }
  }
  if (options.crop) {
    options.crop_padding = crop_padding >= 0 ? crop_padding : (image_side >= 32 ? 4 : 2);
    if (options.crop_padding < 1 || options.crop_padding >= image_side) {
      return Status::invalid_argument("--crop-padding must be at least 1 and below the image side " +
                                      std::to_string(image_side) + " (got " + std::to_string(options.crop_padding) +
                                      ")");
    }
  }
  return options;
}

std::string describe(const AugmentOptions& options) {
  std::string text;
  if (options.crop) text = "crop(pad " + std::to_string(options.crop_padding) + ")";
  if (options.flip) text += text.empty() ? "flip" : ",flip";
  return text.empty() ? "none" : text;
}

void augment_image(const uint8_t* in, int64_t channels, int64_t height, int64_t width,
                   const AugmentOptions& options, AugmentRng& rng, uint8_t* out) {
  // Output pixel (y, x) reads input (y + dy, x + dx), mirrored in x when flipping.
  int64_t dy = 0, dx = 0;
  if (options.crop) {
    dy = rng.below(2 * options.crop_padding + 1) - options.crop_padding;
    dx = rng.below(2 * options.crop_padding + 1) - options.crop_padding;
  }
  const bool flip = options.flip && (rng.next() & 1) != 0;
  if (dy == 0 && dx == 0 && !flip) {
    std::memcpy(out, in, static_cast<size_t>(channels * height * width));
    return;
  }
  for (int64_t c = 0; c < channels; ++c) {
    const uint8_t* plane = in + c * height * width;
    uint8_t* out_plane = out + c * height * width;
    for (int64_t y = 0; y < height; ++y) {
      const int64_t sy = y + dy;
      uint8_t* row = out_plane + y * width;
      if (sy < 0 || sy >= height) {
        std::memset(row, 0, static_cast<size_t>(width));
        continue;
      }
      for (int64_t x = 0; x < width; ++x) {
        const int64_t sx = (flip ? width - 1 - x : x) + dx;
        row[x] = sx < 0 || sx >= width ? 0 : plane[sy * width + sx];
      }
    }
  }
}

}  // namespace wattlab
