// Positions to render: from random legal games (seeded) or from given PGN
// games. Torch-free.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "wattlab/chess/board.h"
#include "wattlab/chess/pgn.h"

namespace wattlab::chess {

// A game from the standard start, each move drawn uniformly from the legal
// moves by `rng`, until checkmate, stalemate, the fifty-move rule (100 plies
// without capture or pawn move), insufficient material (kings alone) or
// `max_plies` moves: the start position and the position after every move.
std::vector<Position> random_game(std::mt19937_64& rng, int max_plies);

// `count` positions, each from its own random_game (max_plies moves at most)
// at a ply drawn uniformly from the game's length, so that openings,
// middlegames and sparse endings all occur. Deterministic for a seed.
std::vector<Position> sample_random_positions(int count, uint64_t seed, int max_plies = 200);

// `count` positions drawn uniformly (with replacement) from all positions of
// `games` (PgnGame::positions). Empty when `games` hold no position.
std::vector<Position> sample_pgn_positions(const std::vector<PgnGame>& games, int count, uint64_t seed);

}  // namespace wattlab::chess
