// The chess case study's experiment: held-out games rendered at several
// difficulty levels are recognised frame by frame with each decoder, and
// every (decoder, difficulty, repetition) is measured for correctness
// (square accuracy, board exact-match), latency per stage and energy per
// board, and tracked as a run whose tags the statistics can group by:
//   wattlab.chess.decoder     independent | constrained | temporal
//   wattlab.chess.difficulty  the difficulty, e.g. "1.00"
//   wattlab.chess.repetition  0, 1, ...
//   wattlab.chess.fonts       the render fonts (a font unseen in training is a domain shift)
//   wattlab.trained_run       the run that trained the classifier (when known)
// The decoders of one repetition see the same images (a paired design); each
// repetition renders other games with other seeds. The API is free of LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/infer/latency.h"
#include "wattlab/track/run_logger.h"

namespace wattlab::chess {

struct StudyOptions {
  std::string model_path;          // the square classifier (Recogniser::load)
  std::string trained_run_id;      // recorded as the runs' wattlab.trained_run tag; may be empty
  std::vector<double> difficulties = {0.2, 1.0};
  int repetitions = 5;
  int games = 6;                   // games per repetition and difficulty
  int plies = 30;                  // moves played per game (random legal moves)
  // Share of frames the camera misses: the next frame is then two plies on
  // (the temporal decoder's two-ply candidates), or more when several are
  // missed in a row (its fallback). The first frame of a game (the start
  // position) is never missed.
  double missed_frame_rate = 0.1;
  uint64_t seed = 1'000'000;       // games and renders; keep it away from the training seeds
  std::vector<std::string> fonts;  // render fonts; empty: dejavu and freeserif
  int threads = 1;                 // LibTorch intra-op threads
  std::string experiment = "chess-study";
  RunLogger* logger = nullptr;     // where runs are tracked; null: not tracked
  Monitor* monitor = nullptr;      // started; meters each stage; null: latency only
};

// One (decoder, difficulty, repetition).
struct StudyRow {
  std::string decoder;
  double difficulty = 0;
  int repetition = 0;
  int64_t boards = 0;
  int64_t square_errors = 0;       // squares whose class differs from the truth
  int64_t board_errors = 0;        // boards with at least one such square
  double square_accuracy = 0;      // 1 - square_errors / (64 boards)
  double board_exact_match = 0;    // 1 - board_errors / boards
  int64_t fallbacks = 0;           // temporal only: frames decoded by the constrained fallback
  LatencySummary latency;          // per board, end to end (locate + classify + decode)
  double locate_ms = 0;            // mean latency per board of each stage
  double classify_ms = 0;
  double decode_ms = 0;
  double boards_per_s = 0;         // boards / the summed latency of their stages
  double boards_per_cpu_s = 0;     // boards / the study thread's CPU time (one thread: the rate on an unshared core)
  EnergyMeasurement energy;        // all stages, all boards
  double energy_per_board_j = 0;   // machine-wide
  double locate_energy_share = 0;  // of energy.energy_j
  double classify_energy_share = 0;
  double decode_energy_share = 0;
  std::string run_id;              // the tracked run, when options.logger was given
};

// Runs the study, calling `on_row` (when set) after each row. Errors: the
// recogniser's load errors, render and pipeline errors, a failed run
// logging (the message names the run).
Result<std::vector<StudyRow>> run_chess_study(const StudyOptions& options,
                                              const std::function<void(const StudyRow&)>& on_row = {});

}  // namespace wattlab::chess
