// What metering costs: the Monitor's sampling thread's own CPU time at 10 Hz
// and 1 kHz as a share of one core, and a CPU-bound workload's throughput with
// the monitor sampling at 10 Hz against without it (interleaved rounds, the
// order rotating, median ratio), on this machine's real meters (`--meter auto`, or the one named, to
// see what each source costs). With NVML GPUs that have an energy counter it
// also prints how often the sampler read that counter (costly: ~4 ms of CPU
// per call on an H100), which should be about once a second. A third arm runs
// the workload beside a thread that wakes at 10 Hz and does nothing (the same
// sleep as the sampler's): what waking any thread costs on this machine, apart
// from what the meters read.
//
//   build/bench/monitor_overhead [--seconds 5] [--rounds 5] [--meter auto|rapl|nvml|estimate]
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/core/clock.h"
#include "wattlab/core/env.h"
#include "wattlab/energy/meters.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/energy/nvml_meter.h"

namespace {

using wattlab::Env;
using wattlab::Monitor;

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wall_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string meter_kind = "auto";  // --meter

// `nvml`, when given, is set to the monitor's NVML meter, or null.
std::unique_ptr<Monitor> make_monitor(double interval_ms, wattlab::NvmlMeter** nvml = nullptr) {
  Env& env = Env::system();
  wattlab::MeterOptions meter_options;
  meter_options.kind = meter_kind;
  auto meters = wattlab::make_meters(env, meter_options);
  if (!meters.ok()) {
    std::fprintf(stderr, "monitor_overhead: %s\n", meters.status().message().c_str());
    std::exit(1);
  }
  if (nvml) {
    *nvml = nullptr;
    for (const auto& meter : *meters) {
      if (auto* found = dynamic_cast<wattlab::NvmlMeter*>(meter.get())) *nvml = found;
    }
  }
  wattlab::MonitorOptions options;
  options.interval_ms = interval_ms;
  auto monitor = Monitor::create(env, std::move(*meters), options);
  if (!monitor.ok()) {
    std::fprintf(stderr, "monitor_overhead: %s\n", monitor.status().message().c_str());
    std::exit(1);
  }
  return std::move(*monitor);
}

void sleep_s(double seconds) {
  timespec pause{static_cast<time_t>(seconds), static_cast<long>((seconds - std::floor(seconds)) * 1e9)};
  nanosleep(&pause, nullptr);
}

struct SamplerCost {
  double core_share = 0;          // CPU time per second of wall time
  double counter_reads_per_s = 0; // NVML energy-counter reads per second; -1 without NVML
};

// The sampler's CPU time per second of wall time while the main thread
// sleeps; starting and stopping the thread are left out.
SamplerCost sampler_cost(double interval_ms, double seconds) {
  wattlab::NvmlMeter* nvml = nullptr;
  auto monitor = make_monitor(interval_ms, &nvml);
  (void)monitor->start();
  sleep_s(0.5);
  const uint64_t reads0 = nvml ? nvml->counter_reads() : 0;
  double cpu0 = process_cpu_s(), wall0 = wall_s();
  sleep_s(seconds);
  double cpu1 = process_cpu_s(), wall1 = wall_s();
  const uint64_t reads1 = nvml ? nvml->counter_reads() : 0;
  monitor->stop();
  SamplerCost cost;
  cost.core_share = (cpu1 - cpu0) / (wall1 - wall0);
  cost.counter_reads_per_s = nvml ? static_cast<double>(reads1 - reads0) / (wall1 - wall0) : -1;
  return cost;
}

// A fixed CPU-bound job (integer hashing); returns its rate in iterations/s.
double workload_rate(uint64_t iterations) {
  double t0 = wall_s();
  uint64_t h = 1469598103934665603ULL;
  for (uint64_t i = 0; i < iterations; ++i) h = (h ^ i) * 1099511628211ULL;
  double elapsed = wall_s() - t0;
  if (h == 42) std::puts("");  // keep the loop
  return static_cast<double>(iterations) / elapsed;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--meter") == 0) meter_kind = argv[i + 1];
  }
  auto probe = make_monitor(100);
  std::printf("meters: ");
  for (const auto& d : probe->domains()) std::printf("%s%s ", d.name.c_str(), d.estimated ? " (estimated)" : "");
  std::printf("\n");
  probe.reset();

  std::vector<double> share_10hz, share_1khz, counter_reads_10hz, counter_reads_1khz;
  for (int r = 0; r < rounds; ++r) {
    SamplerCost at_10hz = sampler_cost(100, seconds);
    SamplerCost at_1khz = sampler_cost(1, seconds);
    share_10hz.push_back(at_10hz.core_share);
    share_1khz.push_back(at_1khz.core_share);
    counter_reads_10hz.push_back(at_10hz.counter_reads_per_s);
    counter_reads_1khz.push_back(at_1khz.counter_reads_per_s);
  }
  std::printf("sampler CPU, share of one core (median of %d x %.0f s): 10 Hz %.4f %%, 1 kHz %.3f %%\n", rounds, seconds,
              median(share_10hz) * 100, median(share_1khz) * 100);
  if (median(counter_reads_10hz) >= 0) {
    // Read by the sampler alone (no windows here): all GPUs together.
    std::printf("NVML energy-counter reads per second (median): 10 Hz %.2f, 1 kHz %.2f\n", median(counter_reads_10hz),
                median(counter_reads_1khz));
  }

  // Calibrate the workload to about `seconds` / 2 per run.
  uint64_t iterations = 50'000'000;
  iterations = static_cast<uint64_t>(workload_rate(iterations) * seconds / 2);
  // Each round runs the three arms in a rotated order, so that a drift in the
  // machine's speed during a round does not always favour the same one.
  auto metered_rate = [&] {
    auto monitor = make_monitor(100);
    (void)monitor->start();
    const double rate = workload_rate(iterations);
    monitor->stop();
    return rate;
  };
  auto empty_ticker_rate = [&] {
    wattlab::SystemClock clock;
    wattlab::SleepInterrupt stop;
    std::thread ticker([&] {
      while (!clock.sleep_ms(100, &stop)) {
      }
    });
    const double rate = workload_rate(iterations);
    stop.trigger();
    ticker.join();
    return rate;
  };
  std::vector<double> metered_ratios, ticker_ratios, with_rates, without_rates;
  for (int r = 0; r < rounds; ++r) {
    double rate[3] = {};  // unmetered, metered, empty ticker
    for (int k = 0; k < 3; ++k) {
      const int arm = (r + k) % 3;
      rate[arm] = arm == 0 ? workload_rate(iterations) : arm == 1 ? metered_rate() : empty_ticker_rate();
    }
    without_rates.push_back(rate[0]);
    with_rates.push_back(rate[1]);
    metered_ratios.push_back(rate[1] / rate[0]);
    ticker_ratios.push_back(rate[2] / rate[0]);
  }
  std::printf("CPU-bound workload, metered at 10 Hz / unmetered (median of %d interleaved rounds): %.4f "
              "(%.3g vs %.3g iterations/s)\n",
              rounds, median(metered_ratios), median(with_rates), median(without_rates));
  std::printf("  beside an empty thread waking at 10 Hz / unmetered: %.4f (what any 10 Hz wake-up costs here)\n",
              median(ticker_ratios));
  return 0;
}
