// Standard Algebraic Notation (SAN) and PGN (Portable Game Notation) games:
// tag pairs and movetext, with comments, variations, NAGs, move numbers and
// results skipped. Torch-free.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wattlab/chess/board.h"
#include "wattlab/core/status.h"

namespace wattlab::chess {

// The legal move `san` names in `position`: "e4", "Nbd7", "exd5", "e8=Q",
// "O-O-O" (or with zeros), annotations (+, #, !, ?) ignored; a promotion may
// be written without '=', a capture without 'x', and a move may be more
// disambiguated than needed. InvalidArgument naming the text when it cannot
// be read, matches no legal move, or matches several.
Result<Move> parse_san(const Position& position, std::string_view san);

// `move` (legal in `position`) in SAN, disambiguated only as needed, with '+'
// for check and '#' for checkmate.
std::string to_san(const Position& position, Move move);

struct PgnGame {
  std::vector<std::pair<std::string, std::string>> tags;  // in file order, e.g. {"White", "Morphy, Paul"}
  Position start = Position::start();  // the [FEN] tag's position, else the standard one
  std::vector<Move> moves;             // the main line
  std::string result;                  // "1-0", "0-1", "1/2-1/2", "*" or "" when the movetext had none

  // The value of tag `name`, or "" when absent.
  std::string tag(std::string_view name) const;
  // start, then the position after each move: moves.size() + 1 positions.
  std::vector<Position> positions() const;
};

// Every game in `text` (a PGN database: tag sections, each followed by its
// movetext). InvalidArgument naming the game (its number and players), the
// move number and the SAN at fault: an illegal or ambiguous move, an
// unreadable [FEN] tag, an unterminated comment, variation or tag.
Result<std::vector<PgnGame>> read_pgn(std::string_view text);
// read_pgn of a file's contents; NotFound / IoError naming the file.
Result<std::vector<PgnGame>> read_pgn_file(const std::string& path);

}  // namespace wattlab::chess
