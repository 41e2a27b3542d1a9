// Images and plane geometry for the board renderer and the recogniser:
// 8-bit images, PNG files, and homographies (projective maps of the plane).
// Torch-free.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab::chess {

// Pixels row after row, channels interleaved (RGB or grey).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;  // width * height * channels bytes

  uint8_t at(int x, int y, int c = 0) const { return pixels[(static_cast<size_t>(y) * width + x) * channels + c]; }
};

// Writes `image` as a PNG file. IoError naming the path when it cannot.
Status write_png(const Image& image, const std::string& path);
// Reads a PNG or JPEG file as RGB. NotFound or Corrupt naming the path.
Result<Image> read_image(const std::string& path);
// The luminance (ITU-R BT.601 weights) of an RGB image; a grey image is copied.
Image to_grey(const Image& image);

struct Point {
  double x = 0;
  double y = 0;
};

// A 3x3 projective map, row-major: (x, y) -> ((m0 x + m1 y + m2) / w,
// (m3 x + m4 y + m5) / w) with w = m6 x + m7 y + m8.
struct Homography {
  std::array<double, 9> m{1, 0, 0, 0, 1, 0, 0, 0, 1};

  Point apply(Point p) const {
    const double w = m[6] * p.x + m[7] * p.y + m[8];
    return {(m[0] * p.x + m[1] * p.y + m[2]) / w, (m[3] * p.x + m[4] * p.y + m[5]) / w};
  }
  // The inverse map; the identity's inverse for a singular matrix.
  Homography inverse() const;
};

// The homography taking from[i] to to[i] for i = 0..3 (a direct linear
// solve). InvalidArgument when three of either set of points are collinear.
Result<Homography> homography_from_points(const std::array<Point, 4>& from, const std::array<Point, 4>& to);

// The value of plane `c` of `image` at (x, y) by bilinear interpolation,
// pixel centres at integer coordinates; coordinates outside are clamped.
// Inline: the recogniser samples every pixel of 64 square crops with it.
inline float sample_bilinear(const Image& image, double x, double y, int c = 0) {
  x = std::clamp(x, 0.0, image.width - 1.0);
  y = std::clamp(y, 0.0, image.height - 1.0);
  const int x0 = std::min(static_cast<int>(x), image.width - 2 < 0 ? 0 : image.width - 2);
  const int y0 = std::min(static_cast<int>(y), image.height - 2 < 0 ? 0 : image.height - 2);
  const int x1 = std::min(x0 + 1, image.width - 1), y1 = std::min(y0 + 1, image.height - 1);
  const double fx = x - x0, fy = y - y0;
  const double top = image.at(x0, y0, c) * (1 - fx) + image.at(x1, y0, c) * fx;
  const double bottom = image.at(x0, y1, c) * (1 - fx) + image.at(x1, y1, c) * fx;
  return static_cast<float>(top * (1 - fy) + bottom * fy);
}

}  // namespace wattlab::chess
