#include "wattlab/core/clock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace wattlab {

// clock_gettime directly rather than steady_clock::now() and
// system_clock::now(), which read the same clocks with the same arithmetic
// through libstdc++: a sampler waking 10 times a second runs with cold caches
// and TLBs, and in a VM each further library page on its path costs about a
// microsecond (bench/monitor_overhead).
double SystemClock::monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec) / 1e6;
}

int64_t SystemClock::wall_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

bool SystemClock::sleep_ms(double duration_ms, SleepInterrupt* interrupt) {
  // An absolute CLOCK_MONOTONIC deadline (steady_clock's clock), so that
  // early wake-ups (signals, a spurious futex wake) resume the same sleep.
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const auto total_ns = static_cast<int64_t>(deadline.tv_nsec) + static_cast<int64_t>(std::max(0.0, duration_ms) * 1e6);
  deadline.tv_sec += static_cast<time_t>(total_ns / 1'000'000'000);
  deadline.tv_nsec = static_cast<long>(total_ns % 1'000'000'000);
  if (interrupt == nullptr) {
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
    }
    return false;
  }
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
  auto* word = reinterpret_cast<uint32_t*>(&interrupt->triggered_);
  for (;;) {
    if (interrupt->triggered_.load(std::memory_order_acquire) != 0) return true;
    // Sleeps only while the word is still 0, so a trigger() between the load
    // above and this call is not missed.
    const long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0u, &deadline, nullptr,
                            FUTEX_BITSET_MATCH_ANY);
    if (rc != 0 && errno == ETIMEDOUT) return interrupt->triggered_.load(std::memory_order_acquire) != 0;
    // Woken, the word changed (EAGAIN), or a signal (EINTR): look again.
  }
}

void SleepInterrupt::trigger() {
  triggered_.store(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&triggered_), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT32_MAX, nullptr,
          nullptr, 0);
}

void SleepInterrupt::reset() { triggered_.store(0, std::memory_order_release); }

bool SleepInterrupt::triggered() const { return triggered_.load(std::memory_order_acquire) != 0; }

FakeClock::FakeClock(double start_monotonic_ms, int64_t start_wall_ms)
    : monotonic_ms_(start_monotonic_ms),
      wall_origin_ms_(start_wall_ms - static_cast<int64_t>(start_monotonic_ms)) {}

double FakeClock::monotonic_ms() {
  std::lock_guard lock(mu_);
  return monotonic_ms_;
}

int64_t FakeClock::wall_ms() {
  std::lock_guard lock(mu_);
  return wall_origin_ms_ + static_cast<int64_t>(monotonic_ms_);
}

bool FakeClock::sleep_ms(double duration_ms, SleepInterrupt* interrupt) {
  std::unique_lock lock(mu_);
  double until = monotonic_ms_ + duration_ms;
  ++sleepers_;
  bool interrupted = false;
  // The interrupt signals its own condition variable, not ours: poll it.
  while (monotonic_ms_ < until && !(interrupted = interrupt && interrupt->triggered())) {
    cv_.wait_for(lock, std::chrono::milliseconds(1));
  }
  --sleepers_;
  return interrupted;
}

void FakeClock::advance_ms(double duration_ms) {
  { std::lock_guard lock(mu_); monotonic_ms_ += duration_ms; }
  cv_.notify_all();
}

int FakeClock::sleepers() {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace wattlab
