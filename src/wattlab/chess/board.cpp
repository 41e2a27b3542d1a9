#include "wattlab/chess/board.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wattlab/chess/attacks.h"

namespace wattlab::chess {

namespace attacks {

namespace {
Tables build_tables() {
  Tables t;
  auto on_board = [](int f, int r) { return f >= 0 && f < 8 && r >= 0 && r < 8; };
  const int step_f[8] = {0, 1, 1, -1, 0, -1, -1, 1};  // in Direction order
  const int step_r[8] = {1, 0, 1, 1, -1, 0, -1, -1};
  for (int s = 0; s < 64; ++s) {
    const int f = file_of(s), r = rank_of(s);
    const int knight[8][2] = {{1, 2}, {2, 1}, {2, -1}, {1, -2}, {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}};
    for (auto& d : knight)
      if (on_board(f + d[0], r + d[1])) t.knight[s] |= bit(make_square(f + d[0], r + d[1]));
    for (int dir = 0; dir < 8; ++dir) {
      if (on_board(f + step_f[dir], r + step_r[dir])) t.king[s] |= bit(make_square(f + step_f[dir], r + step_r[dir]));
      for (int k = 1; on_board(f + k * step_f[dir], r + k * step_r[dir]); ++k)
        t.ray[dir][s] |= bit(make_square(f + k * step_f[dir], r + k * step_r[dir]));
    }
    for (int df : {-1, 1}) {
      if (on_board(f + df, r + 1)) t.pawn[kWhite][s] |= bit(make_square(f + df, r + 1));
      if (on_board(f + df, r - 1)) t.pawn[kBlack][s] |= bit(make_square(f + df, r - 1));
    }
  }
  for (int a = 0; a < 64; ++a) {
    for (int dir = 0; dir < 8; ++dir) {
      uint64_t ray = t.ray[dir][a];
      while (ray) {
        const int b = pop_lsb(ray);
        t.between[a][b] = t.ray[dir][a] & ~t.ray[dir][b] & ~bit(b);
        t.line[a][b] = t.ray[dir][a] | t.ray[(dir + 4) % 8][a] | bit(a);
      }
    }
  }
  return t;
}
}  // namespace

const Tables& tables() {
  static const Tables t = build_tables();
  return t;
}

}  // namespace attacks

using attacks::bit;
using attacks::lsb;
using attacks::pop_lsb;

namespace {

constexpr const char* kPieceLetters = ".PNBRQKpnbrqk";
const char* const kTypeNames[6] = {"pawn", "knight", "bishop", "rook", "queen", "king"};

std::string color_name(Color c) { return c == kWhite ? "white" : "black"; }

// Squares holding `p`, as "e1, d4".
std::string squares_of(const Placement& placement, Piece p) {
  std::string out;
  for (int s = 0; s < 64; ++s)
    if (placement[s] == p) out += (out.empty() ? "" : ", ") + square_name(s);
  return out;
}

// Which castling right needs which king and rook squares.
struct CastlingNeed {
  CastlingRight right;
  char letter;
  Color color;
  int king_square;
  int rook_square;
};
constexpr CastlingNeed kCastlingNeeds[4] = {{kWhiteKingside, 'K', kWhite, 4, 7},
                                            {kWhiteQueenside, 'Q', kWhite, 4, 0},
                                            {kBlackKingside, 'k', kBlack, 60, 63},
                                            {kBlackQueenside, 'q', kBlack, 60, 56}};

// Castling rights that survive a move touching `square` (its king or rook moved or was captured).
uint8_t castling_kept(int square) {
  switch (square) {
    case 0: return static_cast<uint8_t>(~kWhiteQueenside);
    case 4: return static_cast<uint8_t>(~(kWhiteKingside | kWhiteQueenside));
    case 7: return static_cast<uint8_t>(~kWhiteKingside);
    case 56: return static_cast<uint8_t>(~kBlackQueenside);
    case 60: return static_cast<uint8_t>(~(kBlackKingside | kBlackQueenside));
    case 63: return static_cast<uint8_t>(~kBlackKingside);
    default: return 0xff;
  }
}

Result<int> parse_counter(std::string_view text, const char* what, int minimum) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return Status::invalid_argument(std::string(what) + " must be a whole number (got \"" + std::string(text) + "\")");
  int value = std::atoi(std::string(text).c_str());
  if (value < minimum)
    return Status::invalid_argument(std::string(what) + " must be at least " + std::to_string(minimum) + " (got " +
                                    std::string(text) + ")");
  return value;
}

}  // namespace

char piece_letter(Piece p) { return p < kPieceClasses ? kPieceLetters[p] : '?'; }

std::string piece_name(Piece p) {
  if (p == kEmpty) return "empty";
  return color_name(piece_color(p)) + " " + kTypeNames[piece_type(p)];
}

std::string square_name(int square) {
  return {static_cast<char>('a' + file_of(square)), static_cast<char>('1' + rank_of(square))};
}

int parse_square(std::string_view name) {
  if (name.size() != 2 || name[0] < 'a' || name[0] > 'h' || name[1] < '1' || name[1] > '8') return -1;
  return make_square(name[0] - 'a', name[1] - '1');
}

std::string uci(Move move) {
  std::string s = square_name(move.from) + square_name(move.to);
  if (move.promotion != kPawn) s += "pnbrqk"[move.promotion];
  return s;
}

PieceCounts count_pieces(const Placement& placement) {
  PieceCounts counts{};
  for (Piece p : placement) ++counts[p];
  return counts;
}

Status check_piece_counts(const PieceCounts& counts) {
  for (Color c : {kWhite, kBlack}) {
    auto n = [&](PieceType t) { return counts[make_piece(c, t)]; };
    const std::string side = color_name(c);
    if (n(kKing) == 0) return Status::invalid_argument("no " + side + " king");
    if (n(kKing) > 1) return Status::invalid_argument(std::to_string(n(kKing)) + " " + side + " kings");
    if (n(kPawn) > 8) return Status::invalid_argument(std::to_string(n(kPawn)) + " " + side + " pawns (at most 8)");
    int total = 0;
    for (int t = kPawn; t <= kKing; ++t) total += n(static_cast<PieceType>(t));
    if (total > 16) return Status::invalid_argument(std::to_string(total) + " " + side + " pieces (at most 16)");
    const int extra = std::max(0, n(kQueen) - 1) + std::max(0, n(kRook) - 2) + std::max(0, n(kBishop) - 2) +
                      std::max(0, n(kKnight) - 2);
    if (extra > 8 - n(kPawn)) {
      return Status::invalid_argument(
          side + " has " + std::to_string(extra) + " piece(s) beyond the starting set but only " +
          std::to_string(8 - n(kPawn)) + " missing pawn(s) that could have promoted");
    }
  }
  return Status();
}

Status check_placement(const Placement& placement) {
  const PieceCounts counts = count_pieces(placement);
  for (Color c : {kWhite, kBlack}) {
    const Piece king = make_piece(c, kKing);
    if (counts[king] == 2) return Status::invalid_argument("two " + color_name(c) + " kings (" + squares_of(placement, king) + ")");
    if (counts[king] > 2) {
      return Status::invalid_argument(std::to_string(counts[king]) + " " + color_name(c) + " kings (" +
                                      squares_of(placement, king) + ")");
    }
  }
  for (int s = 0; s < 64; ++s) {
    if (placement[s] != kEmpty && piece_type(placement[s]) == kPawn && (rank_of(s) == 0 || rank_of(s) == 7)) {
      return Status::invalid_argument(piece_name(placement[s]) + " on " + square_name(s) +
                                      ": pawns never stand on the first or eighth rank");
    }
  }
  return check_piece_counts(counts);
}

uint8_t castling_rights_possible(const Placement& placement) {
  uint8_t rights = 0;
  for (const auto& need : kCastlingNeeds)
    if (placement[need.king_square] == make_piece(need.color, kKing) && placement[need.rook_square] == make_piece(need.color, kRook))
      rights |= need.right;
  return rights;
}

std::string placement_fen(const Placement& placement) {
  std::string out;
  for (int r = 7; r >= 0; --r) {
    int empty = 0;
    for (int f = 0; f < 8; ++f) {
      Piece p = placement[make_square(f, r)];
      if (p == kEmpty) {
        ++empty;
        continue;
      }
      if (empty) out += static_cast<char>('0' + empty);
      empty = 0;
      out += piece_letter(p);
    }
    if (empty) out += static_cast<char>('0' + empty);
    if (r) out += '/';
  }
  return out;
}

Result<Placement> parse_placement_fen(std::string_view field) {
  Placement placement{};
  std::vector<std::string_view> ranks;
  for (size_t start = 0;;) {
    size_t slash = field.find('/', start);
    ranks.push_back(field.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (ranks.size() != 8) {
    return Status::invalid_argument("the placement has " + std::to_string(ranks.size()) +
                                    " ranks separated by '/', expected 8");
  }
  for (int i = 0; i < 8; ++i) {
    const int rank = 7 - i;
    const std::string label = "rank " + std::to_string(rank + 1) + " (\"" + std::string(ranks[i]) + "\")";
    int file = 0;
    for (char ch : ranks[i]) {
      if (ch >= '1' && ch <= '8') {
        file += ch - '0';
      } else {
        const char* found = std::strchr(kPieceLetters + 1, ch);
        if (ch == '\0' || found == nullptr) {
          return Status::invalid_argument(label + ": '" + std::string(1, ch) +
                                          "' is neither a piece letter (PNBRQK, pnbrqk) nor a count of empty squares 1-8");
        }
        if (file < 8) placement[make_square(file, rank)] = static_cast<Piece>(found - kPieceLetters);
        ++file;
      }
    }
    if (file != 8) return Status::invalid_argument(label + " describes " + std::to_string(file) + " squares, expected 8");
  }
  return placement;
}

Position Position::start() {
  return from_fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1").value();
}

void Position::put(int square, Piece p) {
  board_[square] = p;
  by_piece_[p] |= bit(square);
  by_color_[piece_color(p)] |= bit(square);
}

void Position::remove(int square) {
  Piece p = board_[square];
  if (p == kEmpty) return;
  by_piece_[p] &= ~bit(square);
  by_color_[piece_color(p)] &= ~bit(square);
  board_[square] = kEmpty;
}

int Position::king_square(Color c) const {
  uint64_t k = pieces(c, kKing);
  return k ? lsb(k) : -1;
}

uint64_t Position::attackers_to(int square, uint64_t occupancy) const {
  const auto& t = attacks::tables();
  const uint64_t rooks = by_piece_[make_piece(kWhite, kRook)] | by_piece_[make_piece(kBlack, kRook)] |
                         by_piece_[make_piece(kWhite, kQueen)] | by_piece_[make_piece(kBlack, kQueen)];
  const uint64_t bishops = by_piece_[make_piece(kWhite, kBishop)] | by_piece_[make_piece(kBlack, kBishop)] |
                           by_piece_[make_piece(kWhite, kQueen)] | by_piece_[make_piece(kBlack, kQueen)];
  return (t.pawn[kBlack][square] & pieces(kWhite, kPawn)) | (t.pawn[kWhite][square] & pieces(kBlack, kPawn)) |
         (t.knight[square] & (pieces(kWhite, kKnight) | pieces(kBlack, kKnight))) |
         (t.king[square] & (pieces(kWhite, kKing) | pieces(kBlack, kKing))) |
         (attacks::rook_attacks(square, occupancy) & rooks) | (attacks::bishop_attacks(square, occupancy) & bishops);
}

bool Position::attacked(int square, Color by, uint64_t occupancy) const {
  const auto& t = attacks::tables();
  const Color them = static_cast<Color>(by ^ 1);
  if (t.pawn[them][square] & pieces(by, kPawn)) return true;
  if (t.knight[square] & pieces(by, kKnight)) return true;
  if (t.king[square] & pieces(by, kKing)) return true;
  const uint64_t queens = pieces(by, kQueen);
  if (attacks::rook_attacks(square, occupancy) & (pieces(by, kRook) | queens)) return true;
  return (attacks::bishop_attacks(square, occupancy) & (pieces(by, kBishop) | queens)) != 0;
}

Result<Position> Position::from_fen(std::string_view fen) {
  const std::string prefix = "FEN \"" + std::string(fen) + "\": ";
  std::vector<std::string_view> fields;
  for (size_t i = 0; i < fen.size();) {
    size_t start = fen.find_first_not_of(' ', i);
    if (start == std::string_view::npos) break;
    size_t end = fen.find(' ', start);
    if (end == std::string_view::npos) end = fen.size();
    fields.push_back(fen.substr(start, end - start));
    i = end;
  }
  if (fields.size() != 6 && fields.size() != 4) {
    return Status::invalid_argument(prefix + "has " + std::to_string(fields.size()) +
                                    " fields, expected 6 (placement, side to move, castling, en passant, halfmove "
                                    "clock, fullmove number) or the first 4");
  }
  auto placement = parse_placement_fen(fields[0]);
  if (!placement.ok()) return placement.status().with_context(prefix.substr(0, prefix.size() - 2));
  Position pos;
  for (int s = 0; s < 64; ++s)
    if ((*placement)[s] != kEmpty) pos.put(s, (*placement)[s]);
  if (fields[1] != "w" && fields[1] != "b")
    return Status::invalid_argument(prefix + "the side to move must be w or b (got \"" + std::string(fields[1]) + "\")");
  pos.side_ = fields[1] == "w" ? kWhite : kBlack;
  if (fields[2] != "-") {
    for (char ch : fields[2]) {
      const CastlingNeed* need = nullptr;
      for (const auto& n : kCastlingNeeds)
        if (n.letter == ch) need = &n;
      if (need == nullptr || (pos.castling_ & need->right)) {
        return Status::invalid_argument(prefix + "castling rights \"" + std::string(fields[2]) +
                                        "\" must be - or some of K, Q, k, q, each at most once");
      }
      pos.castling_ |= need->right;
    }
  }
  if (fields[3] != "-") {
    pos.ep_square_ = static_cast<int8_t>(parse_square(fields[3]));
    if (pos.ep_square_ < 0)
      return Status::invalid_argument(prefix + "the en passant field must be - or a square (got \"" + std::string(fields[3]) + "\")");
  }
  if (fields.size() == 6) {
    auto halfmove = parse_counter(fields[4], "the halfmove clock", 0);
    if (!halfmove.ok()) return Status::invalid_argument(prefix + halfmove.status().message());
    auto fullmove = parse_counter(fields[5], "the fullmove number", 1);
    if (!fullmove.ok()) return Status::invalid_argument(prefix + fullmove.status().message());
    pos.halfmove_clock_ = *halfmove;
    pos.fullmove_number_ = *fullmove;
  }
  WATTLAB_RETURN_IF_ERROR(pos.check_legal(fen));
  return pos;
}

Result<Position> Position::from_placement(const Placement& placement, Color side, uint8_t castling) {
  Position pos;
  for (int s = 0; s < 64; ++s)
    if (placement[s] != kEmpty) pos.put(s, placement[s]);
  pos.side_ = side;
  pos.castling_ = castling & 15;
  WATTLAB_RETURN_IF_ERROR(pos.check_legal(pos.fen()));
  return pos;
}

Status Position::check_legal(std::string_view fen) const {
  const std::string prefix = "FEN \"" + std::string(fen) + "\": ";
  if (Status s = check_placement(board_); !s.ok()) return Status::invalid_argument(prefix + s.message());
  for (const auto& need : kCastlingNeeds) {
    if (!(castling_ & need.right)) continue;
    if (board_[need.king_square] != make_piece(need.color, kKing) ||
        board_[need.rook_square] != make_piece(need.color, kRook)) {
      return Status::invalid_argument(prefix + "castling right " + std::string(1, need.letter) + " needs the " +
                                      color_name(need.color) + " king on " + square_name(need.king_square) +
                                      " and a " + color_name(need.color) + " rook on " + square_name(need.rook_square));
    }
  }
  if (ep_square_ >= 0) {
    // White to move: Black's pawn went from ep+8 to ep-8; Black to move: White's from ep-8 to ep+8.
    const int forward = side_ == kWhite ? -8 : 8;  // from the en passant square to the pawn that moved
    const Color mover = static_cast<Color>(side_ ^ 1);
    const int pawn_square = ep_square_ + forward;
    const int origin = ep_square_ - forward;
    const int needed_rank = side_ == kWhite ? 5 : 2;
    if (rank_of(ep_square_) != needed_rank) {
      return Status::invalid_argument(prefix + "en passant square " + square_name(ep_square_) + " is not on rank " +
                                      std::to_string(needed_rank + 1) + ", where it lies with " + color_name(side_) +
                                      " to move");
    }
    if (board_[pawn_square] != make_piece(mover, kPawn) || board_[ep_square_] != kEmpty || board_[origin] != kEmpty) {
      return Status::invalid_argument(prefix + "en passant square " + square_name(ep_square_) + " needs a " +
                                      color_name(mover) + " pawn that has just moved from " + square_name(origin) +
                                      " to " + square_name(pawn_square) + ", with both squares it passed empty");
    }
  }
  const Color waiting = static_cast<Color>(side_ ^ 1);
  const int king = king_square(waiting);
  const uint64_t checkers = attackers_to(king, occupied()) & by_color_[side_];
  if (checkers) {
    const int checker = lsb(checkers);
    return Status::invalid_argument(prefix + "the side not to move (" + color_name(waiting) + ") is in check from the " +
                                    kTypeNames[piece_type(board_[checker])] + " on " + square_name(checker) +
                                    ", so " + color_name(side_) + " could capture its king: the position cannot arise");
  }
  return Status();
}

std::string Position::fen() const {
  std::string out = placement_fen(board_);
  out += side_ == kWhite ? " w " : " b ";
  std::string rights;
  for (const auto& need : kCastlingNeeds)
    if (castling_ & need.right) rights += need.letter;
  out += rights.empty() ? "-" : rights;
  out += ' ';
  out += ep_square_ < 0 ? std::string("-") : square_name(ep_square_);
  out += ' ';
  out += std::to_string(halfmove_clock_);
  out += ' ';
  out += std::to_string(fullmove_number_);
  return out;
}

Position Position::play(Move move) const {
  Position next = *this;
  const Color us = side_;
  const Color them = static_cast<Color>(us ^ 1);
  const Piece moving = board_[move.from];
  const bool pawn = piece_type(moving) == kPawn;
  next.ep_square_ = -1;
  next.halfmove_clock_ = pawn || board_[move.to] != kEmpty ? 0 : halfmove_clock_ + 1;
  next.remove(move.to);
  if (pawn && move.to == ep_square_) next.remove(move.to + (us == kWhite ? -8 : 8));
  next.remove(move.from);
  next.put(move.to, move.promotion != kPawn ? make_piece(us, move.promotion) : moving);
  if (piece_type(moving) == kKing && std::abs(move.to - move.from) == 2) {
    const bool kingside = move.to > move.from;
    const int rook_from = kingside ? move.from + 3 : move.from - 4;
    const int rook_to = kingside ? move.from + 1 : move.from - 1;
    next.remove(rook_from);
    next.put(rook_to, make_piece(us, kRook));
  }
  if (pawn && std::abs(move.to - move.from) == 16) {
    // Recorded only when an enemy pawn could take en passant, as most programs write FEN.
    const int ep = (move.from + move.to) / 2;
    if (attacks::tables().pawn[us][ep] & next.pieces(them, kPawn)) next.ep_square_ = static_cast<int8_t>(ep);
  }
  next.castling_ &= castling_kept(move.from) & castling_kept(move.to);
  if (us == kBlack) ++next.fullmove_number_;
  next.side_ = them;
  return next;
}

}  // namespace wattlab::chess
