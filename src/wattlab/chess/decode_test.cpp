#include "wattlab/chess/decode.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattlab::chess {
namespace {

// A classifier that is `confidence` sure of every square of `placement`.
ProbabilityGrid confident_grid(const Placement& placement, float confidence = 0.97f) {
  ProbabilityGrid grid;
  for (int s = 0; s < 64; ++s) {
    grid[s].fill((1 - confidence) / (kPieceClasses - 1));
    grid[s][placement[s]] = confidence;
  }
  return grid;
}

// Square s read as `first` with probability p1 and `second` with p2, the rest spread.
void set_square(ProbabilityGrid& grid, const char* square, Piece first, float p1, Piece second, float p2) {
  auto& row = grid[parse_square(square)];
  row.fill((1 - p1 - p2) / (kPieceClasses - 2));
  row[first] = p1;
  row[second] = p2;
}

const Piece kWK = make_piece(kWhite, kKing), kWQ = make_piece(kWhite, kQueen), kWP = make_piece(kWhite, kPawn);
const Piece kWB = make_piece(kWhite, kBishop), kBK = make_piece(kBlack, kKing), kBP = make_piece(kBlack, kPawn);

TEST(DecodeTest, IndependentTakesEachSquaresArgmax) {
  const Placement start = Position::start().placement();
  ProbabilityGrid grid = confident_grid(start);
  set_square(grid, "d4", kWK, 0.6f, kEmpty, 0.3f);
  Placement decoded = decode_independent(grid);
  EXPECT_EQ(decoded[parse_square("d4")], kWK);
  decoded[parse_square("d4")] = kEmpty;
  EXPECT_EQ(decoded, start);
  EXPECT_NEAR(placement_log_probability(grid, start), 63 * std::log(0.97) + std::log(0.3), 1e-4);
}

TEST(DecodeTest, ConstrainedFixesATwoKingBoard) {
  // A second white king read on d4 (0.6), with a queen as its runner-up
  // (0.35); the real king on e1 is surer (0.97).
  Placement truth = *parse_placement_fen("4k3/8/8/8/3Q4/8/8/4K3");
  ProbabilityGrid grid = confident_grid(truth);
  set_square(grid, "d4", kWK, 0.6f, kWQ, 0.35f);
  EXPECT_FALSE(check_placement(decode_independent(grid)).ok());
  ConstrainedResult r = decode_constrained(grid);
  EXPECT_TRUE(r.satisfied);
  EXPECT_EQ(r.placement, truth);
  EXPECT_EQ(r.squares_changed, 1);
  EXPECT_NEAR(r.log_probability, placement_log_probability(grid, truth), 1e-9);
}

TEST(DecodeTest, ConstrainedTakesTheCheapestFixAndKeepsLegalBoards) {
  // No black king read anywhere; e8 has it as runner-up (0.3) and h8 too but
  // less (0.1): e8 must become the king.
  Placement truth = *parse_placement_fen("4k3/8/8/8/8/8/8/4K3");
  ProbabilityGrid grid = confident_grid(truth);
  set_square(grid, "e8", kEmpty, 0.65f, kBK, 0.3f);
  set_square(grid, "h8", kEmpty, 0.85f, kBK, 0.1f);
  EXPECT_EQ(decode_constrained(grid).placement, truth);
  // A pawn read on the eighth rank is struck off there, whatever its probability.
  ProbabilityGrid pawn = confident_grid(truth);
  set_square(pawn, "a8", kWP, 0.9f, kWQ, 0.05f);
  ConstrainedResult r = decode_constrained(pawn);
  EXPECT_EQ(r.placement[parse_square("a8")], kWQ);
  EXPECT_TRUE(check_placement(r.placement).ok());
  // A legal reading is returned as it is.
  ConstrainedResult start = decode_constrained(confident_grid(Position::start().placement()));
  EXPECT_EQ(start.placement, Position::start().placement());
  EXPECT_EQ(start.squares_changed, 0);
  EXPECT_EQ(start.expansions, 0);
}

TEST(DecodeTest, ConstrainedGivesUpWithinItsLimits) {
  // No king anywhere in the classes it may use: nothing legal is reachable.
  ProbabilityGrid grid;
  for (auto& row : grid) {
    row.fill(0);
    row[kEmpty] = 1;
  }
  ConstrainedOptions options;
  options.max_expansions = 500;
  ConstrainedResult r = decode_constrained(grid, options);
  EXPECT_FALSE(r.satisfied);
  EXPECT_EQ(r.expansions, 500);
  EXPECT_EQ(r.placement, decode_independent(grid));
}

TEST(DecodeTest, TemporalFindsTheMoveThatWasPlayed) {
  const Position start = Position::start();
  const Position after = start.play(*parse_uci(start, "e2e4"));
  ProbabilityGrid grid = confident_grid(after.placement());
  // The pawn on e4 is misread as a bishop; independent and constrained decoding keep the bishop.
  set_square(grid, "e4", kWB, 0.55f, kWP, 0.4f);
  EXPECT_EQ(decode_constrained(grid).placement[parse_square("e4")], kWB);
  TemporalResult r = decode_temporal(grid, start);
  EXPECT_FALSE(r.fell_back);
  EXPECT_EQ(r.plies, 1);
  EXPECT_EQ(r.placement, after.placement());
  ASSERT_TRUE(r.position.has_value());
  EXPECT_EQ(r.position->fen(), after.fen());
  EXPECT_EQ(r.note, "1 ply: e4");

  // Two plies on: 1. e4 e5, with e5 read as empty-ish.
  const Position two = after.play(*parse_uci(after, "e7e5"));
  ProbabilityGrid grid2 = confident_grid(two.placement());
  set_square(grid2, "e5", kEmpty, 0.5f, kBP, 0.45f);
  TemporalResult r2 = decode_temporal(grid2, start);
  EXPECT_EQ(r2.plies, 2);
  EXPECT_EQ(r2.placement, two.placement());
  EXPECT_EQ(r2.note, "2 plies: e4 e5");
  // No move: the previous position itself.
  TemporalResult same = decode_temporal(confident_grid(start.placement()), start);
  EXPECT_EQ(same.plies, 0);
  EXPECT_EQ(same.note, "no move since the previous position");
}

TEST(DecodeTest, TemporalFallsBackWhenAMoveWasMissed) {
  // Three plies on (1. e4 e5 2. Nf3): no candidate within two plies fits.
  Position p = Position::start();
  for (const char* m : {"e2e4", "e7e5", "g1f3"}) p = p.play(*parse_uci(p, m));
  ProbabilityGrid grid = confident_grid(p.placement());
  TemporalResult r = decode_temporal(grid, Position::start());
  EXPECT_TRUE(r.fell_back);
  EXPECT_EQ(r.plies, -1);
  EXPECT_EQ(r.placement, p.placement());
  EXPECT_NE(r.note.find("fell back to constrained decoding"), std::string::npos);
  // The guessed continuation: Black to move after an odd number of plies, castling kept.
  ASSERT_TRUE(r.position.has_value());
  EXPECT_EQ(r.position->fen(), "rnbqkbnr/pppp1ppp/8/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R b KQkq - 0 1");
}

}  // namespace
}  // namespace wattlab::chess
