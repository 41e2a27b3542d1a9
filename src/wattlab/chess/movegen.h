// Legal move generation and perft. Generates only legal moves (pins, checks,
// castling through attacked squares and en passant discovering a check are
// all handled), so no move needs testing after it is made. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "wattlab/chess/board.h"

namespace wattlab::chess {

// Up to 218 moves are legal in any reachable position; 256 leaves room.
struct MoveList {
  std::array<Move, 256> moves;
  int size = 0;

  void add(Move m) { moves[size++] = m; }
  const Move* begin() const { return moves.data(); }
  const Move* end() const { return moves.data() + size; }
  bool contains(Move m) const;
};

// Every legal move of the side to move, in no particular order.
MoveList legal_moves(const Position& position);

// The number of leaf positions of the legal move tree `depth` plies deep
// (perft(p, 0) = 1); counts at depth 1 without playing the moves, as engines do.
uint64_t perft(const Position& position, int depth);

// perft(position.play(m), depth - 1) for every legal move m (depth >= 1), in
// UCI order of the moves, as Stockfish's "go perft" prints them.
std::vector<std::pair<Move, uint64_t>> perft_divide(const Position& position, int depth);

// The legal move `text` (UCI: "e2e4", "e7e8q") names in `position`.
// InvalidArgument naming the text when it is malformed or not legal here.
Result<Move> parse_uci(const Position& position, std::string_view text);

// How a game stands when the side to move has no legal move: checkmate or
// stalemate; kOngoing otherwise (draw rules by repetition or the 50-move
// rule are not judged here).
enum class GameState { kOngoing, kCheckmate, kStalemate };
GameState game_state(const Position& position);

}  // namespace wattlab::chess
