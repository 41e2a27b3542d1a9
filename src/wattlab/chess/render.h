// Synthetic board images: a position drawn as a diagram with the chess glyphs
// U+2654-U+265F of a TrueType font (stb_truetype), seen by a camera. Every
// nuisance is drawn from a seeded generator and scaled by one difficulty knob
// in [0, 1]: square colours and their contrast, piece font, size and offset,
// board scale and position, rotation, perspective warp, lighting gradient,
// blur and sensor noise. White plays up the image (a1 at the bottom left).
// Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/chess/board.h"
#include "wattlab/chess/image.h"
#include "wattlab/core/status.h"

namespace wattlab::chess {

// The font files of `names`: "dejavu" (DejaVu Sans, fonts-dejavu-core),
// "freeserif" (FreeSerif, fonts-freefont-ttf) or a path to a TrueType file.
// NotFound naming the font and its Debian package when the file is missing;
// InvalidArgument when a file lacks any of the twelve chess glyphs.
Result<std::vector<std::string>> resolve_chess_fonts(const std::vector<std::string>& names);

struct RenderOptions {
  double difficulty = 0;  // 0: a clean, upright, high-contrast diagram; 1: the hardest the renderer draws
  uint64_t seed = 1;      // the same seed, options and position give the same image, byte for byte
  std::vector<std::string> fonts;  // font files (resolve_chess_fonts), one drawn per image; empty: dejavu and freeserif
  int image_size = 320;   // the image is image_size x image_size pixels, at least 64
};

struct RenderedBoard {
  Image image;  // RGB
  // The playing area's outer corners in image pixels, in the order a8, h8,
  // h1, a1 (top left, top right, bottom right, bottom left for an upright
  // board): the ground truth for localisation.
  std::array<Point, 4> corners;
  std::string font;  // the font file the pieces were drawn with
};

// Draws `placement`. InvalidArgument for a difficulty outside [0, 1] or an
// image_size below 64; the errors of resolve_chess_fonts for options.fonts.
Result<RenderedBoard> render_board(const Placement& placement, const RenderOptions& options);

}  // namespace wattlab::chess
