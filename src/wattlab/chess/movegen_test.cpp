#include "wattlab/chess/movegen.h"

#include <gtest/gtest.h>

#include <map>

namespace wattlab::chess {
namespace {

// The published perft tables (chessprogramming.org "Perft Results"); Stockfish
// 15.1's "go perft" gives the same counts at every depth listed.
struct PerftCase {
  const char* name;
  const char* fen;
  std::vector<uint64_t> nodes;  // depth 1, 2, ...
};

const std::vector<PerftCase>& perft_cases() {
  static const std::vector<PerftCase> cases = {
      {"start", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", {20, 400, 8902, 197281}},
      {"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", {48, 2039, 97862, 4085603}},
      {"position3", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", {14, 191, 2812, 43238, 674624}},
      {"position4", "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1", {6, 264, 9467, 422333}},
      {"position4_mirrored", "r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1", {6, 264, 9467, 422333}},
      {"position5", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", {44, 1486, 62379, 2103487}},
      {"position6", "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10", {46, 2079, 89890, 3894594}},
  };
  return cases;
}

TEST(MovegenTest, PerftMatchesThePublishedTables) {
  for (const auto& c : perft_cases()) {
    auto position = Position::from_fen(c.fen);
    ASSERT_TRUE(position.ok()) << c.name << ": " << position.status().message();
    for (size_t depth = 1; depth <= c.nodes.size(); ++depth)
      EXPECT_EQ(perft(*position, static_cast<int>(depth)), c.nodes[depth - 1]) << c.name << " depth " << depth;
  }
}

TEST(MovegenTest, PerftOfDepthZeroIsOne) { EXPECT_EQ(perft(Position::start(), 0), 1u); }

TEST(MovegenTest, DivideSumsToPerftInUciOrder) {
  auto kiwipete = *Position::from_fen("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1");
  auto divide = perft_divide(kiwipete, 2);
  ASSERT_EQ(divide.size(), 48u);
  uint64_t sum = 0;
  std::map<std::string, uint64_t> by_move;
  for (const auto& [move, nodes] : divide) {
    sum += nodes;
    by_move[uci(move)] = nodes;
  }
  EXPECT_EQ(sum, 2039u);
  EXPECT_EQ(uci(divide.front().first), "a1b1");
  // Stockfish 15.1, "go perft 2" from Kiwipete.
  EXPECT_EQ(by_move["e1g1"], 43u);
  EXPECT_EQ(by_move["e1c1"], 43u);
  EXPECT_EQ(by_move["d5e6"], 46u);
  EXPECT_EQ(by_move["e5f7"], 44u);
}

TEST(MovegenTest, PinnedPiecesAndEnPassantDiscoveriesAreHandled) {
  // The e2 knight is pinned by the e8 rook: only king moves and the other pieces.
  auto pinned = *Position::from_fen("4r1k1/8/8/8/8/8/4N3/4K3 w - - 0 1");
  for (Move m : legal_moves(pinned)) EXPECT_NE(square_name(m.from), "e2") << uci(m);
  // b5xc6 en passant would expose the a5 king to the h5 rook along the rank.
  auto ep = *Position::from_fen("7k/8/8/KPp4r/8/8/8/8 w - c6 0 1");
  EXPECT_FALSE(parse_uci(ep, "b5c6").ok());
  // Castling through an attacked square (f1, attacked by the f8 rook) is illegal; queenside is fine.
  auto castle = *Position::from_fen("5rk1/8/8/8/8/8/8/R3K2R w KQ - 0 1");
  EXPECT_FALSE(parse_uci(castle, "e1g1").ok());
  EXPECT_TRUE(parse_uci(castle, "e1c1").ok());
  // In double check only the king moves.
  auto double_check = *Position::from_fen("4k3/8/8/8/1b6/8/3N4/r3K3 w - - 0 1");
  for (Move m : legal_moves(double_check)) EXPECT_EQ(square_name(m.from), "e1") << uci(m);
}

TEST(MovegenTest, PromotionsOfferFourPieces) {
  auto p = *Position::from_fen("7k/P7/8/8/8/8/8/K7 w - - 0 1");
  int promotions = 0;
  for (Move m : legal_moves(p)) promotions += m.promotion != kPawn;
  EXPECT_EQ(promotions, 4);
  EXPECT_EQ(uci(*parse_uci(p, "a7a8n")), "a7a8n");
}

TEST(MovegenTest, GameStateTellsMateFromStalemate) {
  EXPECT_EQ(game_state(*Position::from_fen("R5k1/5ppp/8/8/8/8/8/6K1 b - - 0 1")), GameState::kCheckmate);
  EXPECT_EQ(game_state(*Position::from_fen("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")), GameState::kStalemate);
  EXPECT_EQ(game_state(Position::start()), GameState::kOngoing);
}

TEST(MovegenTest, ParseUciRefusesIllegalMoves) {
  auto refused = parse_uci(Position::start(), "e2e5");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("\"e2e5\" is not a legal move"), std::string::npos);
}

}  // namespace
}  // namespace wattlab::chess
