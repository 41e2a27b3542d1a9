// A chess position: piece placement, side to move, castling rights, en
// passant square and move counters, read from and written to FEN (Forsyth-
// Edwards Notation) with the static rules of chess checked. Torch-free.
//
// Squares are numbered a1 = 0, b1 = 1, ..., h1 = 7, a2 = 8, ..., h8 = 63.
// Bitboards are uint64_t with bit `square` set for an occupied square.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "wattlab/core/status.h"

namespace wattlab::chess {

enum Color : uint8_t { kWhite = 0, kBlack = 1 };
enum PieceType : uint8_t { kPawn = 0, kKnight, kBishop, kRook, kQueen, kKing };

// A square's content as one of 13 classes, the recogniser's labels too:
// 0 empty, 1..6 white pawn..king, 7..12 black pawn..king.
using Piece = uint8_t;
inline constexpr Piece kEmpty = 0;
inline constexpr int kPieceClasses = 13;
constexpr Piece make_piece(Color c, PieceType t) { return static_cast<Piece>(1 + c * 6 + t); }
constexpr Color piece_color(Piece p) { return p > 6 ? kBlack : kWhite; }      // p != kEmpty
constexpr PieceType piece_type(Piece p) { return static_cast<PieceType>((p - 1) % 6); }  // p != kEmpty

// The FEN letter of a piece ('P', 'n', ...), '.' for kEmpty.
char piece_letter(Piece p);
// "white knight", "black king", "empty".
std::string piece_name(Piece p);

constexpr int file_of(int square) { return square & 7; }
constexpr int rank_of(int square) { return square >> 3; }
constexpr int make_square(int file, int rank) { return rank * 8 + file; }
// "e4" for 28.
std::string square_name(int square);
// 28 for "e4"; -1 for anything that is not a square.
int parse_square(std::string_view name);

// Castling rights, as a bit set.
enum CastlingRight : uint8_t {
  kWhiteKingside = 1,   // K
  kWhiteQueenside = 2,  // Q
  kBlackKingside = 4,   // k
  kBlackQueenside = 8,  // q
};

// A move: from and to squares, and the piece a pawn promotes to. Castling is
// the king's two-square move (e1g1), en passant the pawn's diagonal step onto
// the en passant square.
struct Move {
  uint8_t from = 0;
  uint8_t to = 0;
  PieceType promotion = kPawn;  // kPawn when the move is no promotion
  bool operator==(const Move&) const = default;
};
// UCI's long algebraic notation: "e2e4", "e7e8q", "e1g1".
std::string uci(Move move);

// The 64 squares' contents, a1 first: what a board image shows.
using Placement = std::array<Piece, 64>;

// How many of each piece a placement holds, indexed by Piece (entry 0:
// empty squares).
using PieceCounts = std::array<int, kPieceClasses>;
PieceCounts count_pieces(const Placement& placement);

// OK if `counts` can occur in a game: exactly one king per side, at most 8
// pawns and 16 pieces per side, and no more extra pieces (queens beyond one,
// rooks, bishops or knights beyond two) than the side's missing pawns could
// have promoted to. Otherwise InvalidArgument saying which rule fails, e.g.
// "two white kings" or "9 white pawns (at most 8)".
Status check_piece_counts(const PieceCounts& counts);

// check_piece_counts, and no pawn on the first or eighth rank: the static
// rules a placement alone can break. The message names the squares at fault
// ("two white kings (e1, d4)", "white pawn on e8: pawns never stand on the
// first or eighth rank").
Status check_placement(const Placement& placement);

// The castling rights (CastlingRight bits) whose king and rook stand on
// their original squares in `placement`.
uint8_t castling_rights_possible(const Placement& placement);

// The placement field of a FEN ("rnbqkbnr/pppppppp/8/...") for `placement`.
std::string placement_fen(const Placement& placement);
// Parses a FEN's placement field. InvalidArgument naming the rank and the
// fault: not 8 ranks, a rank that does not describe 8 squares, a character
// that is neither a piece letter nor a digit 1-8.
Result<Placement> parse_placement_fen(std::string_view field);

class Position {
 public:
  // The standard starting position.
  static Position start();

  // Reads a FEN: six space-separated fields (placement, side to move w/b,
  // castling rights KQkq or -, en passant square or -, halfmove clock,
  // fullmove number); the last two may be left out (then 0 and 1). Checks
  // the syntax and that the position can occur in a game: check_placement,
  // castling rights only where king and rook stand on their original
  // squares, an en passant square only behind a pawn that has just made a
  // double step, and the side not to move not in check. InvalidArgument
  // otherwise, its message starting with the FEN and naming the field, the
  // rule broken and the squares involved.
  static Result<Position> from_fen(std::string_view fen);
  // A position with `placement`, `side` to move and `castling` rights
  // (CastlingRight bits), no en passant square, counters 0 and 1; checked as
  // from_fen does.
  static Result<Position> from_placement(const Placement& placement, Color side, uint8_t castling = 0);

  // The six-field FEN; from_fen(fen()) gives back an equal position.
  std::string fen() const;

  Piece piece_on(int square) const { return board_[square]; }
  const Placement& placement() const { return board_; }
  Color side_to_move() const { return side_; }
  uint8_t castling_rights() const { return castling_; }
  int en_passant_square() const { return ep_square_; }  // -1 when none
  int halfmove_clock() const { return halfmove_clock_; }
  int fullmove_number() const { return fullmove_number_; }

  uint64_t pieces(Color c, PieceType t) const { return by_piece_[make_piece(c, t)]; }
  uint64_t pieces(Color c) const { return by_color_[c]; }
  uint64_t occupied() const { return by_color_[kWhite] | by_color_[kBlack]; }
  int king_square(Color c) const;

  // True if a piece of `by` attacks `square` with the board occupied as
  // `occupancy` (pieces of `by` are taken from the position).
  bool attacked(int square, Color by, uint64_t occupancy) const;
  // Pieces of either colour attacking `square` with the given occupancy.
  uint64_t attackers_to(int square, uint64_t occupancy) const;
  bool in_check() const { return attacked(king_square(side_), static_cast<Color>(side_ ^ 1), occupied()); }

  // The position after `move`, which must be legal here (movegen.h):
  // pieces, castling rights, en passant square, clocks and side updated.
  Position play(Move move) const;

  bool operator==(const Position& other) const = default;

 private:
  void put(int square, Piece p);
  void remove(int square);
  // The checks of from_fen beyond the syntax; `fen` prefixes the message.
  Status check_legal(std::string_view fen) const;

  Placement board_{};                 // square -> piece
  std::array<uint64_t, kPieceClasses> by_piece_{};  // piece -> squares (entry 0 unused)
  std::array<uint64_t, 2> by_color_{};  // colour -> squares
  Color side_ = kWhite;
  uint8_t castling_ = 0;              // CastlingRight bits
  int8_t ep_square_ = -1;             // square a pawn may capture en passant onto, or -1
  int halfmove_clock_ = 0;            // plies since the last capture or pawn move
  int fullmove_number_ = 1;           // starts at 1, incremented after Black's move
};

}  // namespace wattlab::chess
