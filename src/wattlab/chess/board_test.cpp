#include "wattlab/chess/board.h"

#include <gtest/gtest.h>

#include "wattlab/chess/movegen.h"

namespace wattlab::chess {
namespace {

// The error from_fen gives for `fen` (which must be refused).
std::string refusal(const std::string& fen) {
  auto p = Position::from_fen(fen);
  EXPECT_FALSE(p.ok()) << fen << " was accepted";
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  return p.status().message();
}

TEST(BoardTest, SquaresAndPiecesHaveTheirNames) {
  EXPECT_EQ(square_name(0), "a1");
  EXPECT_EQ(square_name(28), "e4");
  EXPECT_EQ(square_name(63), "h8");
  EXPECT_EQ(parse_square("e4"), 28);
  EXPECT_EQ(parse_square("i1"), -1);
  EXPECT_EQ(parse_square("e9"), -1);
  EXPECT_EQ(piece_letter(make_piece(kWhite, kKnight)), 'N');
  EXPECT_EQ(piece_letter(make_piece(kBlack, kKing)), 'k');
  EXPECT_EQ(piece_name(make_piece(kBlack, kQueen)), "black queen");
  EXPECT_EQ(make_piece(kBlack, kKing), 12);
  EXPECT_EQ(piece_type(make_piece(kBlack, kRook)), kRook);
  EXPECT_EQ(piece_color(make_piece(kBlack, kPawn)), kBlack);
}

TEST(BoardTest, FenRoundTrips) {
  for (const char* fen : {"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1",
                          "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
                          "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1",
                          "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",
                          "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8",
                          "4k3/8/8/8/8/8/8/4K2R b K - 17 60"}) {
    auto p = Position::from_fen(fen);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->fen(), fen);
    auto again = Position::from_fen(p->fen());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *p);
  }
}

TEST(BoardTest, FourFieldFenTakesDefaultCounters) {
  auto p = Position::from_fen("4k3/8/8/8/8/8/8/4K3 b - -");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->fen(), "4k3/8/8/8/8/8/8/4K3 b - - 0 1");
  EXPECT_EQ(p->side_to_move(), kBlack);
}

TEST(BoardTest, StartPositionReadsAsExpected) {
  Position p = Position::start();
  EXPECT_EQ(p.piece_on(parse_square("e1")), make_piece(kWhite, kKing));
  EXPECT_EQ(p.piece_on(parse_square("d8")), make_piece(kBlack, kQueen));
  EXPECT_EQ(p.piece_on(parse_square("e4")), kEmpty);
  EXPECT_EQ(p.castling_rights(), kWhiteKingside | kWhiteQueenside | kBlackKingside | kBlackQueenside);
  EXPECT_EQ(p.en_passant_square(), -1);
  EXPECT_FALSE(p.in_check());
  EXPECT_EQ(placement_fen(p.placement()), "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR");
}

TEST(BoardTest, SyntaxErrorsNameTheField) {
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP w KQkq - 0 1").find("7 ranks"), std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/9/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1").find("rank 6"), std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNRR w KQkq - 0 1").find("rank 1 (\"RNBQKBNRR\") describes 9 squares"),
            std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/ppppxppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1").find("'x' is neither a piece letter"),
            std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1").find("side to move must be w or b"),
            std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkqK - 0 1").find("castling rights"), std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq z9 0 1").find("en passant field"), std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - -3 1").find("halfmove clock"), std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 0").find("fullmove number must be at least 1"),
            std::string::npos);
  EXPECT_NE(refusal("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq").find("has 3 fields"), std::string::npos);
}

TEST(BoardTest, IllegalPositionsAreRefusedWithTheReason) {
  // Two white kings.
  EXPECT_NE(refusal("4k3/8/8/8/3K4/8/8/4K3 w - - 0 1").find("two white kings (e1, d4)"), std::string::npos);
  EXPECT_NE(refusal("8/8/8/8/8/8/8/4K3 w - - 0 1").find("no black king"), std::string::npos);
  // A pawn on the eighth (or first) rank.
  EXPECT_NE(refusal("4P1k1/8/8/8/8/8/8/4K3 w - - 0 1").find("white pawn on e8: pawns never stand on the first or eighth rank"),
            std::string::npos);
  EXPECT_NE(refusal("6k1/8/8/8/8/8/8/p3K3 w - - 0 1").find("black pawn on a1"), std::string::npos);
  // The side not to move in check: White to move could take the black king.
  EXPECT_NE(refusal("4k3/8/8/8/8/8/8/4R1K1 w - - 0 1").find("the side not to move (black) is in check from the rook on e1"),
            std::string::npos);
  // Castling rights without the king or rook at home.
  EXPECT_NE(refusal("r3k2r/8/8/8/8/8/8/R3K1R1 w KQkq - 0 1").find("castling right K needs the white king on e1 and a white rook on h1"),
            std::string::npos);
  EXPECT_NE(refusal("r3k2r/8/8/8/8/8/8/R2K3R w Q - 0 1").find("castling right Q needs the white king on e1"), std::string::npos);
  // Too many pawns and pieces that no promotion explains.
  EXPECT_NE(refusal("4k3/8/8/8/8/P7/PPPPPPPP/4K3 w - - 0 1").find("9 white pawns"), std::string::npos);
  EXPECT_NE(refusal("QQQ1k3/8/8/8/8/8/PPPPPPPP/4K3 w - - 0 1").find("beyond the starting set"), std::string::npos);
  // En passant squares that no double step explains.
  EXPECT_NE(refusal("4k3/8/8/8/8/8/8/4K3 w - e6 0 1").find("en passant square e6 needs a black pawn that has just moved from e7 to e5"),
            std::string::npos);
  EXPECT_NE(refusal("4k3/8/8/8/8/8/8/4K3 w - e3 0 1").find("not on rank 6"), std::string::npos);
}

TEST(BoardTest, PromotedPiecesAreAllowedWhenPawnsAreMissing) {
  // Three white queens, six white pawns: two promotions.
  EXPECT_TRUE(Position::from_fen("QQQ5/8/8/8/8/8/PPPPPP2/k3K3 w - - 0 1").ok());
  PieceCounts counts{};
  counts[make_piece(kWhite, kKing)] = 1;
  counts[make_piece(kBlack, kKing)] = 1;
  counts[make_piece(kWhite, kKnight)] = 3;
  counts[make_piece(kWhite, kPawn)] = 8;
  EXPECT_FALSE(check_piece_counts(counts).ok());
  counts[make_piece(kWhite, kPawn)] = 7;
  EXPECT_TRUE(check_piece_counts(counts).ok());
}

TEST(BoardTest, PlayUpdatesCastlingEnPassantAndClocks) {
  Position p = Position::start();
  p = p.play(*parse_uci(p, "e2e4"));
  EXPECT_EQ(p.fen(), "rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1");  // no black pawn can take
  p = p.play(*parse_uci(p, "g8f6"));
  p = p.play(*parse_uci(p, "e4e5"));
  p = p.play(*parse_uci(p, "d7d5"));
  EXPECT_EQ(p.fen(), "rnbqkb1r/ppp1pppp/5n2/3pP3/8/8/PPPP1PPP/RNBQKBNR w KQkq d6 0 3");
  p = p.play(*parse_uci(p, "e5d6"));  // en passant removes the d5 pawn
  EXPECT_EQ(p.piece_on(parse_square("d5")), kEmpty);
  EXPECT_EQ(p.piece_on(parse_square("d6")), make_piece(kWhite, kPawn));
  p = *Position::from_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 5 20");
  Position castled = p.play(*parse_uci(p, "e1g1"));
  EXPECT_EQ(castled.fen(), "r3k2r/8/8/8/8/8/8/R4RK1 b kq - 6 20");
  Position rook_taken = p.play(*parse_uci(p, "a1a8"));
  EXPECT_EQ(rook_taken.fen(), "R3k2r/8/8/8/8/8/8/4K2R b Kk - 0 20");
}

TEST(BoardTest, FromPlacementChecksTheRules) {
  auto start = Position::from_placement(Position::start().placement(), kBlack);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->fen(), "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR b - - 0 1");
  Placement two_kings = Position::start().placement();
  two_kings[parse_square("d4")] = make_piece(kWhite, kKing);
  auto refused = Position::from_placement(two_kings, kWhite);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("two white kings (e1, d4)"), std::string::npos);
  EXPECT_EQ(check_placement(two_kings).message(), "two white kings (e1, d4)");
}

}  // namespace
}  // namespace wattlab::chess
