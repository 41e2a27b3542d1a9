// `wattlab chess ...`: the chess-position recognition case study. perft and
// render need no LibTorch; recognise and study are added by
// add_chess_recognition_commands (chess_recognition_command.cpp with LibTorch,
// stand-ins without).
#include <chrono>
#include <cstdio>

#include "wattlab/chess/movegen.h"
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

}  // namespace

void add_chess_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* chess = app.add_subcommand("chess", "The chess-position recognition case study: rules, renders, recognition");
  chess->require_subcommand(1);

  auto* perft = chess->add_subcommand("perft", "Count the leaf nodes of the legal move tree (checks move generation)");
  auto po = std::make_shared<PerftOptions>();
  perft->add_option("FEN", po->fen, "The position in FEN (quoted), or startpos")->required();
  perft->add_option("DEPTH", po->depth, "Plies to search")->required();
  perft->add_flag("--divide", po->divide, "Print each legal move's count (UCI order), as Stockfish's go perft does");
  perft->callback([po, exit_code] { *exit_code = run_perft(*po); });

  add_chess_recognition_commands(*chess, global, exit_code);
}

}  // namespace wattlab::cli
