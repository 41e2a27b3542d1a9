// Finding the board in an image and cutting out its squares: the recogniser's
// pre-processing. Torch-free.
//
// Board coordinates: (u, v) with u across the files and v down the ranks, in
// squares, so (0, 0) is a8's outer corner, (8, 0) h8's, (8, 8) h1's and (0, 8)
// a1's (White plays up the image).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "wattlab/chess/image.h"
#include "wattlab/core/status.h"

namespace wattlab::chess {

struct BoardLocation {
  std::array<Point, 4> corners;  // image pixels of a8's, h8's, h1's and a1's outer corners
  Homography board_to_image;     // board coordinates -> image pixels
};

// The homography of a board whose outer corners (a8, h8, h1, a1) are `corners`.
Result<BoardLocation> board_from_corners(const std::array<Point, 4>& corners);

// Finds the board in a grey image. A board's squares alternate, so every
// square border is an edge: the outermost edge pixels of each row and column
// (of edge structures spanning 1/24 of the image or more) vote for the four
// sides, whose intersections give the corners roughly; where a whole outer
// side was too faint to show, that outline is one square short, so each
// side is also tried one square further out and the grid that best follows
// the image's gradient wins. Then the corners move, to a quarter pixel, to
// where the 9 + 9 grid lines lie best on the gradient. Works for upright
// boards rotated by up to ~30 degrees under a mild perspective, against a
// background without strong edges (renders of difficulty 1: corners within
// 2 pixels). NotFound when no edge structure spans a third of the image;
// InvalidArgument for an empty or non-grey image.
Result<BoardLocation> locate_board(const Image& grey);

// The 64 squares of the board at `location` in `grey`, each resampled
// (bilinear) to side x side pixels including a `margin` of the square's side
// around it, written square after square in Position order (a1 first) to
// `out`, which must hold 64 * side * side bytes.
void extract_squares(const Image& grey, const BoardLocation& location, int side, double margin, uint8_t* out);

}  // namespace wattlab::chess
