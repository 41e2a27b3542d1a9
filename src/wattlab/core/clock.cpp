#include "wattlab/core/clock.h"

#include <chrono>

namespace wattlab {

double SystemClock::monotonic_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool SystemClock::sleep_ms(double duration_ms) {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double, std::milli>(duration_ms));
  return cv_.wait_until(lock, deadline, [&] { return woken_; });
}

void SystemClock::wake() {
  { std::lock_guard lock(mu_); woken_ = true; }
  cv_.notify_all();
}

void SystemClock::reset_wake() {
  std::lock_guard lock(mu_);
  woken_ = false;
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

bool FakeClock::sleep_ms(double duration_ms) {
  std::unique_lock lock(mu_);
  double until = monotonic_ms_ + duration_ms;
  ++sleepers_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return woken_ || monotonic_ms_ >= until; });
  --sleepers_;
  return woken_;
}

void FakeClock::wake() {
  { std::lock_guard lock(mu_); woken_ = true; }
  cv_.notify_all();
}

void FakeClock::reset_wake() {
  std::lock_guard lock(mu_);
  woken_ = false;
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
