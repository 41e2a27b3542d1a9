#include "wattlab/chess/render.h"

#include <stb_truetype.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>

namespace wattlab::chess {

namespace {

constexpr int kSquarePx = 40;  // side of a square on the flat board before the camera's warp
constexpr int kFlatPx = 8 * kSquarePx;

// U+2654 white king .. U+2659 white pawn, U+265A black king .. U+265F black
// pawn: the outline glyphs and the filled ones, in the reverse of PieceType's order.
int outline_glyph(PieceType t) { return 0x2654 + 5 - t; }
int filled_glyph(PieceType t) { return outline_glyph(t) + 6; }

struct LoadedFont {
  std::vector<uint8_t> data;  // the file; `info` points into it
  stbtt_fontinfo info{};
  float king_height = 0;  // the filled king's height at a scale of 1 font unit per pixel
};

// Fonts are read once per process and kept: a file is ~1 MB and parsing it
// costs more than drawing a board.
Result<const LoadedFont*> load_font(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<LoadedFont>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(path); it != cache.end()) return it->second.get();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("font " + path + " cannot be opened");
  auto font = std::make_unique<LoadedFont>();
  font->data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (font->data.empty() || !stbtt_InitFont(&font->info, font->data.data(), stbtt_GetFontOffsetForIndex(font->data.data(), 0)))
    return Status::invalid_argument("font " + path + " is not a TrueType font stb_truetype can read");
  for (int cp = 0x2654; cp <= 0x265F; ++cp) {
    if (stbtt_FindGlyphIndex(&font->info, cp) == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "%04X", cp);
      return Status::invalid_argument("font " + path + " has no glyph for U+" + hex +
                                      " (a chess piece); use dejavu or freeserif");
    }
  }
  int x0, y0, x1, y1;
  stbtt_GetCodepointBitmapBox(&font->info, filled_glyph(kKing), 1, 1, &x0, &y0, &x1, &y1);
  font->king_height = static_cast<float>(std::max(1, y1 - y0));
  const LoadedFont* out = font.get();
  cache.emplace(path, std::move(font));
  return out;
}

// An RGB image of floats, for drawing before the final quantisation.
struct Canvas {
  int width = 0, height = 0;
  std::vector<float> rgb;  // width * height * 3
  float* at(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

struct Rgb {
  float r, g, b;
  float luma() const { return 0.299f * r + 0.587f * g + 0.114f * b; }
};

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  double symmetric(double amplitude) { return uniform(-amplitude, amplitude); }
  size_t index(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  // A colour of the given luma with a random tint of up to `tint` levels per channel.
  Rgb colour(float luma, float tint) {
    Rgb c{luma + static_cast<float>(symmetric(tint)), luma + static_cast<float>(symmetric(tint)),
          luma + static_cast<float>(symmetric(tint))};
    const float shift = luma - c.luma();
    c = {std::clamp(c.r + shift, 0.f, 255.f), std::clamp(c.g + shift, 0.f, 255.f), std::clamp(c.b + shift, 0.f, 255.f)};
    return c;
  }
  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

// Blends `colour` into `canvas` with the glyph's coverage as alpha, the
// glyph's bitmap box placed with its top left at (left, top).
void draw_glyph(Canvas& canvas, const LoadedFont& font, int codepoint, float scale, float left, float top, Rgb colour) {
  int x0, y0, x1, y1;
  const float shift_x = left - std::floor(left), shift_y = top - std::floor(top);
  stbtt_GetCodepointBitmapBoxSubpixel(&font.info, codepoint, scale, scale, shift_x, shift_y, &x0, &y0, &x1, &y1);
  const int w = x1 - x0, h = y1 - y0;
  if (w <= 0 || h <= 0) return;
  std::vector<uint8_t> bitmap(static_cast<size_t>(w) * h);
  stbtt_MakeCodepointBitmapSubpixel(&font.info, bitmap.data(), w, h, w, scale, scale, shift_x, shift_y, codepoint);
  const int ox = static_cast<int>(std::floor(left)), oy = static_cast<int>(std::floor(top));
  for (int y = 0; y < h; ++y) {
    const int cy = oy + y;
    if (cy < 0 || cy >= canvas.height) continue;
    for (int x = 0; x < w; ++x) {
      const int cx = ox + x;
      if (cx < 0 || cx >= canvas.width) continue;
      const float a = bitmap[static_cast<size_t>(y) * w + x] / 255.f;
      if (a <= 0) continue;
      float* p = canvas.at(cx, cy);
      p[0] += (colour.r - p[0]) * a;
      p[1] += (colour.g - p[1]) * a;
      p[2] += (colour.b - p[2]) * a;
    }
  }
}

// A separable Gaussian blur of standard deviation sigma pixels, edges clamped.
void blur(Canvas& canvas, double sigma) {
  if (sigma < 0.2) return;
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<float> kernel(2 * radius + 1);
  float sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += kernel[i + radius] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& k : kernel) k /= sum;
  std::vector<float> tmp(canvas.rgb.size());
  const int w = canvas.width, h = canvas.height;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (int i = -radius; i <= radius; ++i) acc += kernel[i + radius] * canvas.rgb[(static_cast<size_t>(y) * w + std::clamp(x + i, 0, w - 1)) * 3 + c];
        tmp[(static_cast<size_t>(y) * w + x) * 3 + c] = acc;
      }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (int i = -radius; i <= radius; ++i) acc += kernel[i + radius] * tmp[(static_cast<size_t>(std::clamp(y + i, 0, h - 1)) * w + x) * 3 + c];
        canvas.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = acc;
      }
}

const std::map<std::string, std::pair<std::string, std::string>>& known_fonts() {
  static const std::map<std::string, std::pair<std::string, std::string>> fonts = {
      {"dejavu", {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"}},
      {"freeserif", {"/usr/share/fonts/truetype/freefont/FreeSerif.ttf", "fonts-freefont-ttf"}},
  };
  return fonts;
}

}  // namespace

Result<std::vector<std::string>> resolve_chess_fonts(const std::vector<std::string>& names) {
  std::vector<std::string> paths;
  for (const auto& name : names) {
    auto known = known_fonts().find(name);
    const std::string path = known != known_fonts().end() ? known->second.first : name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      if (known != known_fonts().end())
        return Status::not_found("font " + name + " (" + path + ") is not installed: apt-get install " + known->second.second);
      return Status::not_found("font file " + path + " does not exist (give dejavu, freeserif or a .ttf path)");
    }
    auto font = load_font(path);
    if (!font.ok()) return font.status();
    paths.push_back(path);
  }
  return paths;
}

Result<RenderedBoard> render_board(const Placement& placement, const RenderOptions& options) {
  const double d = options.difficulty;
  if (!(d >= 0 && d <= 1)) return Status::invalid_argument("--difficulty must be in [0, 1] (got " + std::to_string(d) + ")");
  if (options.image_size < 64)
    return Status::invalid_argument("the image size must be at least 64 pixels (got " + std::to_string(options.image_size) + ")");
  auto fonts = resolve_chess_fonts(options.fonts.empty() ? std::vector<std::string>{"dejavu", "freeserif"} : options.fonts);
  if (!fonts.ok()) return fonts.status();
  Random rnd(options.seed);
  RenderedBoard out;
  out.font = (*fonts)[rnd.index(fonts->size())];
  const LoadedFont& font = **load_font(out.font);

  // The flat board: square colours whose contrast shrinks with difficulty.
  const float contrast = static_cast<float>(rnd.uniform(110 - 70 * d, 150 - 60 * d));
  const float light_luma = static_cast<float>(rnd.uniform(150 + contrast / 2, 250));
  const float dark_luma = std::max(25.f, light_luma - contrast);
  const Rgb light = rnd.colour(light_luma, 30), dark = rnd.colour(dark_luma, 45);
  const Rgb white_piece = rnd.colour(static_cast<float>(rnd.uniform(235, 255)), 8);
  const Rgb ink = rnd.colour(static_cast<float>(rnd.uniform(0, 35)), 8);
  Canvas flat{kFlatPx, kFlatPx, std::vector<float>(kFlatPx * kFlatPx * 3)};
  for (int y = 0; y < kFlatPx; ++y)
    for (int x = 0; x < kFlatPx; ++x) {
      const Rgb& c = ((x / kSquarePx) + (y / kSquarePx)) % 2 == 0 ? light : dark;  // a8 (top left) is light
      float* p = flat.at(x, y);
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
    }
  const float piece_height = static_cast<float>(rnd.uniform(0.78, 0.92) * kSquarePx);
  const float scale = piece_height / font.king_height;
  // Offsets come from a generator of their own, drawn for every square, so
  // that the camera and lighting below do not depend on the position.
  const double jitter = (0.02 + 0.06 * d) * kSquarePx;
  Random offsets(options.seed ^ 0x9E3779B97F4A7C15ull);
  for (int s = 0; s < 64; ++s) {
    const float cx = (file_of(s) + 0.5f) * kSquarePx + static_cast<float>(offsets.symmetric(jitter));
    const float cy = (7 - rank_of(s) + 0.5f) * kSquarePx + static_cast<float>(offsets.symmetric(jitter));
    const Piece p = placement[s];
    if (p == kEmpty) continue;
    const PieceType t = piece_type(p);
    int x0, y0, x1, y1;
    stbtt_GetCodepointBitmapBox(&font.info, filled_glyph(t), scale, scale, &x0, &y0, &x1, &y1);
    // Place the glyph's box centre at (cx, cy); the outline glyph shares the filled one's origin.
    const float origin_x = cx - (x0 + x1) / 2.f, origin_y = cy - (y0 + y1) / 2.f;
    if (piece_color(p) == kWhite) {
      draw_glyph(flat, font, filled_glyph(t), scale, origin_x + x0, origin_y + y0, white_piece);
      int ox0, oy0, ox1, oy1;
      stbtt_GetCodepointBitmapBox(&font.info, outline_glyph(t), scale, scale, &ox0, &oy0, &ox1, &oy1);
      draw_glyph(flat, font, outline_glyph(t), scale, origin_x + ox0, origin_y + oy0, ink);
    } else {
      draw_glyph(flat, font, filled_glyph(t), scale, origin_x + x0, origin_y + y0, ink);
    }
  }

  // The camera: the board's corners in the image after scale, rotation,
  // offset and a perspective jitter of each corner.
  const double size = options.image_size;
  const double side = size * rnd.uniform(0.80 - 0.15 * d, 0.92);
  const double angle = rnd.symmetric((2 + 8 * d) * M_PI / 180);
  const double slack = (size - side * (std::abs(std::cos(angle)) + std::abs(std::sin(angle)))) / 2;
  const double centre_x = size / 2 + rnd.symmetric(std::max(0.0, slack * 0.6));
  const double centre_y = size / 2 + rnd.symmetric(std::max(0.0, slack * 0.6));
  const double warp = (0.005 + 0.045 * d) * side;
  const std::array<Point, 4> unit = {Point{-0.5, -0.5}, Point{0.5, -0.5}, Point{0.5, 0.5}, Point{-0.5, 0.5}};
  for (int i = 0; i < 4; ++i) {
    const double x = unit[i].x * side, y = unit[i].y * side;
    out.corners[i] = {centre_x + x * std::cos(angle) - y * std::sin(angle) + rnd.symmetric(warp),
                      centre_y + x * std::sin(angle) + y * std::cos(angle) + rnd.symmetric(warp)};
    out.corners[i].x = std::clamp(out.corners[i].x, 2.0, size - 3);
    out.corners[i].y = std::clamp(out.corners[i].y, 2.0, size - 3);
  }
  const std::array<Point, 4> flat_corners = {Point{0, 0}, Point{kFlatPx, 0}, Point{kFlatPx, kFlatPx}, Point{0, kFlatPx}};
  auto to_image = homography_from_points(flat_corners, out.corners);
  if (!to_image.ok()) return Status::internal("render: degenerate camera (" + to_image.status().message() + ")");
  const Homography to_flat = to_image->inverse();

  // The background: a colour at least 40 levels of luma away from both square colours.
  float background_luma;
  do {
    background_luma = static_cast<float>(rnd.uniform(10, 245));
  } while (std::abs(background_luma - light.luma()) < 40 || std::abs(background_luma - dark.luma()) < 40);
  const Rgb background = rnd.colour(background_luma, 40);
  const int n = options.image_size;
  Canvas image{n, n, std::vector<float>(static_cast<size_t>(n) * n * 3)};
  // Supersampled 2x2 per pixel, so the board's edge is antialiased.
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      float acc[3] = {0, 0, 0};
      for (int sy = 0; sy < 2; ++sy)
        for (int sx = 0; sx < 2; ++sx) {
          const Point f = to_flat.apply({x - 0.25 + 0.5 * sx, y - 0.25 + 0.5 * sy});
          if (f.x < 0 || f.y < 0 || f.x >= kFlatPx || f.y >= kFlatPx) {
            acc[0] += background.r, acc[1] += background.g, acc[2] += background.b;
            continue;
          }
          // Bilinear on the flat canvas.
          const double fx = std::clamp(f.x - 0.5, 0.0, kFlatPx - 1.001), fy = std::clamp(f.y - 0.5, 0.0, kFlatPx - 1.001);
          const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
          const float ax = static_cast<float>(fx - x0), ay = static_cast<float>(fy - y0);
          const float* p00 = flat.at(x0, y0);
          const float* p10 = flat.at(x0 + 1, y0);
          const float* p01 = flat.at(x0, y0 + 1);
          const float* p11 = flat.at(x0 + 1, y0 + 1);
          for (int c = 0; c < 3; ++c)
            acc[c] += (p00[c] * (1 - ax) + p10[c] * ax) * (1 - ay) + (p01[c] * (1 - ax) + p11[c] * ax) * ay;
        }
      float* p = image.at(x, y);
      for (int c = 0; c < 3; ++c) p[c] = acc[c] / 4;
    }

  // Lighting: a linear gradient across the image and an overall exposure.
  const double gradient = rnd.uniform(0, 0.1 + 0.35 * d);
  const double direction = rnd.uniform(0, 2 * M_PI);
  const double exposure = 1 + rnd.symmetric(0.05 + 0.2 * d);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const double t = ((x - n / 2.0) * std::cos(direction) + (y - n / 2.0) * std::sin(direction)) / n;
      const float gain = static_cast<float>(exposure * (1 + gradient * 2 * t));
      float* p = image.at(x, y);
      for (int c = 0; c < 3; ++c) p[c] *= gain;
    }
  blur(image, rnd.uniform(0, 0.3 + 1.2 * d));
  const double noise = rnd.uniform(0, 2 + 14 * d);
  std::normal_distribution<float> gauss(0.f, static_cast<float>(noise));
  out.image = Image{n, n, 3, std::vector<uint8_t>(image.rgb.size())};
  for (size_t i = 0; i < image.rgb.size(); ++i)
    out.image.pixels[i] = static_cast<uint8_t>(std::clamp(std::lround(image.rgb[i] + gauss(rnd.engine())), 0L, 255L));
  return out;
}

}  // namespace wattlab::chess
