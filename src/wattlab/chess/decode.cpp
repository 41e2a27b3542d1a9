#include "wattlab/chess/decode.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <queue>

#include "wattlab/chess/pgn.h"

namespace wattlab::chess {

namespace {

constexpr double kMinProbability = 1e-9;

using LogTable = std::array<std::array<double, kPieceClasses>, 64>;

LogTable log_table(const ProbabilityGrid& probabilities) {
  LogTable table;
  for (int s = 0; s < 64; ++s)
    for (int c = 0; c < kPieceClasses; ++c)
      table[s][c] = std::log(std::max(static_cast<double>(probabilities[s][c]), kMinProbability));
  return table;
}

double score(const LogTable& table, const Placement& placement) {
  double sum = 0;
  for (int s = 0; s < 64; ++s) sum += table[s][placement[s]];
  return sum;
}

bool pawn_allowed(int square) { return rank_of(square) != 0 && rank_of(square) != 7; }

}  // namespace

double placement_log_probability(const ProbabilityGrid& probabilities, const Placement& placement) {
  return score(log_table(probabilities), placement);
}

Placement decode_independent(const ProbabilityGrid& probabilities) {
  Placement out{};
  for (int s = 0; s < 64; ++s)
    out[s] = static_cast<Piece>(std::max_element(probabilities[s].begin(), probabilities[s].end()) - probabilities[s].begin());
  return out;
}

ConstrainedResult decode_constrained(const ProbabilityGrid& probabilities, const ConstrainedOptions& options) {
  const LogTable table = log_table(probabilities);
  const Placement independent = decode_independent(probabilities);
  // Each square's classes, most probable first, pawns struck off the back ranks.
  std::array<std::vector<Piece>, 64> ranked;
  Placement base{};
  for (int s = 0; s < 64; ++s) {
    std::vector<Piece> classes;
    for (int c = 0; c < kPieceClasses; ++c)
      if (c == kEmpty || piece_type(static_cast<Piece>(c)) != kPawn || pawn_allowed(s)) classes.push_back(static_cast<Piece>(c));
    std::stable_sort(classes.begin(), classes.end(), [&](Piece a, Piece b) { return table[s][a] > table[s][b]; });
    classes.resize(std::min<size_t>(classes.size(), static_cast<size_t>(std::max(options.top_k, 1))));
    ranked[s] = std::move(classes);
    base[s] = ranked[s][0];
  }
  // One change: square s takes its alternative `rank`; cost: the score lost.
  struct Change {
    int square;
    Piece piece;
    double cost;
  };
  std::vector<Change> changes;
  for (int s = 0; s < 64; ++s)
    for (size_t r = 1; r < ranked[s].size(); ++r) changes.push_back({s, ranked[s][r], table[s][base[s]] - table[s][ranked[s][r]]});
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.cost < b.cost; });

  ConstrainedResult result;
  auto finish = [&](const Placement& placement, bool satisfied) {
    result.placement = placement;
    result.satisfied = satisfied;
    result.log_probability = score(table, placement);
    result.squares_changed = 0;
    for (int s = 0; s < 64; ++s) result.squares_changed += placement[s] != independent[s];
    return result;
  };
  const PieceCounts base_counts = count_pieces(base);
  if (check_piece_counts(base_counts).ok()) return finish(base, true);

  // Subsets of `changes` in order of increasing total cost: a node adds
  // change `last` to its parent's set; from a node come the set with
  // last + 1 added, and the set with last replaced by last + 1.
  struct Node {
    double cost;
    int last;    // index into changes
    int parent;  // index into nodes, -1 for the empty set
  };
  std::vector<Node> nodes;
  using Entry = std::pair<double, int>;  // cost, node
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> frontier;
  if (!changes.empty()) {
    nodes.push_back({changes[0].cost, 0, -1});
    frontier.push({changes[0].cost, 0});
  }
  while (!frontier.empty() && result.expansions < options.max_expansions) {
    const int id = frontier.top().second;
    frontier.pop();
    ++result.expansions;
    const Node node = nodes[id];
    // The set's placement, unless two of its changes touch one square.
    Placement placement = base;
    PieceCounts counts = base_counts;
    bool valid = true;
    for (int n = id; n >= 0 && valid; n = nodes[n].parent) {
      const Change& c = changes[nodes[n].last];
      if (placement[c.square] != base[c.square]) valid = false;
      --counts[placement[c.square]];
      placement[c.square] = c.piece;
      ++counts[c.piece];
    }
    if (valid && check_piece_counts(counts).ok()) return finish(placement, true);
    const int next = node.last + 1;
    if (next < static_cast<int>(changes.size())) {
      nodes.push_back({node.cost + changes[next].cost, next, id});
      frontier.push({nodes.back().cost, static_cast<int>(nodes.size()) - 1});
      nodes.push_back({node.cost - changes[node.last].cost + changes[next].cost, next, node.parent});
      frontier.push({nodes.back().cost, static_cast<int>(nodes.size()) - 1});
    }
  }
  return finish(independent, false);
}

TemporalResult decode_temporal(const ProbabilityGrid& probabilities, const Position& previous,
                               const TemporalOptions& options) {
  const LogTable table = log_table(probabilities);
  TemporalResult best;
  best.log_probability = score(table, previous.placement());
  best.placement = previous.placement();
  best.position = previous;
  best.plies = 0;
  // Strictly better only, so that of equal candidates the fewest plies win.
  auto consider = [&](const Position& p, int plies, std::vector<Move> moves) {
    const double s = score(table, p.placement());
    if (s > best.log_probability) {
      best.log_probability = s;
      best.placement = p.placement();
      best.position = p;
      best.plies = plies;
      best.moves = std::move(moves);
    }
  };
  if (options.max_plies >= 1) {
    for (Move m1 : legal_moves(previous)) {
      const Position p1 = previous.play(m1);
      consider(p1, 1, {m1});
      if (options.max_plies >= 2)
        for (Move m2 : legal_moves(p1)) consider(p1.play(m2), 2, {m1, m2});
    }
  }
  const ConstrainedResult constrained = decode_constrained(probabilities, options.constrained);
  char gap[64];
  std::snprintf(gap, sizeof gap, "%.1f", constrained.log_probability - best.log_probability);
  if (constrained.log_probability - best.log_probability <= options.plausibility_margin_nats) {
    if (best.plies == 0) {
      best.note = "no move since the previous position";
    } else {
      Position at = previous;
      best.note = std::to_string(best.plies) + (best.plies == 1 ? " ply:" : " plies:");
      for (Move m : best.moves) {
        best.note += " " + to_san(at, m);
        at = at.play(m);
      }
    }
    return best;
  }
  TemporalResult fallback;
  fallback.placement = constrained.placement;
  fallback.log_probability = constrained.log_probability;
  fallback.plies = -1;
  fallback.fell_back = true;
  fallback.note = "no position within " + std::to_string(options.max_plies) +
                  " plies of the previous one fits the image (the best is " + gap +
                  " nats below the constrained decoding): a move was missed; fell back to constrained decoding";
  // Continue from the placement: the side to move guessed as after an odd
  // number of plies, castling rights kept where king and rook stand at home.
  const uint8_t castling = previous.castling_rights() & castling_rights_possible(fallback.placement);
  for (Color side : {static_cast<Color>(previous.side_to_move() ^ 1), previous.side_to_move()}) {
    auto p = Position::from_placement(fallback.placement, side, castling);
    if (p.ok()) {
      fallback.position = *p;
      break;
    }
  }
  return fallback;
}

}  // namespace wattlab::chess
