#include "wattlab/chess/sampler.h"

#include <algorithm>
#include <bit>

#include "wattlab/chess/movegen.h"

namespace wattlab::chess {

std::vector<Position> random_game(std::mt19937_64& rng, int max_plies) {
  std::vector<Position> positions{Position::start()};
  for (int ply = 0; ply < max_plies; ++ply) {
    const Position& current = positions.back();
    if (current.halfmove_clock() >= 100 || std::popcount(current.occupied()) == 2) break;
    const MoveList moves = legal_moves(current);
    if (moves.size == 0) break;
    std::uniform_int_distribution<int> pick(0, moves.size - 1);
    positions.push_back(current.play(moves.moves[pick(rng)]));
  }
  return positions;
}

std::vector<Position> sample_random_positions(int count, uint64_t seed, int max_plies) {
  std::mt19937_64 rng(seed);
  std::vector<Position> out;
  out.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    std::vector<Position> game = random_game(rng, max_plies);
    std::uniform_int_distribution<size_t> pick(0, game.size() - 1);
    out.push_back(game[pick(rng)]);
  }
  return out;
}

std::vector<Position> sample_pgn_positions(const std::vector<PgnGame>& games, int count, uint64_t seed) {
  std::vector<Position> all;
  for (const auto& game : games) {
    std::vector<Position> p = game.positions();
    all.insert(all.end(), p.begin(), p.end());
  }
  std::vector<Position> out;
  if (all.empty()) return out;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, all.size() - 1);
  for (int i = 0; i < count; ++i) out.push_back(all[pick(rng)]);
  return out;
}

}  // namespace wattlab::chess
