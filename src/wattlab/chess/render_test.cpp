#include "wattlab/chess/render.h"

#include <gtest/gtest.h>

namespace wattlab::chess {
namespace {

TEST(RenderTest, SameSeedSameImageOtherSeedOtherImage) {
  const Placement start = Position::start().placement();
  RenderOptions options;
  options.difficulty = 0.7;
  options.seed = 42;
  auto a = render_board(start, options);
  auto b = render_board(start, options);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->image.pixels, b->image.pixels);
  EXPECT_EQ(a->image.width, 320);
  EXPECT_EQ(a->image.channels, 3);
  options.seed = 43;
  auto c = render_board(start, options);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->image.pixels, c->image.pixels);
}

TEST(RenderTest, PiecesChangeTheirSquaresOnly) {
  // One knight more: the pixels that change lie inside that square (clean render, same seed).
  RenderOptions options;
  options.seed = 9;
  Placement empty{};
  empty[parse_square("e1")] = make_piece(kWhite, kKing);
  empty[parse_square("e8")] = make_piece(kBlack, kKing);
  Placement knight = empty;
  knight[parse_square("c3")] = make_piece(kBlack, kKnight);
  auto a = render_board(empty, options);
  auto b = render_board(knight, options);
  ASSERT_TRUE(a.ok() && b.ok());
  // The knight's square, from the ground-truth corners (c3 spans u 2..3, v 5..6).
  const auto& c = a->corners;
  auto at = [&](double u, double v) {
    const double top_x = c[0].x + (c[1].x - c[0].x) * u / 8, top_y = c[0].y + (c[1].y - c[0].y) * u / 8;
    const double bottom_x = c[3].x + (c[2].x - c[3].x) * u / 8, bottom_y = c[3].y + (c[2].y - c[3].y) * u / 8;
    return Point{top_x + (bottom_x - top_x) * v / 8, top_y + (bottom_y - top_y) * v / 8};
  };
  const Point lo = at(1.8, 4.8), hi = at(3.2, 6.2);
  int changed = 0, changed_outside = 0;
  for (int y = 0; y < a->image.height; ++y)
    for (int x = 0; x < a->image.width; ++x) {
      bool differs = false;
      for (int ch = 0; ch < 3; ++ch) differs |= std::abs(a->image.at(x, y, ch) - b->image.at(x, y, ch)) > 40;
      if (!differs) continue;
      ++changed;
      if (x < lo.x || x > hi.x || y < lo.y || y > hi.y) ++changed_outside;
    }
  EXPECT_GT(changed, 100);
  EXPECT_EQ(changed_outside, 0);
}

TEST(RenderTest, FontsAndOptionsAreChecked) {
  RenderOptions options;
  options.fonts = {"dejavu"};
  auto board = render_board(Position::start().placement(), options);
  ASSERT_TRUE(board.ok());
  EXPECT_EQ(board->font, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
  options.fonts = {"/nonexistent.ttf"};
  EXPECT_EQ(render_board(Position::start().placement(), options).status().code(), Status::Code::kNotFound);
  // A real font without the chess glyphs (FreeSans, of fonts-freefont-ttf as FreeSerif is).
  options.fonts = {"/usr/share/fonts/truetype/freefont/FreeSans.ttf"};
  auto no_glyphs = render_board(Position::start().placement(), options);
  EXPECT_EQ(no_glyphs.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(no_glyphs.status().message().find("has no glyph for U+2654"), std::string::npos);
  options.fonts = {};
  options.difficulty = 1.5;
  EXPECT_EQ(render_board(Position::start().placement(), options).status().code(), Status::Code::kInvalidArgument);
}

TEST(RenderTest, PngRoundTrip) {
  RenderOptions options;
  auto board = render_board(Position::start().placement(), options);
  ASSERT_TRUE(board.ok());
  const std::string path = ::testing::TempDir() + "/board.png";
  ASSERT_TRUE(write_png(board->image, path).ok());
  auto back = read_image(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->pixels, board->image.pixels);
  EXPECT_EQ(read_image("/nonexistent.png").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace wattlab::chess
