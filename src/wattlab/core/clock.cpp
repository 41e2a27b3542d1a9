#include "wattlab/core/clock.h"

#include <chrono>
#include <thread>

namespace wattlab {

double SystemClock::monotonic_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool SystemClock::sleep_ms(double duration_ms, SleepInterrupt* interrupt) {
  auto duration = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(duration_ms));
  if (interrupt == nullptr) {
    std::this_thread::sleep_for(duration);
    return false;
  }
  std::unique_lock lock(interrupt->mu_);
  return interrupt->cv_.wait_until(lock, std::chrono::steady_clock::now() + duration,
                                   [&] { return interrupt->triggered_; });
}

void SleepInterrupt::trigger() {
  { std::lock_guard lock(mu_); triggered_ = true; }
  cv_.notify_all();
}

void SleepInterrupt::reset() {
  std::lock_guard lock(mu_);
  triggered_ = false;
}

bool SleepInterrupt::triggered() const {
  std::lock_guard lock(mu_);
  return triggered_;
}

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
