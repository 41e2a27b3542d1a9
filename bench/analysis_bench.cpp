// analysis_bench: the two speed targets of issue 15, as medians of repeated
// runs, with the CPU they ran on.
//   1. `stats compare` over a CSV of 100,000 rows in 10 groups (parse + every
//      test, bootstrap intervals with 2,000 resamples per group);
//   2. the report of a 1,000-run study (5 models x 4 environments x 50
//      repetitions) from a SQLite store: load (with every run's environment),
//      statistics, and HTML, Markdown and JSON renderings.
// Target: each under 1 s of wall time. Each figure is printed as wall time
// and, beside it, the process's CPU time (all threads): on a machine shared
// with other work, wall time grows and CPU time barely does.
//   analysis_bench [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "wattlab/analysis/compare.h"
#include "wattlab/analysis/observations.h"
#include "wattlab/analysis/study_report.h"
#include "wattlab/analysis/synthetic_runs.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line;
  }
  const bool avx2 = flags.find(" avx2") != std::string::npos;
  const bool avx512 = flags.find(" avx512f") != std::string::npos;
  return model + " (" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs; AVX2 " + (avx2 ? "yes" : "no") +
         ", AVX-512 " + (avx512 ? "yes" : "no") + ")";
}

double process_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct Timing {
  double wall_ms, cpu_ms;  // medians
  std::string text() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%8.1f ms wall (CPU %7.1f ms)  %s", wall_ms, cpu_ms,
                  wall_ms < 1000 ? "under 1 s" : "OVER 1 s");
    return buf;
  }
};

// Medians of `repeats` calls.
Timing measure(int repeats, const std::function<bool()>& work) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    const double cpu_start = process_cpu_ms();
    if (!work()) std::exit(1);
    cpu.push_back(process_cpu_ms() - cpu_start);
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const fs::path dir = fs::temp_directory_path() / ("wattlab_analysis_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::printf("analysis_bench on %s; median of %d runs\n\n", cpu_description().c_str(), repeats);

  // 1. stats compare over 100,000 rows in 10 groups.
  const fs::path csv = dir / "rows.csv";
  {
    std::ofstream out(csv);
    out << "model,energy_per_image_j\n";
    std::mt19937_64 rng(1);
    std::normal_distribution<double> noise(0, 0.1);
    for (int i = 0; i < 100000; ++i) {
      const int group = i % 10;
      out << "model-" << group << "," << 0.01 * (1 + 0.05 * group) * std::exp(noise(rng)) << "\n";
    }
  }
  size_t groups = 0;
  const Timing compare_time = measure(repeats, [&] {
    auto o = wattlab::read_csv_observations(csv.string(), {{"model"}, "energy_per_image_j", ""});
    if (!o.ok()) return std::fprintf(stderr, "%s\n", o.status().to_string().c_str()), false;
    auto r = wattlab::compare(*o);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().to_string().c_str()), false;
    groups = r->groups.size();
    return !compare_to_json(*r).empty();
  });
  std::printf("stats compare, 100,000 rows in %zu groups (CSV parse + all tests + JSON): %s\n", groups,
              compare_time.text().c_str());

  // 2. The report of a 1,000-run study.
  const std::string store_path = (dir / "study.db").string();
  {
    auto store = wattlab::Store::open(store_path);
    if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().to_string().c_str()), 1;
    wattlab::SyntheticStudy study = wattlab::default_synthetic_study();
    study.models.push_back({"vgg11", 0.110, 0.880, 90});
    study.models.push_back({"efficientnet_b0", 0.040, 0.868, 200});
    study.environments.push_back({"4-threads", 4, 0.88, 0.40});
    study.environments.push_back({"bf16", 2, 0.70, 0.55});
    study.repetitions = 50;
    auto ids = write_synthetic_study(**store, study);
    if (!ids.ok()) return std::fprintf(stderr, "%s\n", ids.status().to_string().c_str()), 1;
    std::printf("\nstudy of %zu trial runs written to %s\n", ids->size(), store_path.c_str());
  }
  auto store = wattlab::Store::open(store_path);
  if (!store.ok()) return 1;
  for (const char* name : {"report.html", "report.md", "report.json"}) {
    const std::string out = (dir / name).string();
    const Timing t = measure(repeats, [&] {
      auto path = wattlab::write_study_report(**store, "green-cv", out);
      if (!path.ok()) std::fprintf(stderr, "%s\n", path.status().to_string().c_str());
      return path.ok();
    });
    std::printf("study report, 1,000 runs -> %-12s (load + statistics + render + write): %s\n", name,
                t.text().c_str());
  }
  // Where the time goes: loading (search + 1,000 get_run) against the rest.
  wattlab::StudyData data;
  const Timing load = measure(repeats, [&] {
    auto d = wattlab::load_study(**store, "green-cv");
    if (d.ok()) data = std::move(*d);
    return d.ok();
  });
  const Timing build = measure(repeats, [&] { return wattlab::build_study_report(data).ok(); });
  std::printf("  of which load_study (search + 1,000 get_run): %s\n", load.text().c_str());
  std::printf("  and build_study_report (statistics, fronts, savings): %s\n", build.text().c_str());
  fs::remove_all(dir);
  return 0;
}
