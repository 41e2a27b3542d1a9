// Store ingest: log_batch points per second on SQLite and PostgreSQL, in the
// same run. PostgreSQL is measured when a server URI is given:
//   scripts/with_postgres.sh build/bench/store_bench          (uses WATTLAB_TEST_POSTGRES_URI)
//   build/bench/store_bench postgresql://user@host/db          (an existing, empty database)
// Each back end gets 5 runs x 20 batches x 1,000 points (MLflow's batch limit);
// the median batch time is reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "wattlab/track/store.h"

namespace {

constexpr int kRuns = 5;
constexpr int kBatchesPerRun = 20;
constexpr int kPointsPerBatch = 1000;

int measure(const char* label, const std::string& location) {
  auto store = wattlab::Store::open(location);
  if (!store.ok()) {
    std::fprintf(stderr, "%s: %s\n", label, store.status().to_string().c_str());
    return 1;
  }
  auto exp = (*store)->get_or_create_experiment("store_bench");
  if (!exp.ok()) {
    std::fprintf(stderr, "%s: %s\n", label, exp.status().to_string().c_str());
    return 1;
  }
  std::vector<double> batch_s;
  for (int r = 0; r < kRuns; ++r) {
    auto run = (*store)->create_run(*exp, "bench", 0);
    if (!run.ok()) return 1;
    for (int b = 0; b < kBatchesPerRun; ++b) {
      std::vector<wattlab::Metric> batch;
      for (int i = 0; i < kPointsPerBatch; ++i) {
        const int step = b * kPointsPerBatch + i;
        batch.push_back({i % 2 ? "loss" : "power_w", 1.0 / (1 + step), 1'700'000'000'000 + step, step});
      }
      const auto t0 = std::chrono::steady_clock::now();
      wattlab::Status s = (*store)->log_batch(run->run_id, batch, {}, {});
      batch_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", label, s.to_string().c_str());
        return 1;
      }
    }
  }
  std::sort(batch_s.begin(), batch_s.end());
  const double median = batch_s[batch_s.size() / 2];
  std::printf("%-10s log_batch of %d points: median %.2f ms = %.0f points/s (%d batches)\n", label, kPointsPerBatch,
              median * 1e3, kPointsPerBatch / median, static_cast<int>(batch_s.size()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("wattlab_store_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int rc = measure("sqlite", (dir / "bench.db").string());
  fs::remove_all(dir);
  std::string uri = argc > 1 ? argv[1] : "";
  if (uri.empty() && std::getenv("WATTLAB_TEST_POSTGRES_URI")) uri = std::getenv("WATTLAB_TEST_POSTGRES_URI");
  if (uri.empty()) {
    std::printf("postgres   skipped: give a URI, or run under scripts/with_postgres.sh\n");
  } else {
    rc |= measure("postgres", uri);
  }
  return rc;
}
