// Decoders: from the square classifier's probabilities to a position, with
// more or less chess knowledge. Torch-free.
//
//   independent  each square's most probable class; no chess knowledge.
//   constrained  the most probable placement that obeys the static rules
//                (check_placement: one king per side, no pawn on the first or
//                eighth rank, at most 8 pawns and 16 pieces per side, extra
//                pieces only for missing pawns), by best-first search over
//                the squares' top-k classes.
//   temporal     for a game being followed move by move: the most probable of
//                the previous position and its legal successors one or two
//                plies on; constrained decoding when none of them fits the
//                image (a missed move), and the result says so.
//
// A placement's score is the sum over the 64 squares of the log-probability
// of its class there (probabilities below 1e-9 count as 1e-9).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/chess/board.h"
#include "wattlab/chess/movegen.h"

namespace wattlab::chess {

// probabilities[s][c]: the classifier's probability that square s (a1 = 0)
// holds class c (board.h's Piece numbering); each row sums to 1.
using ProbabilityGrid = std::array<std::array<float, kPieceClasses>, 64>;

// The sum over the squares of log(probabilities[s][placement[s]]).
double placement_log_probability(const ProbabilityGrid& probabilities, const Placement& placement);

Placement decode_independent(const ProbabilityGrid& probabilities);

struct ConstrainedOptions {
  int top_k = 4;                // classes per square the search may use, the most probable first
  int max_expansions = 20000;   // search states examined before giving up
};

struct ConstrainedResult {
  Placement placement{};        // the best legal placement found, else the independent one
  double log_probability = 0;   // its score
  bool satisfied = false;       // false when no legal placement was found within the limits
  int squares_changed = 0;      // squares that differ from the independent decoding
  int expansions = 0;           // search states examined
};

// Best-first search: pawns are first struck off the first and eighth ranks,
// then sets of changes to the squares' next most probable classes are
// examined in order of decreasing score until one obeys check_piece_counts.
ConstrainedResult decode_constrained(const ProbabilityGrid& probabilities, const ConstrainedOptions& options = {});

struct TemporalOptions {
  int max_plies = 2;  // successors up to this many plies after the previous position are candidates (0-2)
  // The best candidate is accepted when its score is within this many nats
  // of the constrained decoding's; the default lets it be contradicted by
  // about two squares each read at 100:1 against it.
  double plausibility_margin_nats = 9.2;
  ConstrainedOptions constrained;
};

struct TemporalResult {
  Placement placement{};
  // The position reached (side to move, castling rights and en passant
  // included) when a candidate was accepted; after a fallback, the
  // placement made a position when it can be one (the side to move guessed
  // from the previous one), else empty.
  std::optional<Position> position;
  int plies = 0;              // 0: the previous position, 1 or 2: a successor; -1: fallback
  std::vector<Move> moves;    // the moves from the previous position to the accepted one
  bool fell_back = false;     // no candidate was plausible: constrained decoding was used
  double log_probability = 0;
  std::string note;           // what was decided, for the user: "1 ply: Nf3", or why it fell back
};

TemporalResult decode_temporal(const ProbabilityGrid& probabilities, const Position& previous,
                               const TemporalOptions& options = {});

}  // namespace wattlab::chess
