#include "wattlab/chess/pgn.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "wattlab/chess/movegen.h"

namespace wattlab::chess {

namespace {

int type_of_letter(char c) {
  switch (c) {
    case 'N': return kKnight;
    case 'B': return kBishop;
    case 'R': return kRook;
    case 'Q': return kQueen;
    case 'K': return kKing;
    default: return -1;
  }
}

bool is_result(std::string_view token) {
  return token == "1-0" || token == "0-1" || token == "1/2-1/2" || token == "*";
}

// Reads one game's movetext and the tags before it.
class PgnParser {
 public:
  explicit PgnParser(std::string_view text) : text_(text) {}

  Result<std::vector<PgnGame>> parse() {
    std::vector<PgnGame> games;
    for (;;) {
      skip_space_and_comments();
      if (!status_.ok()) return status_;
      if (pos_ >= text_.size()) break;
      auto game = parse_game(games.size() + 1);
      if (!game.ok()) return game.status();
      games.push_back(std::move(*game));
    }
    return games;
  }

 private:
  Result<PgnGame> parse_game(size_t number) {
    PgnGame game;
    while (peek() == '[') {
      WATTLAB_RETURN_IF_ERROR(parse_tag(game));
      skip_space_and_comments();
      WATTLAB_RETURN_IF_ERROR(status_);
    }
    std::string label = "game " + std::to_string(number);
    if (!game.tag("White").empty() || !game.tag("Black").empty())
      label += " (" + game.tag("White") + " - " + game.tag("Black") + ")";
    if (std::string fen = game.tag("FEN"); !fen.empty()) {
      auto start = Position::from_fen(fen);
      if (!start.ok()) return Status::invalid_argument(label + ": [FEN] tag: " + start.status().message());
      game.start = *start;
    }
    Position position = game.start;
    for (;;) {
      skip_space_and_comments();
      WATTLAB_RETURN_IF_ERROR(status_);
      const char c = peek();
      if (c == '\0' || c == '[') break;  // the next game's tags, or the end
      if (c == '(') {
        WATTLAB_RETURN_IF_ERROR(skip_variation());
        continue;
      }
      std::string token = read_token();
      if (is_result(token)) {
        game.result = token;
        break;
      }
      if (token[0] == '$') continue;  // NAG
      // Move numbers ("12.", "12...") may be glued to the move ("12.e4").
      size_t digits = 0;
      while (digits < token.size() && std::isdigit(static_cast<unsigned char>(token[digits]))) ++digits;
      if (digits > 0 && digits < token.size() && token[digits] == '.') {
        size_t dots = digits;
        while (dots < token.size() && token[dots] == '.') ++dots;
        token = token.substr(dots);
        if (token.empty()) continue;
      }
      auto move = parse_san(position, token);
      if (!move.ok()) {
        const int move_number = position.fullmove_number();
        return Status::invalid_argument(label + ", move " + std::to_string(move_number) +
                                        (position.side_to_move() == kWhite ? ". " : "... ") + move.status().message());
      }
      game.moves.push_back(*move);
      position = position.play(*move);
    }
    return game;
  }

  Status parse_tag(PgnGame& game) {
    const size_t open = pos_++;
    std::string name;
    while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_]))) name += text_[pos_++];
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (name.empty() || peek() != '"') return tag_error(open);
    ++pos_;
    std::string value;
    for (; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      value += text_[pos_];
    }
    if (pos_ >= text_.size()) return tag_error(open);
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (peek() != ']') return tag_error(open);
    ++pos_;
    game.tags.emplace_back(std::move(name), std::move(value));
    return Status();
  }

  Status tag_error(size_t open) {
    const size_t end = text_.find('\n', open);
    return Status::invalid_argument("line " + std::to_string(line_of(open)) + ": malformed tag pair \"" +
                                    std::string(text_.substr(open, end == std::string_view::npos ? 40 : end - open)) +
                                    "\" (expected [Name \"value\"])");
  }

  Status skip_variation() {
    const size_t open = pos_;
    int depth = 0;
    for (; pos_ < text_.size(); ++pos_) {
      const char c = text_[pos_];
      if (c == '{') {
        size_t close = text_.find('}', pos_);
        if (close == std::string_view::npos) break;
        pos_ = close;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        ++pos_;
        return Status();
      }
    }
    return Status::invalid_argument("line " + std::to_string(line_of(open)) + ": variation \"(\" is never closed");
  }

  // Skips whitespace, {comments}, ; comments and % escape lines; records an
  // unterminated comment in status_.
  void skip_space_and_comments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '{') {
        size_t close = text_.find('}', pos_);
        if (close == std::string_view::npos) {
          status_ = Status::invalid_argument("line " + std::to_string(line_of(pos_)) + ": comment \"{\" is never closed");
          pos_ = text_.size();
          return;
        }
        pos_ = close + 1;
      } else if (c == ';' || (c == '%' && (pos_ == 0 || text_[pos_ - 1] == '\n'))) {
        size_t end = text_.find('\n', pos_);
        pos_ = end == std::string_view::npos ? text_.size() : end + 1;
      } else {
        return;
      }
    }
  }

  std::string read_token() {
    std::string token;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c)) || c == '{' || c == '}' || c == '(' || c == ')' || c == ';' ||
          c == '[')
        break;
      token += c;
      ++pos_;
    }
    if (token.empty()) token = text_[pos_++];  // a stray ')' or '}'
    return token;
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  size_t line_of(size_t offset) const {
    size_t line = 1;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) line += text_[i] == '\n';
    return line;
  }

  std::string_view text_;
  size_t pos_ = 0;
  Status status_;
};

}  // namespace

Result<Move> parse_san(const Position& position, std::string_view san) {
  const std::string original(san);
  while (!san.empty() && std::string_view("+#!?").find(san.back()) != std::string_view::npos) san.remove_suffix(1);
  auto error = [&](const std::string& why) { return Status::invalid_argument("\"" + original + "\": " + why); };
  const MoveList legal = legal_moves(position);
  if (san == "O-O" || san == "0-0" || san == "O-O-O" || san == "0-0-0") {
    const int home = position.side_to_move() == kWhite ? 4 : 60;
    const Move castle{static_cast<uint8_t>(home), static_cast<uint8_t>(san.size() == 3 ? home + 2 : home - 2), kPawn};
    if (position.piece_on(home) == make_piece(position.side_to_move(), kKing) && legal.contains(castle)) return castle;
    return error("castling is not legal here");
  }
  int type = kPawn;
  if (!san.empty() && type_of_letter(san[0]) >= 0) {
    type = type_of_letter(san[0]);
    san.remove_prefix(1);
  }
  PieceType promotion = kPawn;
  if (type == kPawn && san.size() >= 3) {
    const int last = type_of_letter(san.back());
    if (last >= kKnight && last <= kQueen) {
      promotion = static_cast<PieceType>(last);
      san.remove_suffix(1);
      if (!san.empty() && san.back() == '=') san.remove_suffix(1);
    }
  }
  if (san.size() < 2) return error("not a move in SAN (e.g. e4, Nf3, exd5, e8=Q, O-O)");
  const int to = parse_square(san.substr(san.size() - 2));
  if (to < 0) return error("not a move in SAN (e.g. e4, Nf3, exd5, e8=Q, O-O)");
  san.remove_suffix(2);
  int from_file = -1, from_rank = -1;
  for (char c : san) {
    if (c >= 'a' && c <= 'h') from_file = c - 'a';
    else if (c >= '1' && c <= '8') from_rank = c - '1';
    else if (c != 'x' && c != ':' && c != '-') return error("not a move in SAN (e.g. e4, Nf3, exd5, e8=Q, O-O)");
  }
  std::vector<Move> matches;
  for (Move m : legal) {
    if (piece_type(position.piece_on(m.from)) != type || m.to != to || m.promotion != promotion) continue;
    if ((from_file >= 0 && file_of(m.from) != from_file) || (from_rank >= 0 && rank_of(m.from) != from_rank)) continue;
    matches.push_back(m);
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    std::string list;
    for (Move m : legal) list += (list.empty() ? "" : " ") + to_san(position, m);
    return error("no legal move matches in " + position.fen() + " (legal: " + (list.empty() ? "none" : list) + ")");
  }
  std::string list;
  for (Move m : matches) list += (list.empty() ? "" : ", ") + to_san(position, m);
  return error("ambiguous: could be " + list);
}

std::string to_san(const Position& position, Move move) {
  const Piece moving = position.piece_on(move.from);
  const PieceType type = piece_type(moving);
  std::string out;
  if (type == kKing && (move.to == move.from + 2 || move.to + 2 == move.from)) {
    out = move.to > move.from ? "O-O" : "O-O-O";
  } else {
    const bool capture = position.piece_on(move.to) != kEmpty ||
                         (type == kPawn && move.to == position.en_passant_square());
    if (type == kPawn) {
      if (capture) out += static_cast<char>('a' + file_of(move.from));
    } else {
      out += "PNBRQK"[type];
      bool clash = false, same_file = false, same_rank = false;
      for (Move m : legal_moves(position)) {
        if (m.to != move.to || m.from == move.from || position.piece_on(m.from) != moving) continue;
        clash = true;
        same_file |= file_of(m.from) == file_of(move.from);
        same_rank |= rank_of(m.from) == rank_of(move.from);
      }
      if (clash && (!same_file || same_rank)) out += static_cast<char>('a' + file_of(move.from));
      if (clash && same_file) out += static_cast<char>('1' + rank_of(move.from));
    }
    if (capture) out += 'x';
    out += square_name(move.to);
    if (move.promotion != kPawn) out += std::string("=") + "PNBRQK"[move.promotion];
  }
  const Position after = position.play(move);
  if (after.in_check()) out += game_state(after) == GameState::kCheckmate ? '#' : '+';
  return out;
}

std::string PgnGame::tag(std::string_view name) const {
  for (const auto& [key, value] : tags)
    if (key == name) return value;
  return "";
}

std::vector<Position> PgnGame::positions() const {
  std::vector<Position> out{start};
  for (Move m : moves) out.push_back(out.back().play(m));
  return out;
}

Result<std::vector<PgnGame>> read_pgn(std::string_view text) { return PgnParser(text).parse(); }

Result<std::vector<PgnGame>> read_pgn_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("PGN file " + path + " cannot be opened (does it exist?)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::io_error("PGN file " + path + " cannot be read");
  auto games = read_pgn(text.str());
  if (!games.ok()) return games.status().with_context(path);
  return games;
}

}  // namespace wattlab::chess
