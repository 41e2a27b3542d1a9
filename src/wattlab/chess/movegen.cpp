#include "wattlab/chess/movegen.h"

#include <algorithm>

#include "wattlab/chess/attacks.h"

namespace wattlab::chess {

using attacks::bit;
using attacks::lsb;
using attacks::pop_lsb;

namespace {

void add_pawn_move(MoveList& list, int from, int to) {
  if (rank_of(to) == 0 || rank_of(to) == 7) {
    for (PieceType t : {kQueen, kRook, kBishop, kKnight})
      list.add({static_cast<uint8_t>(from), static_cast<uint8_t>(to), t});
  } else {
    list.add({static_cast<uint8_t>(from), static_cast<uint8_t>(to), kPawn});
  }
}

void add_moves(MoveList& list, int from, uint64_t targets) {
  while (targets) list.add({static_cast<uint8_t>(from), static_cast<uint8_t>(pop_lsb(targets)), kPawn});
}

// Appends every legal move of the side to move in `pos` to `list`.
void generate(const Position& pos, MoveList& list) {
  const auto& t = attacks::tables();
  const Color us = pos.side_to_move();
  const Color them = static_cast<Color>(us ^ 1);
  const uint64_t own = pos.pieces(us);
  const uint64_t enemy = pos.pieces(them);
  const uint64_t occ = own | enemy;
  const int king = pos.king_square(us);

  // King moves: to squares not attacked once the king has left its square.
  const uint64_t occ_without_king = occ ^ bit(king);
  uint64_t king_targets = t.king[king] & ~own;
  while (king_targets) {
    int to = pop_lsb(king_targets);
    if (!pos.attacked(to, them, occ_without_king)) list.add({static_cast<uint8_t>(king), static_cast<uint8_t>(to), kPawn});
  }
  const uint64_t checkers = pos.attackers_to(king, occ) & enemy;
  if (checkers & (checkers - 1)) return;  // double check: only the king moves

  // Squares a non-king move must land on: anywhere, or when in check the
  // checker or a square between it and the king.
  uint64_t target_mask = ~own;
  if (checkers) target_mask = t.between[king][lsb(checkers)] | checkers;

  // Pinned pieces may only move along the line through king and pinner.
  uint64_t pinned = 0;
  const uint64_t queens = pos.pieces(them, kQueen);
  uint64_t pinners = (attacks::rook_attacks(king, enemy) & (pos.pieces(them, kRook) | queens)) |
                     (attacks::bishop_attacks(king, enemy) & (pos.pieces(them, kBishop) | queens));
  while (pinners) {
    int s = pop_lsb(pinners);
    uint64_t b = t.between[king][s] & occ;
    if (b && !(b & (b - 1)) && (b & own)) pinned |= b;
  }
  auto allowed = [&](int from, uint64_t targets) {
    targets &= target_mask;
    if (pinned & bit(from)) targets &= t.line[king][from];
    return targets;
  };

  for (PieceType type : {kKnight, kBishop, kRook, kQueen}) {
    uint64_t pieces = pos.pieces(us, type);
    while (pieces) {
      int from = pop_lsb(pieces);
      uint64_t a = type == kKnight ? t.knight[from]
                   : type == kBishop ? attacks::bishop_attacks(from, occ)
                   : type == kRook   ? attacks::rook_attacks(from, occ)
                                     : attacks::rook_attacks(from, occ) | attacks::bishop_attacks(from, occ);
      add_moves(list, from, allowed(from, a & ~own));
    }
  }

  const int forward = us == kWhite ? 8 : -8;
  const int start_rank = us == kWhite ? 1 : 6;
  uint64_t pawns = pos.pieces(us, kPawn);
  while (pawns) {
    int from = pop_lsb(pawns);
    uint64_t targets = t.pawn[us][from] & enemy;
    int one = from + forward;
    if (!(occ & bit(one))) {
      targets |= bit(one);
      if (rank_of(from) == start_rank && !(occ & bit(one + forward))) targets |= bit(one + forward);
    }
    targets = allowed(from, targets);
    while (targets) add_pawn_move(list, from, pop_lsb(targets));
  }

  // En passant: test the king's safety on the board as it would be, since the
  // move removes two pieces from one rank (a discovered check the pin masks miss).
  const int ep = pos.en_passant_square();
  if (ep >= 0) {
    const int captured = ep - forward;
    uint64_t candidates = t.pawn[them][ep] & pos.pieces(us, kPawn);
    while (candidates) {
      int from = pop_lsb(candidates);
      const uint64_t after = (occ ^ bit(from) ^ bit(captured)) | bit(ep);
      const uint64_t rooks = (pos.pieces(them, kRook) | queens);
      const uint64_t bishops = (pos.pieces(them, kBishop) | queens);
      const bool exposed = (attacks::rook_attacks(king, after) & rooks) ||
                           (attacks::bishop_attacks(king, after) & bishops) ||
                           (t.knight[king] & pos.pieces(them, kKnight)) ||
                           (t.pawn[us][king] & pos.pieces(them, kPawn) & ~bit(captured));
      if (!exposed) list.add({static_cast<uint8_t>(from), static_cast<uint8_t>(ep), kPawn});
    }
  }

  // Castling: not out of, through or into check, with the squares between empty.
  if (!checkers) {
    const uint8_t rights = pos.castling_rights();
    const int home = us == kWhite ? 4 : 60;
    const bool kingside = rights & (us == kWhite ? kWhiteKingside : kBlackKingside);
    const bool queenside = rights & (us == kWhite ? kWhiteQueenside : kBlackQueenside);
    if (kingside && !(occ & (bit(home + 1) | bit(home + 2))) && !pos.attacked(home + 1, them, occ) &&
        !pos.attacked(home + 2, them, occ)) {
      list.add({static_cast<uint8_t>(home), static_cast<uint8_t>(home + 2), kPawn});
    }
    if (queenside && !(occ & (bit(home - 1) | bit(home - 2) | bit(home - 3))) && !pos.attacked(home - 1, them, occ) &&
        !pos.attacked(home - 2, them, occ)) {
      list.add({static_cast<uint8_t>(home), static_cast<uint8_t>(home - 2), kPawn});
    }
  }
}

}  // namespace

bool MoveList::contains(Move m) const { return std::find(begin(), end(), m) != end(); }

MoveList legal_moves(const Position& position) {
  MoveList list;
  generate(position, list);
  return list;
}

uint64_t perft(const Position& position, int depth) {
  if (depth <= 0) return 1;
  MoveList list;
  generate(position, list);
  if (depth == 1) return static_cast<uint64_t>(list.size);
  uint64_t nodes = 0;
  for (Move m : list) nodes += perft(position.play(m), depth - 1);
  return nodes;
}

std::vector<std::pair<Move, uint64_t>> perft_divide(const Position& position, int depth) {
  std::vector<std::pair<Move, uint64_t>> out;
  for (Move m : legal_moves(position)) out.emplace_back(m, perft(position.play(m), depth - 1));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return uci(a.first) < uci(b.first); });
  return out;
}

Result<Move> parse_uci(const Position& position, std::string_view text) {
  for (Move m : legal_moves(position))
    if (uci(m) == text) return m;
  return Status::invalid_argument("\"" + std::string(text) + "\" is not a legal move in " + position.fen() +
                                  " (UCI notation: from and to squares, then a promotion letter, e.g. e2e4, e7e8q)");
}

GameState game_state(const Position& position) {
  if (legal_moves(position).size > 0) return GameState::kOngoing;
  return position.in_check() ? GameState::kCheckmate : GameState::kStalemate;
}

}  // namespace wattlab::chess
