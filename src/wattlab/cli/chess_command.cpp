// `wattlab chess ...`: the chess-position recognition case study. perft and
// render need no LibTorch; recognise and study are added by
// add_chess_recognition_commands (chess_recognition_command.cpp with LibTorch,
// stand-ins without).
#include <chrono>
#include <cstdio>

#include "wattlab/chess/movegen.h"
#include "wattlab/chess/render.h"
#include "wattlab/cli/commands.h"

namespace wattlab::cli {

namespace {

constexpr const char* kStartFen = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

struct PerftOptions {
  std::string fen;
  int depth = 1;
  bool divide = false;
};

int run_perft(const PerftOptions& o) {
  if (o.depth < 0 || o.depth > 12) return report_error("DEPTH must be between 0 and 12 (got " + std::to_string(o.depth) + ")");
  auto position = chess::Position::from_fen(o.fen == "startpos" ? kStartFen : o.fen);
  if (!position.ok()) return report_error(position.status().message());
  const auto start = std::chrono::steady_clock::now();
  uint64_t nodes = 0;
  if (o.divide && o.depth > 0) {
    for (const auto& [move, count] : chess::perft_divide(*position, o.depth)) {
      std::printf("%s: %llu\n", chess::uci(move).c_str(), static_cast<unsigned long long>(count));
      nodes += count;
    }
    std::printf("\nNodes searched: %llu\n", static_cast<unsigned long long>(nodes));
  } else {
    nodes = chess::perft(*position, o.depth);
    std::printf("%llu\n", static_cast<unsigned long long>(nodes));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "perft(%d): %llu nodes in %.3f s (%.1f M nodes/s)\n", o.depth,
               static_cast<unsigned long long>(nodes), seconds, seconds > 0 ? nodes / seconds / 1e6 : 0.0);
  return 0;
}

struct RenderCommandOptions {
  std::string fen;
  std::string out;
  chess::RenderOptions render;
  std::vector<std::string> fonts;
};

int run_render(const RenderCommandOptions& o) {
  auto placement = read_placement(o.fen);
  if (!placement.ok()) return report_error(placement.status().message());
  chess::RenderOptions options = o.render;
  options.fonts = o.fonts;
  auto board = chess::render_board(*placement, options);
  if (!board.ok()) return report_error(board.status().message());
  if (Status s = chess::write_png(board->image, o.out); !s.ok()) return report_error(s.message());
  std::printf("%s: %dx%d, font %s, board corners a8 (%.1f, %.1f) h8 (%.1f, %.1f) h1 (%.1f, %.1f) a1 (%.1f, %.1f)\n",
              o.out.c_str(), board->image.width, board->image.height, board->font.c_str(), board->corners[0].x,
              board->corners[0].y, board->corners[1].x, board->corners[1].y, board->corners[2].x, board->corners[2].y,
              board->corners[3].x, board->corners[3].y);
  return 0;
}

}  // namespace

Result<chess::Placement> read_placement(const std::string& fen) {
  if (fen == "startpos") return chess::Position::start().placement();
  if (fen.find(' ') == std::string::npos) {
    auto placement = chess::parse_placement_fen(fen);
    if (!placement.ok()) return placement.status().with_context("FEN \"" + fen + "\"");
    if (Status s = chess::check_placement(*placement); !s.ok()) return s.with_context("FEN \"" + fen + "\"");
    return placement;
  }
  auto position = chess::Position::from_fen(fen);
  if (!position.ok()) return position.status();
  return position->placement();
}

void add_chess_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* chess = app.add_subcommand("chess", "The chess-position recognition case study: rules, renders, recognition");
  chess->require_subcommand(1);

  auto* perft = chess->add_subcommand("perft", "Count the leaf nodes of the legal move tree (checks move generation)");
  auto po = std::make_shared<PerftOptions>();
  perft->add_option("FEN", po->fen, "The position in FEN (quoted), or startpos")->required();
  perft->add_option("DEPTH", po->depth, "Plies to search")->required();
  perft->add_flag("--divide", po->divide, "Print each legal move's count (UCI order), as Stockfish's go perft does");
  perft->callback([po, exit_code] { *exit_code = run_perft(*po); });

  auto* render = chess->add_subcommand("render", "Draw a synthetic photo of a board (PNG) from a FEN");
  auto ro = std::make_shared<RenderCommandOptions>();
  render->add_option("FEN", ro->fen, "The position: a FEN (quoted), its placement field alone, or startpos")->required();
  render->add_option("--out", ro->out, "The PNG file to write")->required();
  render->add_option("--difficulty", ro->render.difficulty,
                     "0 (a clean diagram) to 1 (low contrast, rotated, warped, blurred, noisy)")
      ->capture_default_str();
  render->add_option("--seed", ro->render.seed, "Seed of every random choice")->capture_default_str();
  render->add_option("--font", ro->fonts, "dejavu, freeserif or a .ttf file; repeat to draw one at random (default: both)");
  render->add_option("--size", ro->render.image_size, "Image side in pixels")->capture_default_str();
  render->callback([ro, exit_code] { *exit_code = run_render(*ro); });

  add_chess_recognition_commands(*chess, global, exit_code);
}

}  // namespace wattlab::cli
