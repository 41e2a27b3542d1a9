#include "wattlab/chess/localise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "wattlab/chess/render.h"
#include "wattlab/chess/sampler.h"

namespace wattlab::chess {
namespace {

TEST(HomographyTest, RecoversAKnownWarp) {
  // A known projective map, applied to four points; the solve must give it back.
  Homography truth;
  truth.m = {1.2, 0.1, 30, -0.05, 0.9, 12, 0.0004, -0.0002, 1};
  const std::array<Point, 4> from = {Point{0, 0}, Point{100, 0}, Point{100, 80}, Point{0, 80}};
  std::array<Point, 4> to;
  for (int i = 0; i < 4; ++i) to[i] = truth.apply(from[i]);
  auto h = homography_from_points(from, to);
  ASSERT_TRUE(h.ok()) << h.status().message();
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(h->m[i], truth.m[i], 1e-9) << i;
  // Any other point maps as the truth maps it, and the inverse maps it back.
  const Point p = h->apply({37, 61}), q = truth.apply({37, 61});
  EXPECT_NEAR(p.x, q.x, 1e-9);
  EXPECT_NEAR(p.y, q.y, 1e-9);
  const Point back = h->inverse().apply(p);
  EXPECT_NEAR(back.x, 37, 1e-9);
  EXPECT_NEAR(back.y, 61, 1e-9);
}

TEST(HomographyTest, RefusesCollinearPoints) {
  const std::array<Point, 4> line = {Point{0, 0}, Point{1, 1}, Point{2, 2}, Point{0, 5}};
  const std::array<Point, 4> square = {Point{0, 0}, Point{1, 0}, Point{1, 1}, Point{0, 1}};
  EXPECT_FALSE(homography_from_points(line, square).ok());
  EXPECT_FALSE(homography_from_points(square, line).ok());
}

// Worst corner error, pixels, of locate_board on renders at `difficulty`.
double worst_corner_error(double difficulty, int boards, uint64_t seed) {
  std::vector<Position> positions = sample_random_positions(boards, seed);
  double worst = 0;
  for (int i = 0; i < boards; ++i) {
    RenderOptions options;
    options.difficulty = difficulty;
    options.seed = seed * 1000 + i;
    auto board = render_board(positions[i].placement(), options);
    EXPECT_TRUE(board.ok());
    auto found = locate_board(to_grey(board->image));
    EXPECT_TRUE(found.ok()) << found.status().message();
    if (!found.ok()) return 1e9;
    for (int k = 0; k < 4; ++k)
      worst = std::max(worst, std::hypot(found->corners[k].x - board->corners[k].x, found->corners[k].y - board->corners[k].y));
  }
  return worst;
}

TEST(LocaliseTest, FindsRenderedBoardsToAPixel) {
  EXPECT_LT(worst_corner_error(0, 12, 1), 1.0);
  EXPECT_LT(worst_corner_error(0.5, 12, 2), 1.5);
  EXPECT_LT(worst_corner_error(1, 12, 3), 2.5);
}

TEST(LocaliseTest, NoBoardInAFlatImage) {
  Image flat{100, 100, 1, std::vector<uint8_t>(100 * 100, 128)};
  EXPECT_EQ(locate_board(flat).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(locate_board(Image{}).status().code(), Status::Code::kInvalidArgument);
}

TEST(LocaliseTest, SquaresComeOutInPositionOrder) {
  // An axis-aligned board of 8-pixel squares whose a1 alone is white.
  Image grey{64, 64, 1, std::vector<uint8_t>(64 * 64, 0)};
  for (int y = 56; y < 64; ++y)
    for (int x = 0; x < 8; ++x) grey.pixels[y * 64 + x] = 255;
  auto location = board_from_corners({Point{-0.5, -0.5}, Point{63.5, -0.5}, Point{63.5, 63.5}, Point{-0.5, 63.5}});
  ASSERT_TRUE(location.ok());
  std::vector<uint8_t> squares(64 * 4 * 4);
  extract_squares(grey, *location, 4, 0, squares.data());
  for (int s = 0; s < 64; ++s) EXPECT_EQ(squares[s * 16 + 5], s == 0 ? 255 : 0) << square_name(s);
}

}  // namespace
}  // namespace wattlab::chess
