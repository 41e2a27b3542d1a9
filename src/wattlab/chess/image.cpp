#include "wattlab/chess/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace wattlab::chess {

Status write_png(const Image& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0 || image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    return Status::invalid_argument("cannot write " + path + ": the image is empty or its pixel buffer has the wrong size");
  if (!stbi_write_png(path.c_str(), image.width, image.height, image.channels, image.pixels.data(),
                      image.width * image.channels))
    return Status::io_error("cannot write " + path + " (does its folder exist and is it writable?)");
  return Status();
}

Result<Image> read_image(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::not_found("image " + path + " does not exist");
  int w = 0, h = 0, n = 0;
  uint8_t* data = stbi_load(path.c_str(), &w, &h, &n, 3);
  if (data == nullptr)
    return Status::corrupt("image " + path + " cannot be decoded (" + stbi_failure_reason() + "); give a PNG or JPEG");
  Image image{w, h, 3, std::vector<uint8_t>(data, data + static_cast<size_t>(w) * h * 3)};
  stbi_image_free(data);
  return image;
}

Image to_grey(const Image& image) {
  if (image.channels == 1) return image;
  Image grey{image.width, image.height, 1, std::vector<uint8_t>(static_cast<size_t>(image.width) * image.height)};
  for (size_t i = 0; i < grey.pixels.size(); ++i) {
    const uint8_t* p = &image.pixels[i * image.channels];
    grey.pixels[i] = static_cast<uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
  }
  return grey;
}

Homography Homography::inverse() const {
  const auto& a = m;
  Homography inv;
  auto& b = inv.m;
  b[0] = a[4] * a[8] - a[5] * a[7];
  b[1] = a[2] * a[7] - a[1] * a[8];
  b[2] = a[1] * a[5] - a[2] * a[4];
  b[3] = a[5] * a[6] - a[3] * a[8];
  b[4] = a[0] * a[8] - a[2] * a[6];
  b[5] = a[2] * a[3] - a[0] * a[5];
  b[6] = a[3] * a[7] - a[4] * a[6];
  b[7] = a[1] * a[6] - a[0] * a[7];
  b[8] = a[0] * a[4] - a[1] * a[3];
  const double det = a[0] * b[0] + a[1] * b[3] + a[2] * b[6];
  if (std::abs(det) < 1e-300) return Homography{};
  for (double& v : b) v /= det;
  return inv;
}

Result<Homography> homography_from_points(const std::array<Point, 4>& from, const std::array<Point, 4>& to) {
  auto collinear = [](const std::array<Point, 4>& p) {
    for (int i = 0; i < 4; ++i) {
      const Point& a = p[(i + 1) % 4];
      const Point& b = p[(i + 2) % 4];
      const Point& c = p[(i + 3) % 4];
      const double area = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
      double scale = std::max({std::abs(b.x - a.x), std::abs(b.y - a.y), std::abs(c.x - a.x), std::abs(c.y - a.y), 1e-12});
      if (std::abs(area) < 1e-9 * scale * scale) return true;
    }
    return false;
  };
  if (collinear(from) || collinear(to))
    return Status::invalid_argument("a homography needs four points of which no three are collinear");
  // Solve the 8x8 system A h = b for h = m0..m7 (m8 = 1), Gaussian elimination with partial pivoting.
  double a[8][9];
  for (int i = 0; i < 4; ++i) {
    const double x = from[i].x, y = from[i].y, u = to[i].x, v = to[i].y;
    double r1[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
    double r2[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
    std::copy(r1, r1 + 9, a[2 * i]);
    std::copy(r2, r2 + 9, a[2 * i + 1]);
  }
  for (int col = 0; col < 8; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 8; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    if (std::abs(a[pivot][col]) < 1e-12) return Status::invalid_argument("the four point pairs admit no homography");
    std::swap(a[col], a[pivot]);
    for (int r = 0; r < 8; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < 9; ++c) a[r][c] -= f * a[col][c];
    }
  }
  Homography h;
  for (int i = 0; i < 8; ++i) h.m[i] = a[i][8] / a[i][i];
  h.m[8] = 1;
  return h;
}

}  // namespace wattlab::chess
