#include "wattlab/chess/pgn.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "wattlab/chess/movegen.h"

namespace wattlab::chess {
namespace {

std::string testdata(const std::string& name) { return std::string(WATTLAB_CHESS_TESTDATA) + "/" + name; }

TEST(PgnTest, ReadsGamesWithCommentsVariationsAndNags) {
  auto games = read_pgn_file(testdata("games.pgn"));
  ASSERT_TRUE(games.ok()) << games.status().message();
  ASSERT_EQ(games->size(), 2u);
  const PgnGame& opera = (*games)[0];
  EXPECT_EQ(opera.tag("White"), "Morphy, Paul");
  EXPECT_EQ(opera.result, "1-0");
  ASSERT_EQ(opera.moves.size(), 33u);
  const std::vector<Position> positions = opera.positions();
  ASSERT_EQ(positions.size(), 34u);
  // Stockfish 15.1 after the same moves in UCI.
  EXPECT_EQ(positions[23].fen(), "r3kb1r/p2nqppp/5n2/1B2p1B1/4P3/1Q6/PPP2PPP/2KR3R b kq - 2 12");
  EXPECT_EQ(positions.back().fen(), "1n1Rkb1r/p4ppp/4q3/4p1B1/4P3/8/PPP2PPP/2K5 b k - 1 17");
  EXPECT_EQ(game_state(positions.back()), GameState::kCheckmate);

  const PgnGame& promotion = (*games)[1];
  EXPECT_EQ(promotion.start.fen(), "4k3/P7/8/8/8/8/8/4K3 w - - 0 1");
  EXPECT_EQ(promotion.result, "*");
  ASSERT_EQ(promotion.moves.size(), 4u);
  EXPECT_EQ(uci(promotion.moves[0]), "a7a8q");
  EXPECT_EQ(promotion.positions().back().fen(), "8/1Q6/3k4/8/8/8/8/4K3 w - - 3 3");
}

TEST(PgnTest, SanRoundTripsThroughEveryLegalMove) {
  auto kiwipete = *Position::from_fen("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1");
  for (const Position& p : {Position::start(), kiwipete}) {
    for (Move m : legal_moves(p)) {
      const std::string san = to_san(p, m);
      auto back = parse_san(p, san);
      ASSERT_TRUE(back.ok()) << san << ": " << back.status().message();
      EXPECT_EQ(*back, m) << san;
    }
  }
  EXPECT_EQ(to_san(kiwipete, *parse_uci(kiwipete, "e1c1")), "O-O-O");
  EXPECT_EQ(to_san(kiwipete, *parse_uci(kiwipete, "e5f7")), "Nxf7");
  EXPECT_EQ(to_san(kiwipete, *parse_uci(kiwipete, "d5e6")), "dxe6");
  // Two rooks on the a-file: the rank tells them apart.
  auto rooks = *Position::from_fen("4k3/8/R7/8/8/8/8/R3K3 w - - 0 1");
  EXPECT_EQ(to_san(rooks, *parse_uci(rooks, "a1a3")), "R1a3");
  EXPECT_EQ(to_san(rooks, *parse_uci(rooks, "a6a8")), "Ra8+");
}

TEST(PgnTest, SanVariantsAreAccepted) {
  Position p = Position::start();
  EXPECT_EQ(uci(*parse_san(p, "Ngf3")), "g1f3");  // more disambiguation than needed
  auto promo = *Position::from_fen("7k/P7/8/8/8/8/8/K7 w - - 0 1");
  EXPECT_EQ(uci(*parse_san(promo, "a8Q")), "a7a8q");
  EXPECT_EQ(uci(*parse_san(promo, "a8=N!?")), "a7a8n");
  auto castle = *Position::from_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
  EXPECT_EQ(uci(*parse_san(castle, "0-0-0")), "e1c1");
}

TEST(PgnTest, ErrorsNameTheGameTheMoveAndTheReason) {
  auto illegal = read_pgn("[White \"A\"]\n[Black \"B\"]\n\n1. e4 e5 2. Ke3 *\n");
  ASSERT_FALSE(illegal.ok());
  EXPECT_NE(illegal.status().message().find("game 1 (A - B), move 2. \"Ke3\": no legal move matches"), std::string::npos)
      << illegal.status().message();
  auto ambiguous = parse_san(*Position::from_fen("4k3/8/8/8/8/8/4K3/R6R w - - 0 1"), "Rd1");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("ambiguous: could be Rad1, Rhd1"), std::string::npos)
      << ambiguous.status().message();
  EXPECT_FALSE(read_pgn("1. e4 {never closed").ok());
  EXPECT_FALSE(read_pgn("1. e4 (1. d4 d5").ok());
  EXPECT_FALSE(read_pgn("[White \"A\"\n1. e4").ok());
  auto bad_fen = read_pgn("[FEN \"8/8/8/8/8/8/8/8 w - - 0 1\"]\n*");
  ASSERT_FALSE(bad_fen.ok());
  EXPECT_NE(bad_fen.status().message().find("[FEN] tag"), std::string::npos);
  EXPECT_EQ(read_pgn_file("/nonexistent.pgn").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace wattlab::chess
