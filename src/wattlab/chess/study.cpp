#include "wattlab/chess/study.h"

#include <cstdio>
#include <random>

#include "wattlab/chess/recognition.h"
#include "wattlab/chess/render.h"
#include "wattlab/chess/sampler.h"
#include "wattlab/infer/pipeline_bench.h"
#include "wattlab/track/client.h"

namespace wattlab::chess {

namespace {

struct Frame {
  Position truth;
  bool first_of_game = false;  // the start position: the temporal decoder starts from it
  Image image;
};

// The frames of one repetition at one difficulty: `games` random games, each
// seen from its start with some frames missed, rendered at `difficulty`.
Result<std::vector<Frame>> render_frames(const StudyOptions& o, int repetition, double difficulty) {
  std::mt19937_64 games_rng(o.seed + 7919ull * static_cast<uint64_t>(repetition));
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Frame> frames;
  for (int g = 0; g < o.games; ++g) {
    const std::vector<Position> game = random_game(games_rng, o.plies);
    for (size_t ply = 0; ply < game.size(); ++ply) {
      if (ply > 0 && unit(games_rng) < o.missed_frame_rate) continue;
      Frame f;
      f.truth = game[ply];
      f.first_of_game = ply == 0;
      RenderOptions render;
      render.difficulty = difficulty;
      render.fonts = o.fonts;
      render.seed = o.seed * 31 + static_cast<uint64_t>(repetition) * 1'000'003 + frames.size() * 7 +
                    static_cast<uint64_t>(difficulty * 1000) * 999'983;
      auto board = render_board(f.truth.placement(), render);
      if (!board.ok()) return board.status();
      f.image = std::move(board->image);
      frames.push_back(std::move(f));
    }
  }
  return frames;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Status track_row(const StudyOptions& o, StudyRow& row, const std::string& model_name) {
  const std::string name = row.decoder + "-d" + fixed(row.difficulty, 2) + "-r" + std::to_string(row.repetition);
  auto started = TrackingClient::start_run(o.logger, o.experiment, name);
  if (!started.ok()) return started.status().with_context("run " + name);
  TrackingClient& c = **started;
  row.run_id = c.run_id();
  c.set_tag("mlflow.runName", name);
  c.set_tag("wattlab.chess.decoder", row.decoder);
  c.set_tag("wattlab.chess.difficulty", fixed(row.difficulty, 2));
  c.set_tag("wattlab.chess.repetition", std::to_string(row.repetition));
  c.set_tag("wattlab.energy_estimated", row.energy.estimated ? "true" : "false");
  if (!o.trained_run_id.empty()) c.set_tag("wattlab.trained_run", o.trained_run_id);
  c.log_param("decoder", row.decoder);
  c.log_param("difficulty", fixed(row.difficulty, 2));
  c.log_param("repetition", std::to_string(row.repetition));
  c.log_param("model", model_name);
  c.log_param("model_path", o.model_path);
  c.log_param("games", std::to_string(o.games));
  c.log_param("plies", std::to_string(o.plies));
  c.log_param("missed_frame_rate", fixed(o.missed_frame_rate, 3));
  c.log_param("threads", std::to_string(o.threads));
  c.log_param("seed", std::to_string(o.seed));
  std::string fonts;
  for (const auto& f : o.fonts) fonts += (fonts.empty() ? "" : ",") + f;
  c.log_param("fonts", fonts.empty() ? "dejavu,freeserif" : fonts);
  c.set_tag("wattlab.chess.fonts", fonts.empty() ? "dejavu,freeserif" : fonts);
  const std::vector<std::pair<std::string, double>> metrics = {
      {"boards", static_cast<double>(row.boards)},
      {"square_accuracy", row.square_accuracy},
      {"board_exact_match", row.board_exact_match},
      {"square_errors", static_cast<double>(row.square_errors)},
      {"board_errors", static_cast<double>(row.board_errors)},
      {"fallbacks", static_cast<double>(row.fallbacks)},
      {"latency_p50_ms", row.latency.p50_ms},
      {"latency_p95_ms", row.latency.p95_ms},
      {"latency_p99_ms", row.latency.p99_ms},
      {"latency_mean_ms", row.latency.mean_ms},
      {"latency_locate_ms", row.locate_ms},
      {"latency_classify_ms", row.classify_ms},
      {"latency_decode_ms", row.decode_ms},
      {"boards_per_s", row.boards_per_s},
      {"boards_per_cpu_s", row.boards_per_cpu_s},
      {"energy_j", row.energy.energy_j},
      {"energy_per_board_j", row.energy_per_board_j},
      {"cpu_energy_attributed_per_board_j", row.energy.attributed_cpu_energy_j / static_cast<double>(row.boards)},
      {"energy_share_locate", row.locate_energy_share},
      {"energy_share_classify", row.classify_energy_share},
      {"energy_share_decode", row.decode_energy_share},
      {"duration_s", row.energy.duration_s},
  };
  for (const auto& [key, value] : metrics) c.log_metric(key, value);
  Status ended = c.end_run(RunStatus::kFinished);
  return ended.ok() ? ended : ended.with_context("run " + name);
}

}  // namespace

Result<std::vector<StudyRow>> run_chess_study(const StudyOptions& o, const std::function<void(const StudyRow&)>& on_row) {
  if (o.repetitions < 1 || o.games < 1 || o.plies < 0 || o.difficulties.empty())
    return Status::invalid_argument("the study needs at least one repetition, game and difficulty, and plies >= 0");
  if (!(o.missed_frame_rate >= 0 && o.missed_frame_rate < 1))
    return Status::invalid_argument("the missed frame rate must be in [0, 1)");
  auto recogniser = Recogniser::load(o.model_path);
  if (!recogniser.ok()) return recogniser.status();
  Recogniser& r = **recogniser;
  const int previous_threads = set_inference_threads(o.threads);
  std::vector<StudyRow> rows;
  Status failed;
  for (int rep = 0; rep < o.repetitions && failed.ok(); ++rep) {
    for (double difficulty : o.difficulties) {
      auto rendered = render_frames(o, rep, difficulty);
      if (!rendered.ok()) {
        failed = rendered.status();
        break;
      }
      const std::vector<Frame>& frames = *rendered;
      const size_t n = frames.size();
      std::vector<BoardLocation> locations(n);
      std::vector<std::vector<uint8_t>> crops(n);
      std::vector<ProbabilityGrid> probabilities(n);
      std::vector<Recognition> decoded(n);
      for (Decoder decoder : {Decoder::kIndependent, Decoder::kConstrained, Decoder::kTemporal}) {
        Position previous = Position::start();
        std::vector<PipelineStage> stages = {
            {"locate", [&](int64_t i) { return r.locate(frames[i].image, &locations[i], &crops[i]); }},
            {"classify", [&](int64_t i) { return r.classify(crops[i], &probabilities[i]); }},
            {"decode",
             [&](int64_t i) {
               if (frames[i].first_of_game) previous = Position::start();
               auto d = Recogniser::decode(probabilities[i], decoder, &previous);
               if (!d.ok()) return d.status();
               if (d->position) previous = *d->position;
               decoded[i] = std::move(*d);
               return Status();
             }},
        };
        PipelineBenchOptions bench;
        bench.items = static_cast<int64_t>(n);
        bench.warmup_items = std::min<int64_t>(2, bench.items);
        bench.monitor = o.monitor;
        auto result = bench_pipeline(stages, bench);
        if (!result.ok()) {
          failed = result.status();
          break;
        }
        StudyRow row;
        row.decoder = decoder_name(decoder);
        row.difficulty = difficulty;
        row.repetition = rep;
        row.boards = static_cast<int64_t>(n);
        for (size_t i = 0; i < n; ++i) {
          int wrong = 0;
          for (int s = 0; s < 64; ++s) wrong += decoded[i].placement[s] != frames[i].truth.piece_on(s);
          row.square_errors += wrong;
          row.board_errors += wrong > 0;
          row.fallbacks += decoded[i].fell_back;
        }
        row.square_accuracy = 1 - static_cast<double>(row.square_errors) / (64.0 * row.boards);
        row.board_exact_match = 1 - static_cast<double>(row.board_errors) / row.boards;
        row.latency = result->latency;
        row.locate_ms = result->stages[0].latency.mean_ms;
        row.classify_ms = result->stages[1].latency.mean_ms;
        row.decode_ms = result->stages[2].latency.mean_ms;
        row.locate_energy_share = result->stages[0].energy_share;
        row.classify_energy_share = result->stages[1].energy_share;
        row.decode_energy_share = result->stages[2].energy_share;
        row.boards_per_s = result->items_per_s;
        row.boards_per_cpu_s = result->items_per_cpu_s;
        row.energy = result->energy;
        row.energy_per_board_j = result->energy_per_item_j;
        if (o.logger) {
          failed = track_row(o, row, r.classifier().info().model);
          if (!failed.ok()) break;
        }
        if (on_row) on_row(row);
        rows.push_back(std::move(row));
      }
      if (!failed.ok()) break;
    }
  }
  set_inference_threads(previous_threads);
  if (!failed.ok()) return failed;
  return rows;
}

}  // namespace wattlab::chess
