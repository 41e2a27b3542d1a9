#include "wattlab/chess/localise.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "wattlab/chess/board.h"

namespace wattlab::chess {

namespace {

// A float plane of the image's size.
struct Plane {
  int width = 0, height = 0;
  std::vector<float> v;
  float& at(int x, int y) { return v[static_cast<size_t>(y) * width + x]; }
  float at(int x, int y) const { return v[static_cast<size_t>(y) * width + x]; }
  float bilinear(double x, double y) const {
    x = std::clamp(x, 0.0, width - 1.001);
    y = std::clamp(y, 0.0, height - 1.001);
    const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
    const float fx = static_cast<float>(x - x0), fy = static_cast<float>(y - y0);
    const float* r0 = &v[static_cast<size_t>(y0) * width + x0];
    const float* r1 = r0 + width;
    return (r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[1] * fx) * fy;
  }
};

// The image gradient: its x and y components interleaved per pixel, so that
// grid_score samples both with one set of weights.
struct GradientPlane {
  int width = 0, height = 0;
  std::vector<float> v;  // gx, gy of pixel (x, y) at 2 * (y * width + x)
  float* at(int x, int y) { return &v[2 * (static_cast<size_t>(y) * width + x)]; }
  // Both components at (x, y), interpolated exactly as Plane::bilinear does.
  void bilinear(double x, double y, float* gx, float* gy) const {
    x = std::clamp(x, 0.0, width - 1.001);
    y = std::clamp(y, 0.0, height - 1.001);
    const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
    const float fx = static_cast<float>(x - x0), fy = static_cast<float>(y - y0);
    const float* r0 = &v[2 * (static_cast<size_t>(y0) * width + x0)];
    const float* r1 = r0 + 2 * width;
    *gx = (r0[0] * (1 - fx) + r0[2] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[2] * fx) * fy;
    *gy = (r0[1] * (1 - fx) + r0[3] * fx) * (1 - fy) + (r1[1] * (1 - fx) + r1[3] * fx) * fy;
  }
};

// std::lround (halves away from zero) without a library call: exact for
// |v| < 2^52, where v minus its integer part is exact.
inline long round_half_away(double v) {
  const long t = static_cast<long>(v);
  const double fraction = v - static_cast<double>(t);
  return t + (fraction >= 0.5) - (fraction <= -0.5);
}

// A 3x3 box blur, edges clamped.
Plane box_blur(const Plane& in) {
  const int w = in.width, h = in.height;
  Plane tmp{w, h, std::vector<float>(in.v.size())}, out = tmp;
  for (int y = 0; y < h; ++y) {
    const float* r = &in.v[static_cast<size_t>(y) * w];
    float* t = &tmp.v[static_cast<size_t>(y) * w];
    t[0] = (r[0] + r[0] + r[std::min(1, w - 1)]) / 3;
    for (int x = 1; x < w - 1; ++x) t[x] = (r[x - 1] + r[x] + r[x + 1]) / 3;
    if (w > 1) t[w - 1] = (r[w - 2] + r[w - 1] + r[w - 1]) / 3;
  }
  for (int y = 0; y < h; ++y) {
    const float* up = &tmp.v[static_cast<size_t>(std::max(y - 1, 0)) * w];
    const float* mid = &tmp.v[static_cast<size_t>(y) * w];
    const float* down = &tmp.v[static_cast<size_t>(std::min(y + 1, h - 1)) * w];
    float* o = &out.v[static_cast<size_t>(y) * w];
    for (int x = 0; x < w; ++x) o[x] = (up[x] + mid[x] + down[x]) / 3;
  }
  return out;
}

// How well the board's 18 grid lines under `h` follow the image's edges: the
// mean over points along each line of the gradient's component across it.
double grid_score(const GradientPlane& gradient, const Homography& h) {
  constexpr int kSamples = 24;
  double score = 0;
  for (int along_u = 0; along_u < 2; ++along_u) {
    for (int k = 0; k <= 8; ++k) {
      const Point a = h.apply(along_u ? Point{0, static_cast<double>(k)} : Point{static_cast<double>(k), 0});
      const Point b = h.apply(along_u ? Point{8, static_cast<double>(k)} : Point{static_cast<double>(k), 8});
      double nx = -(b.y - a.y), ny = b.x - a.x;
      const double len = std::hypot(nx, ny);
      if (len < 1e-9) return -1;
      nx /= len, ny /= len;
      for (int i = 0; i < kSamples; ++i) {
        const double t = 8.0 * (i + 0.5) / kSamples;
        const Point p = h.apply(along_u ? Point{t, static_cast<double>(k)} : Point{static_cast<double>(k), t});
        float gx, gy;
        gradient.bilinear(p.x, p.y, &gx, &gy);
        score += std::abs(gx * nx + gy * ny);
      }
    }
  }
  return score / (18 * kSamples);
}

// A line x = c + slope * y (a "vertical" side) or y = c + slope * x.
struct Line {
  bool vertical = true;
  double c = 0;
  double slope = 0;
};

// The line through most of `points` (each the outermost edge pixel of a row
// or column, so a side of the board where its edge was found, an inner grid
// line where it was not): a vote over slopes within +-30 degrees and
// one-pixel intercepts, then a least-squares fit to the points within 1.5
// pixels of the winner.
std::optional<Line> dominant_line(const std::vector<Point>& points, bool vertical, int extent) {
  if (points.size() < 8) return std::nullopt;
  auto along = [&](const Point& p) { return vertical ? p.y : p.x; };
  auto across = [&](const Point& p) { return vertical ? p.x : p.y; };
  const int offset = extent;  // intercepts lie within [-extent, 2 * extent)
  const int size = 3 * extent + 2;
  std::vector<int> votes(size);
  int best_votes = -1;
  Line best{vertical, 0, 0};
  for (double degrees = -30; degrees <= 30; degrees += 0.5) {
    const double slope = std::tan(degrees * M_PI / 180);
    int low = size, high = -1;  // the bins voted for
    for (const Point& p : points) {
      const int bin = static_cast<int>(round_half_away(across(p) - slope * along(p))) + offset;
      if (bin >= 1 && bin < size - 1) {
        ++votes[bin];
        low = std::min(low, bin), high = std::max(high, bin);
      }
    }
    if (high < 0) {  // every window holds 0 votes: the first wins if nothing has yet
      if (best_votes < 0) best_votes = 0, best = {vertical, static_cast<double>(1 - offset), slope};
      continue;
    }
    // Windows beyond the voted bins hold 0 votes and win nothing.
    for (int i = std::max(1, low - 1); i <= std::min(size - 2, high + 1); ++i) {
      const int v = votes[i - 1] + votes[i] + votes[i + 1];
      if (v > best_votes) best_votes = v, best = {vertical, static_cast<double>(i - offset), slope};
    }
    std::fill(votes.begin() + low, votes.begin() + high + 1, 0);
  }
  double n = 0, sa = 0, sc = 0, saa = 0, sac = 0;
  for (const Point& p : points) {
    if (std::abs(across(p) - best.c - best.slope * along(p)) > 1.5) continue;
    n += 1, sa += along(p), sc += across(p), saa += along(p) * along(p), sac += along(p) * across(p);
  }
  const double det = n * saa - sa * sa;
  if (n >= 2 && std::abs(det) > 1e-9) {
    best.slope = (n * sac - sa * sc) / det;
    best.c = (sc - best.slope * sa) / n;
  }
  return best;
}

Point intersect(const Line& v, const Line& h) {
  // x = v.c + v.slope * y and y = h.c + h.slope * x.
  const double y = (h.c + h.slope * v.c) / (1 - h.slope * v.slope);
  return {v.c + v.slope * y, y};
}

const std::array<Point, 4> kBoardCorners = {Point{0, 0}, Point{8, 0}, Point{8, 8}, Point{0, 8}};

}  // namespace

Result<BoardLocation> board_from_corners(const std::array<Point, 4>& corners) {
  auto h = homography_from_points(kBoardCorners, corners);
  if (!h.ok()) return h.status();
  return BoardLocation{corners, *h};
}

Result<BoardLocation> locate_board(const Image& grey) {
  if (grey.channels != 1 || grey.width < 16 || grey.height < 16)
    return Status::invalid_argument("locate_board needs a grey image of at least 16x16 pixels");
  const int w = grey.width, h = grey.height;
  Plane g{w, h, std::vector<float>(grey.pixels.begin(), grey.pixels.end())};
  const Plane s = box_blur(box_blur(g));
  GradientPlane gradient{w, h, std::vector<float>(2 * g.v.size())};
  Plane mag{w, h, std::vector<float>(g.v.size())};
  for (int y = 1; y < h - 1; ++y)
    for (int x = 1; x < w - 1; ++x) {
      const float gx = (s.at(x + 1, y - 1) + 2 * s.at(x + 1, y) + s.at(x + 1, y + 1) - s.at(x - 1, y - 1) -
                        2 * s.at(x - 1, y) - s.at(x - 1, y + 1)) / 8;
      const float gy = (s.at(x - 1, y + 1) + 2 * s.at(x, y + 1) + s.at(x + 1, y + 1) - s.at(x - 1, y - 1) -
                        2 * s.at(x, y - 1) - s.at(x + 1, y - 1)) / 8;
      float* out = gradient.at(x, y);
      out[0] = gx, out[1] = gy;
      mag.at(x, y) = std::abs(gx) + std::abs(gy);
    }
  // Edges: gradients well above the typical (noise) level.
  std::vector<float> sample;
  for (size_t i = 0; i < mag.v.size(); i += 7) sample.push_back(mag.v[i]);
  std::nth_element(sample.begin(), sample.begin() + sample.size() / 2, sample.end());
  const float threshold = std::max(2.5f, 3 * sample[sample.size() / 2]);
  std::vector<uint8_t> edge(mag.v.size()), grown(mag.v.size());
  for (size_t i = 0; i < mag.v.size(); ++i) edge[i] = mag.v[i] > threshold;
  // Grown by a pixel so that a grid line's pieces join up.
  for (int y = 1; y < h - 1; ++y)
    for (int x = 1; x < w - 1; ++x) {
      uint8_t any = 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) any |= edge[static_cast<size_t>(y + dy) * w + x + dx];
      grown[static_cast<size_t>(y) * w + x] = any;
    }
  // The 4-connected components of the grown edges; those spanning at least
  // 1/24 of the image are the board's (grid lines, pieces), the rest noise.
  // (A faint grid breaks into several such pieces, so all are kept.)
  std::vector<int> label(grown.size(), 0), stack;
  std::vector<uint8_t> kept_label{0};
  const int min_extent = std::max(w, h) / 24;
  for (size_t start = 0; start < grown.size(); ++start) {
    if (!grown[start] || label[start]) continue;
    const int id = static_cast<int>(kept_label.size());
    int x0 = w, x1 = -1, y0 = h, y1 = -1;
    stack.assign(1, static_cast<int>(start));
    label[start] = id;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      const int x = p % w, y = p / w;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      const int neighbours[4] = {x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1};
      for (int q : neighbours)
        if (q >= 0 && grown[q] && !label[q]) {
          label[q] = id;
          stack.push_back(q);
        }
    }
    kept_label.push_back(std::max(x1 - x0, y1 - y0) >= min_extent);
  }
  // The outermost edge pixel of each row and column of those; a
  // robust line through each side's gives the four sides, and their
  // intersections the corners, even where a corner square's edges are faint.
  std::vector<int> row_min(h, w), row_max(h, -1), col_min(w, h), col_max(w, -1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      if (!edge[i] || !kept_label[label[i]]) continue;
      row_min[y] = std::min(row_min[y], x), row_max[y] = std::max(row_max[y], x);
      col_min[x] = std::min(col_min[x], y), col_max[x] = std::max(col_max[x], y);
    }
  std::array<std::vector<Point>, 4> outermost;  // top, right, bottom, left
  for (int y = 0; y < h; ++y)
    if (row_max[y] >= 0) outermost[3].push_back({double(row_min[y]), double(y)}), outermost[1].push_back({double(row_max[y]), double(y)});
  for (int x = 0; x < w; ++x)
    if (col_max[x] >= 0) outermost[0].push_back({double(x), double(col_min[x])}), outermost[2].push_back({double(x), double(col_max[x])});
  if (outermost[0].size() < 0.3 * w || outermost[3].size() < 0.3 * h)
    return Status::not_found("no chessboard found: no structure of edges spans a third of the image");
  std::array<Line, 4> sides;
  for (int k = 0; k < 4; ++k) {
    auto line = dominant_line(outermost[k], k % 2 == 1, std::max(w, h));
    if (!line) return Status::not_found("no chessboard found: a side of the edges' outline is missing");
    sides[k] = *line;
  }
  const std::array<Point, 4> rough = {intersect(sides[3], sides[0]), intersect(sides[1], sides[0]),
                                      intersect(sides[1], sides[2]), intersect(sides[3], sides[2])};
  // Where a whole outer side was too faint, the outline ends one square
  // early: try every side one square further out, and keep the best grid.
  std::optional<BoardLocation> location;
  double score = -1;
  for (int grow = 0; grow < 16; ++grow) {
    const double top = grow & 1, right = (grow >> 1) & 1, bottom = (grow >> 2) & 1, left = (grow >> 3) & 1;
    auto inner = homography_from_points({Point{left, top}, Point{8 - right, top}, Point{8 - right, 8 - bottom},
                                         Point{left, 8 - bottom}}, rough);
    if (!inner.ok()) continue;
    std::array<Point, 4> corners;
    for (int k = 0; k < 4; ++k) corners[k] = inner->apply(kBoardCorners[k]);
    auto candidate = board_from_corners(corners);
    if (!candidate.ok()) continue;
    const double s2 = grid_score(gradient, candidate->board_to_image);
    if (s2 > score) score = s2, location = *candidate;
  }
  if (!location) return Status::not_found("no chessboard found: the edges' outline is no quadrilateral");

  // Move each corner coordinate while the grid fits the edges better.
  for (double step : {1.0, 0.5, 0.25}) {
    for (int round = 0; round < 4; ++round) {
      bool improved = false;
      for (int k = 0; k < 8; ++k) {
        for (double delta : {step, -step}) {
          std::array<Point, 4> trial = location->corners;
          (k % 2 ? trial[k / 2].y : trial[k / 2].x) += delta;
          auto candidate = board_from_corners(trial);
          if (!candidate.ok()) continue;
          const double s2 = grid_score(gradient, candidate->board_to_image);
          if (s2 > score) {
            score = s2;
            location = *candidate;
            improved = true;
            break;
          }
        }
      }
      if (!improved) break;
    }
  }
  return *location;
}

void extract_squares(const Image& grey, const BoardLocation& location, int side, double margin, uint8_t* out) {
  const Homography& h = location.board_to_image;
  const double span = 1 + 2 * margin;
  for (int s = 0; s < 64; ++s) {
    const double u0 = file_of(s) - margin, v0 = 7 - rank_of(s) - margin;
    uint8_t* crop = out + static_cast<size_t>(s) * side * side;
    for (int i = 0; i < side; ++i) {
      const double v = v0 + (i + 0.5) / side * span;
      for (int j = 0; j < side; ++j) {
        const Point p = h.apply({u0 + (j + 0.5) / side * span, v});
        crop[i * side + j] = static_cast<uint8_t>(round_half_away(sample_bilinear(grey, p.x, p.y)));
      }
    }
  }
}

}  // namespace wattlab::chess
