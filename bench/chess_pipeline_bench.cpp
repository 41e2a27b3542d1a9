// Where a board's CPU time goes in chess recognition: renders boards at one
// difficulty, then times each stage of the pipeline over all of them on this
// thread's CPU clock (one LibTorch thread): grey conversion, board
// localisation, square extraction, the classifier's forward pass and the
// three decoders. Every figure is the median over --rounds of the stage's CPU
// milliseconds per board; the stages are interleaved within each round, so a
// noisy neighbour slows all of them alike. The last line is boards per CPU
// second of the whole pipeline (grey + locate + extract + classify + the
// constrained decoder), the study's measure. Then how many of the
// independent decoder's wrong boards break a static rule (what the
// constrained decoder can notice) and how many of those it puts right.
//
//   build/bench/chess_pipeline_bench --model DIR [--boards 60] [--difficulty 1] [--rounds 7] [--repeat STAGE]
//
// --repeat STAGE runs that stage alone for --rounds more rounds after the
// measured ones: a loop for a profiler (perf record) to sample.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/chess/recognition.h"
#include "wattlab/chess/render.h"
#include "wattlab/chess/sampler.h"

namespace {

using namespace wattlab::chess;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void fail(const std::string& what) {
  std::fprintf(stderr, "chess_pipeline_bench: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, repeat;
  int boards = 60, rounds = 7;
  double difficulty = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--boards")) boards = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--difficulty")) difficulty = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = argv[i + 1];
    else fail(std::string("unknown option ") + argv[i]);
  }
  if (model.empty() || boards < 1 || rounds < 1) fail("usage: --model DIR [--boards N] [--difficulty D] [--rounds R]");
  auto loaded = Recogniser::load(model);
  if (!loaded.ok()) fail(loaded.status().message());
  Recogniser& recogniser = **loaded;
  wattlab::set_inference_threads(1);

  const std::vector<Position> positions = sample_random_positions(boards, 4242);
  std::vector<Image> images;
  for (int b = 0; b < boards; ++b) {
    RenderOptions render;
    render.difficulty = difficulty;
    render.seed = 777 + static_cast<uint64_t>(b);
    auto board = render_board(positions[b].placement(), render);
    if (!board.ok()) fail(board.status().message());
    images.push_back(std::move(board->image));
  }

  const size_t n = images.size();
  std::vector<Image> greys(n);
  std::vector<BoardLocation> locations(n);
  std::vector<std::vector<uint8_t>> crops(n, std::vector<uint8_t>(64 * kSquarePx * kSquarePx));
  std::vector<ProbabilityGrid> probabilities(n);
  int64_t errors = 0;
  const std::vector<std::pair<std::string, std::function<void(size_t)>>> stages = {
      {"grey", [&](size_t i) { greys[i] = to_grey(images[i]); }},
      {"locate",
       [&](size_t i) {
         auto l = locate_board(greys[i]);
         if (!l.ok()) fail(l.status().message());
         locations[i] = *l;
       }},
      {"extract", [&](size_t i) { extract_squares(greys[i], locations[i], kSquarePx, kSquareMargin, crops[i].data()); }},
      {"classify",
       [&](size_t i) {
         if (auto s = recogniser.classify(crops[i], &probabilities[i]); !s.ok()) fail(s.message());
       }},
      {"independent", [&](size_t i) { errors += decode_independent(probabilities[i]) != positions[i].placement(); }},
      {"constrained",
       [&](size_t i) { errors += decode_constrained(probabilities[i]).placement != positions[i].placement(); }},
      {"temporal", [&](size_t i) { decode_temporal(probabilities[i], positions[i]); }},
  };
  std::vector<std::vector<double>> ms(stages.size());
  for (int r = 0; r < rounds + 1; ++r) {
    errors = 0;
    for (size_t k = 0; k < stages.size(); ++k) {
      const double start = thread_cpu_s();
      for (size_t i = 0; i < n; ++i) stages[k].second(i);
      if (r > 0) ms[k].push_back((thread_cpu_s() - start) * 1000 / static_cast<double>(n));  // round 0 warms up
    }
  }
  std::printf("%d boards at difficulty %.2f, %d rounds; CPU ms per board (median)\n", boards, difficulty, rounds);
  double pipeline_ms = 0;
  for (size_t k = 0; k < stages.size(); ++k) {
    const double m = median(ms[k]);
    std::printf("  %-12s %8.3f\n", stages[k].first.c_str(), m);
    if (k <= 3 || stages[k].first == "constrained") pipeline_ms += m;
  }
  // Whether two builds locate and cut out the same squares, bit for bit.
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  auto mix = [&](const void* data, size_t bytes) {
    for (size_t b = 0; b < bytes; ++b) hash = (hash ^ static_cast<const uint8_t*>(data)[b]) * 1099511628211ull;
  };
  for (size_t i = 0; i < n; ++i) {
    mix(locations[i].corners.data(), sizeof locations[i].corners);
    mix(crops[i].data(), crops[i].size());
    mix(probabilities[i].data(), sizeof probabilities[i]);
  }
  std::printf("checksum of corners, crops and probabilities: %016llx\n", static_cast<unsigned long long>(hash));
  std::printf("board errors (independent + constrained): %lld of %zu\n", static_cast<long long>(errors), 2 * n);
  // What static rules can see: of the boards the independent decoder gets
  // wrong, those whose reading breaks one (check_placement) are the only ones
  // the constrained decoder can notice.
  int wrong = 0, rule_breaking = 0, put_right = 0;
  for (size_t i = 0; i < n; ++i) {
    const Placement independent = decode_independent(probabilities[i]);
    if (independent == positions[i].placement()) continue;
    ++wrong;
    rule_breaking += !check_placement(independent).ok();
    put_right += decode_constrained(probabilities[i]).placement == positions[i].placement();
  }
  std::printf("independent decoder: %d of %zu boards wrong; %d of those break a static rule, and the constrained "
              "decoder puts %d right\n", wrong, n, rule_breaking, put_right);
  std::printf("pipeline (grey+locate+extract+classify+constrained): %.3f ms, %.1f boards per CPU s\n", pipeline_ms,
              1000 / pipeline_ms);
  for (size_t k = 0; k < stages.size(); ++k)
    if (stages[k].first == repeat)
      for (int r = 0; r < rounds; ++r)
        for (size_t i = 0; i < n; ++i) stages[k].second(i);
  return 0;
}
