#include "wattlab/chess/sampler.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "wattlab/chess/movegen.h"

namespace wattlab::chess {
namespace {

TEST(SamplerTest, RandomGamesAreLegalAndEndProperly) {
  std::mt19937_64 rng(7);
  for (int g = 0; g < 20; ++g) {
    std::vector<Position> game = random_game(rng, 300);
    ASSERT_GE(game.size(), 1u);
    for (size_t i = 1; i < game.size(); ++i) {
      bool reached = false;
      for (Move m : legal_moves(game[i - 1])) reached |= game[i - 1].play(m) == game[i];
      ASSERT_TRUE(reached) << "ply " << i;
      // Every position passes the FEN checks.
      ASSERT_TRUE(Position::from_fen(game[i].fen()).ok()) << game[i].fen();
    }
    const Position& last = game.back();
    const bool ended = game.size() == 301 || game_state(last) != GameState::kOngoing || last.halfmove_clock() >= 100 ||
                       std::popcount(last.occupied()) == 2;
    EXPECT_TRUE(ended) << last.fen();
  }
}

TEST(SamplerTest, SamplesAreSeededAndVaried) {
  std::vector<Position> a = sample_random_positions(30, 11);
  std::vector<Position> b = sample_random_positions(30, 11);
  std::vector<Position> c = sample_random_positions(30, 12);
  ASSERT_EQ(a.size(), 30u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<std::string> distinct;
  for (const auto& p : a) distinct.insert(p.fen());
  EXPECT_GT(distinct.size(), 20u);
}

TEST(SamplerTest, PgnPositionsComeFromTheGames) {
  auto games = read_pgn("1. e4 e5 2. Nf3 *");
  ASSERT_TRUE(games.ok());
  std::set<std::string> allowed;
  for (const auto& p : (*games)[0].positions()) allowed.insert(p.fen());
  std::vector<Position> sample = sample_pgn_positions(*games, 50, 3);
  ASSERT_EQ(sample.size(), 50u);
  for (const auto& p : sample) EXPECT_TRUE(allowed.count(p.fen())) << p.fen();
  EXPECT_TRUE(sample_pgn_positions({}, 5, 3).empty());
}

}  // namespace
}  // namespace wattlab::chess
