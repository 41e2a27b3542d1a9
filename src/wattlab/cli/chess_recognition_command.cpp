// `wattlab chess train`, `chess recognise` and `chess study`: the parts of the
// chess case study that need LibTorch (a square classifier).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "wattlab/chess/recognition.h"
#include "wattlab/chess/study.h"
#include "wattlab/cli/commands.h"
#include "wattlab/cli/meter_notes.h"
#include "wattlab/cli/saved_model_source.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/training_progress.h"
#include "wattlab/energy/meters.h"
#include "wattlab/run/tracked_training.h"
#include "wattlab/track/client.h"

namespace wattlab::cli {

namespace {

// --model DIR or --run RUN_ID, as the recognition commands take them.
struct ModelChoice {
  std::string model_path;
  std::string run_id;
  std::string artifacts_dir;
};

void add_model_options(CLI::App* cmd, ModelChoice* m) {
  cmd->add_option("--model", m->model_path, "The square classifier's folder (model.json and model.pt)");
  cmd->add_option("--run", m->run_id, "The `wattlab chess train` run whose model to use (id or 6+ leading hex digits)");
  cmd->add_option("--artifacts", m->artifacts_dir, "The tracking server's artifact folder, as for train");
}

Result<std::string> resolve_model(const GlobalOptions& global, const ModelChoice& m) {
  if (m.model_path.empty() == m.run_id.empty())
    return Status::invalid_argument("give the square classifier with --model DIR or --run RUN_ID (one of them; "
                                    "train one with wattlab chess train)");
  if (!m.model_path.empty()) return m.model_path;
  return model_dir_of_run(global, m.run_id, m.artifacts_dir);
}

// ---- chess train ----

struct ChessTrainOptions {
  chess::SquareDataOptions squares;
  int test_boards = 200;
  TrackedTrainingOptions tracked;
  std::string tracking_uri;
};

int run_chess_train(const GlobalOptions& global, ChessTrainOptions o) {
  o.squares.seed = o.tracked.train.seed;
  if (o.test_boards < 1) return report_error("--test-boards must be at least 1");
  o.tracked.train.data_dir = "rendered by wattlab chess train";
  if (Status s = validate(o.tracked.train); !s.ok()) return report_error(s.message());
  std::fprintf(stderr, "wattlab: rendering %d training and %d test boards\n", o.squares.boards, o.test_boards);
  auto train = chess::render_square_dataset(o.squares);
  if (!train.ok()) return report_error(train.status().message());
  chess::SquareDataOptions test_squares = o.squares;
  test_squares.boards = o.test_boards;
  test_squares.seed = o.squares.seed + 1'000'003;  // other positions and renders
  auto test = chess::render_square_dataset(test_squares);
  if (!test.ok()) return report_error(test.status().message());
  TrainData data;
  data.dataset = "chess-squares";
  data.train = std::move(*train);
  data.test = std::move(*test);
  auto destination = open_run_destination(global, o.tracking_uri);
  if (!destination.ok()) return report_error(destination.status().message());
  TerminalTrainingReporter reporter(true);
  auto summary = run_tracked_training(*destination->logger, o.tracked, data, &reporter);
  if (!summary.ok()) return report_error(summary.status().message());
  // What the squares were rendered from, beside the trainer's own params.
  TrackingClient client(destination->logger.get(), summary->run_id);
  client.set_tag("wattlab.chess.role", "square-classifier");
  client.log_param("chess_boards", std::to_string(o.squares.boards));
  client.log_param("chess_test_boards", std::to_string(o.test_boards));
  client.log_param("chess_difficulty", format_number(o.squares.min_difficulty, 2) + "-" + format_number(o.squares.max_difficulty, 2));
  std::string fonts;
  for (const auto& f : o.squares.fonts) fonts += (fonts.empty() ? "" : ",") + f;
  client.log_param("chess_fonts", fonts.empty() ? "dejavu,freeserif" : fonts);
  client.log_param("chess_empty_keep", format_number(o.squares.empty_keep, 2));
  if (Status s = client.flush(); !s.ok()) std::fprintf(stderr, "wattlab: note: %s\n", s.message().c_str());
  const double accuracy = summary->epochs.empty() ? NAN : summary->epochs.back().accuracy;
  std::printf("run %s %s: square accuracy %.4f on %lld test squares; use it with --run %s\n", summary->run_id.c_str(),
              run_status_name(summary->status), accuracy, static_cast<long long>(data.test.count),
              summary->run_id.c_str());
  return summary->status == RunStatus::kFinished ? 0 : 1;
}

// ---- chess recognise ----

struct RecogniseOptions {
  std::string image;
  ModelChoice model;
  std::string previous;
  std::string decoder;  // empty: temporal with --previous, else constrained
};

int run_recognise(const GlobalOptions& global, const RecogniseOptions& o) {
  std::optional<chess::Position> previous;
  if (!o.previous.empty()) {
    auto p = chess::Position::from_fen(o.previous == "startpos" ? chess::Position::start().fen() : o.previous);
    if (!p.ok()) return report_error("--previous: " + p.status().message());
    previous = *p;
  }
  auto decoder = chess::parse_decoder(o.decoder.empty() ? (previous ? "temporal" : "constrained") : o.decoder);
  if (!decoder.ok()) return report_error("--decoder: " + decoder.status().message());
  auto dir = resolve_model(global, o.model);
  if (!dir.ok()) return report_error(dir.status().message());
  auto image = chess::read_image(o.image);
  if (!image.ok()) return report_error(image.status().message());
  auto recogniser = chess::Recogniser::load(*dir);
  if (!recogniser.ok()) return report_error(recogniser.status().message());
  auto r = (*recogniser)->recognise(*image, *decoder, previous ? &*previous : nullptr);
  if (!r.ok()) return report_error(o.image + ": " + r.status().message());
  if (r->position) {
    std::printf("%s\n", r->position->fen().c_str());
  } else {
    std::printf("%s w - - 0 1\n", chess::placement_fen(r->placement).c_str());
    std::fprintf(stderr, "wattlab: note: an image does not show the side to move, castling rights or en passant "
                         "square; assumed \"w - -\" (give --previous FEN to follow a game)\n");
  }
  if (!r->note.empty()) std::fprintf(stderr, "wattlab: %s decoder: %s\n", decoder_name(*decoder), r->note.c_str());
  return 0;
}

// ---- chess study ----

struct StudyCommandOptions {
  chess::StudyOptions study;
  ModelChoice model;
  MeterOptions meter;
  std::string format = "table";
  std::string tracking_uri;
};

struct Aggregate {
  std::vector<double> square_accuracy, exact_match, latency_p50_ms, boards_per_s, boards_per_cpu_s, energy_per_board_j,
      attributed_per_board_j, locate_ms,
      classify_ms, decode_ms;
  int64_t boards = 0, fallbacks = 0;
  bool estimated = false;
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / v.size();
}
double sd(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / (v.size() - 1));
}

int run_study(const GlobalOptions& global, StudyCommandOptions o) {
  if (o.format != "table" && o.format != "json") return report_error("--format must be table or json");
  auto dir = resolve_model(global, o.model);
  if (!dir.ok()) return report_error(dir.status().message());
  o.study.model_path = *dir;
  o.study.trained_run_id = o.model.run_id;
  Env& env = Env::system();
  auto opened = open_command_monitor(env, o.meter, /*quiet=*/false);
  if (!opened.ok()) return report_error(opened.status().message());
  Monitor& monitor = *opened->monitor;
  if (Status s = monitor.start(); !s.ok()) return report_error(s.message());
  auto destination = open_run_destination(global, o.tracking_uri);
  if (!destination.ok()) return report_error(destination.status().message());
  o.study.logger = destination->logger.get();
  o.study.monitor = &monitor;

  auto rows = chess::run_chess_study(o.study, [&](const chess::StudyRow& row) {
    std::fprintf(stderr, "wattlab: %-11s difficulty %.2f repetition %d: %lld boards, squares %.4f, boards %.4f, "
                         "%.1f boards/s (%.1f per CPU s), run %s\n",
                 row.decoder.c_str(), row.difficulty, row.repetition, static_cast<long long>(row.boards),
                 row.square_accuracy, row.board_exact_match, row.boards_per_s, row.boards_per_cpu_s, row.run_id.c_str());
  });
  monitor.stop();
  if (!rows.ok()) return report_error(rows.status().message());

  std::map<std::pair<double, std::string>, Aggregate> groups;
  std::vector<std::pair<double, std::string>> order;
  for (const auto& row : *rows) {
    auto key = std::make_pair(row.difficulty, row.decoder);
    if (!groups.count(key)) order.push_back(key);
    Aggregate& a = groups[key];
    a.square_accuracy.push_back(row.square_accuracy);
    a.exact_match.push_back(row.board_exact_match);
    a.latency_p50_ms.push_back(row.latency.p50_ms);
    a.boards_per_s.push_back(row.boards_per_s);
    a.boards_per_cpu_s.push_back(row.boards_per_cpu_s);
    a.energy_per_board_j.push_back(row.energy_per_board_j);
    a.attributed_per_board_j.push_back(row.energy.attributed_cpu_energy_j / static_cast<double>(row.boards));
    a.locate_ms.push_back(row.locate_ms);
    a.classify_ms.push_back(row.classify_ms);
    a.decode_ms.push_back(row.decode_ms);
    a.boards += row.boards;
    a.fallbacks += row.fallbacks;
    a.estimated |= row.energy.estimated;
  }
  if (o.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : *rows)
      out.push_back({{"decoder", row.decoder}, {"difficulty", row.difficulty}, {"repetition", row.repetition},
                     {"boards", row.boards}, {"square_accuracy", row.square_accuracy},
                     {"board_exact_match", row.board_exact_match}, {"fallbacks", row.fallbacks},
                     {"latency_p50_ms", row.latency.p50_ms}, {"latency_p95_ms", row.latency.p95_ms},
                     {"latency_p99_ms", row.latency.p99_ms}, {"locate_ms", row.locate_ms},
                     {"classify_ms", row.classify_ms}, {"decode_ms", row.decode_ms},
                     {"boards_per_s", row.boards_per_s}, {"boards_per_cpu_s", row.boards_per_cpu_s},
                     {"energy_per_board_j", row.energy_per_board_j},
                     {"cpu_energy_attributed_per_board_j", row.energy.attributed_cpu_energy_j / static_cast<double>(row.boards)},
                     {"energy_estimated", row.energy.estimated}, {"run_id", row.run_id}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  TextTable table({"difficulty", "decoder", "boards", "square acc.", "board exact", "p50 ms/board", "locate/classify/decode ms",
                   "boards/s", "boards/CPU s", "J/board", "CPU J/board (ours)", "fallbacks"},
                  {true, false, true, true, true, true, true, true, true, true, true, true});
  for (const auto& key : order) {
    const Aggregate& a = groups[key];
    table.add_row({format_number(key.first, 2), key.second, std::to_string(a.boards),
                   format_number(100 * mean(a.square_accuracy), 3) + " %",
                   format_number(100 * mean(a.exact_match), 1) + " ± " + format_number(100 * sd(a.exact_match), 1) + " %",
                   format_number(mean(a.latency_p50_ms), 2),
                   format_number(mean(a.locate_ms), 2) + " / " + format_number(mean(a.classify_ms), 2) + " / " +
                       format_number(mean(a.decode_ms), 3),
                   format_number(mean(a.boards_per_s), 1), format_number(mean(a.boards_per_cpu_s), 1), format_number(mean(a.energy_per_board_j), 4) + (a.estimated ? " (est.)" : ""),
                   format_number(mean(a.attributed_per_board_j), 4),
                   std::to_string(a.fallbacks)});
  }
  std::ostringstream text;
  table.print(text);
  std::printf("%s", text.str().c_str());
  std::printf("means over %d repetition(s) (± their standard deviation); J/board is the machine's, CPU J/board "
              "(ours) the CPU energy attributed to this process by its CPU-time share; runs in experiment \"%s\" of "
              "%s, tagged wattlab.chess.decoder / wattlab.chess.difficulty / wattlab.chess.repetition\n",
              o.study.repetitions, o.study.experiment.c_str(), destination->description.c_str());
  return 0;
}

}  // namespace

void add_chess_recognition_commands(CLI::App& chess, const GlobalOptions& global, int* exit_code) {
  auto* train = chess.add_subcommand("train", "Train the 13-class square classifier on rendered boards (a tracked run)");
  auto to = std::make_shared<ChessTrainOptions>();
  to->tracked.experiment = "chess";
  to->tracked.train.model = "cnn";
  to->tracked.train.width_multiplier = 0.5;
  to->tracked.train.epochs = 6;
  to->tracked.train.batch_size = 128;
  to->tracked.train.learning_rate = 2e-3;
  to->squares.boards = 2000;
  train->add_option("--boards", to->squares.boards, "Boards rendered for training")->capture_default_str();
  train->add_option("--test-boards", to->test_boards, "Boards rendered for the test split")->capture_default_str();
  train->add_option("--min-difficulty", to->squares.min_difficulty, "Each board's difficulty is uniform in [min, max]")
      ->capture_default_str();
  train->add_option("--max-difficulty", to->squares.max_difficulty)->capture_default_str();
  train->add_option("--font", to->squares.fonts, "dejavu, freeserif or a .ttf file; repeat for several (default: both)");
  train->add_option("--empty-keep", to->squares.empty_keep, "Share of empty squares kept")->capture_default_str();
  train->add_option("--model", to->tracked.train.model, "Zoo model (wattlab models)")->capture_default_str();
  train->add_option("--width-multiplier", to->tracked.train.width_multiplier)->capture_default_str();
  train->add_option("--epochs", to->tracked.train.epochs)->capture_default_str();
  train->add_option("--batch-size", to->tracked.train.batch_size)->capture_default_str();
  train->add_option("--lr", to->tracked.train.learning_rate)->capture_default_str();
  train->add_option("--threads", to->tracked.train.threads)->capture_default_str();
  train->add_option("--seed", to->tracked.train.seed, "Positions, renders and the training")->capture_default_str();
  train->add_option("--experiment", to->tracked.experiment)->capture_default_str();
  train->add_option("--run-name", to->tracked.run_name);
  train->add_option("--meter", to->tracked.meter.kind, "auto, rapl, nvml or estimate")->capture_default_str();
  train->add_option("--artifacts", to->tracked.artifacts_dir, "The tracking server's artifact folder, as for train");
  add_tracking_uri_option(train, &to->tracking_uri);
  train->callback([&global, to, exit_code] { *exit_code = run_chess_train(global, *to); });

  auto* recognise = chess.add_subcommand("recognise", "Read the position from a board image: prints its FEN");
  auto ro = std::make_shared<RecogniseOptions>();
  recognise->add_option("IMAGE", ro->image, "A PNG or JPEG of the board, White playing up the image")->required();
  add_model_options(recognise, &ro->model);
  recognise->add_option("--previous", ro->previous,
                        "The position before (FEN or startpos): the next one is it or a legal successor 1-2 plies on");
  recognise->add_option("--decoder", ro->decoder,
                        "independent, constrained or temporal (default: temporal with --previous, else constrained)");
  recognise->callback([&global, ro, exit_code] { *exit_code = run_recognise(global, *ro); });

  auto* study = chess.add_subcommand("study", "The experiment: every decoder at each difficulty, tracked as runs");
  auto so = std::make_shared<StudyCommandOptions>();
  add_model_options(study, &so->model);
  study->add_option("--difficulties", so->study.difficulties, "Difficulty levels, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  study->add_option("--repetitions", so->study.repetitions)->capture_default_str();
  study->add_option("--games", so->study.games, "Games per repetition and difficulty")->capture_default_str();
  study->add_option("--plies", so->study.plies, "Moves per game")->capture_default_str();
  study->add_option("--missed-frames", so->study.missed_frame_rate, "Share of frames the camera misses")->capture_default_str();
  study->add_option("--seed", so->study.seed)->capture_default_str();
  study->add_option("--font", so->study.fonts, "Render fonts (default: dejavu and freeserif)");
  study->add_option("--threads", so->study.threads, "LibTorch intra-op threads")->capture_default_str();
  study->add_option("--experiment", so->study.experiment)->capture_default_str();
  study->add_option("--meter", so->meter.kind, "auto, rapl, nvml or estimate")->capture_default_str();
  study->add_option("--format", so->format, "table or json")->capture_default_str();
  add_tracking_uri_option(study, &so->tracking_uri);
  study->callback([&global, so, exit_code] { *exit_code = run_study(global, *so); });
}

}  // namespace wattlab::cli
