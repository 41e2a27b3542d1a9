// How fast `wattlab estimate` answers from a store of many runs: 10,000
// finished training runs (60 configurations; analysis/estimation_testing.h
// writes them, on this machine's CPU model so that PRE applies) in a SQLite
// store, then
//   - the first estimate, which fits PRE and stores it (once per new runs),
//   - estimate_training with the stored model: median and p95 of N calls,
//     alone and with every environment compared,
//   - with --wattlab PATH, the whole `wattlab estimate` process, beside
//     `wattlab --version` (what starting the binary costs by itself).
//
//   estimate_bench [--runs 10000] [--iterations 20] [--wattlab build/wattlab]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wattlab/analysis/estimate.h"
#include "wattlab/analysis/estimation_testing.h"
#include "wattlab/core/env.h"
#include "wattlab/track/environment.h"

using namespace wattlab;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Timing {
  double median_ms, p95_ms;
};

Timing summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * static_cast<double>(ms.size())))]};
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10000, iterations = 20;
  std::string wattlab;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--iterations")) iterations = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--wattlab")) wattlab = argv[i + 1];
  }
  EnvironmentExtras extras;
  extras.git_work_dir = "/";
  const auto here = collect_environment(Env::system(), extras);
  const PreEnvironment machine = environment_of_snapshot(here);
  std::printf("CPU: %s (%d logical CPUs)\n", machine.cpu_model.c_str(), machine.cpu_count);

  testing::TempFolder folder("wattlab-estimate-bench");
  const std::string path = folder.file("runs.db");
  auto store = Store::open(path);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().message().c_str()), 1;
  double t0 = now_ms();
  int64_t end = 1'700'000'000'000;
  const char* models[] = {"cnn", "lenet5", "resnet18"};
  const int64_t sizes[] = {1000, 2000, 4000, 8000, 16000};
  for (int i = 0; i < runs; ++i) {
    testing::SyntheticTraining t;
    t.model = models[i % 3];
    t.threads = 1 + (i / 3) % 2;
    t.train_images = sizes[(i / 6) % 5];
    t.batch_size = (i / 30) % 2 ? 128 : 64;
    t.noise = 0.02 * (((i * 7919) % 5) - 2) / 2;
    t.cpu_model = machine.cpu_model;
    t.hostname = machine.hostname;
    t.cpu_count = machine.cpu_count;
    t.ram_gib = machine.ram_gib;
    t.end_time_ms = end += 1000;
    if (testing::add_synthetic_training(**store, t).empty()) return std::fprintf(stderr, "cannot write run %d\n", i), 1;
  }
  std::printf("wrote %d runs in %.1f s\n", runs, (now_ms() - t0) / 1000);

  PreWorkload query;
  query.shape = {"resnet18", 1.0, 1, 28, 28, 10};
  query.train_images = 3000;
  query.test_images = 1000;
  query.environment = machine;
  query.environment.threads = 2;
  EstimateOptions options;
  options.epochs = 10;
  SystemClock clock;
  t0 = now_ms();
  auto first = estimate_training(**store, query, testing::fake_model_cost, std::nullopt, options, clock);
  if (!first.ok()) return std::fprintf(stderr, "%s\n", first.status().message().c_str()), 1;
  std::printf("first estimate (collects %d runs, fits and stores PRE): %.0f ms — %s; %s\n", runs, now_ms() - t0,
              first->model_note.c_str(), first->estimates[0].method_text.c_str());

  for (bool compare : {false, true}) {
    std::vector<double> ms;
    for (int i = 0; i < iterations; ++i) {
      t0 = now_ms();
      auto report = estimate_training(**store, query, testing::fake_model_cost,
                                      compare ? std::optional(std::vector<std::string>{}) : std::nullopt, options, clock);
      ms.push_back(now_ms() - t0);
      if (!report.ok()) return std::fprintf(stderr, "%s\n", report.status().message().c_str()), 1;
    }
    const Timing t = summarise(ms);
    std::printf("estimate_training with the stored model%s: median %.1f ms, p95 %.1f ms (%d calls)\n",
                compare ? ", every environment compared" : "", t.median_ms, t.p95_ms, iterations);
  }
  if (!wattlab.empty()) {
    const std::string estimate = wattlab + " --store " + path +
                                 " estimate --model resnet18 --subset 3000 --test-subset 1000 --epochs 10 --threads 2 "
                                 "--format json > /dev/null";
    const std::string version = wattlab + " --version > /dev/null";
    for (const auto& [name, command] : {std::pair{"wattlab estimate (process)", estimate},
                                        std::pair{"wattlab --version (process start alone)", version}}) {
      std::vector<double> ms;
      for (int i = 0; i < 5; ++i) {
        t0 = now_ms();
        if (std::system(command.c_str()) != 0) return std::fprintf(stderr, "failed: %s\n", command.c_str()), 1;
        ms.push_back(now_ms() - t0);
      }
      const Timing t = summarise(ms);
      std::printf("%s: median %.0f ms (5 runs)\n", name, t.median_ms);
    }
  }
  return 0;
}
