// Time, behind an interface so that tests drive it by hand.
#pragma once

#include <cstdint>
#include <mutex>
#include <condition_variable>

namespace wattlab {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin; for durations and sampling.
  virtual double monotonic_ms() = 0;
  // Milliseconds since the Unix epoch; for timestamps stored with runs.
  virtual int64_t wall_ms() = 0;
  // Blocks until monotonic_ms() has advanced by `duration_ms` or `wake()` is
  // called, whichever comes first. Returns true if woken early.
  virtual bool sleep_ms(double duration_ms) = 0;
  // Ends every current and future sleep_ms() early until reset_wake().
  virtual void wake() = 0;
  virtual void reset_wake() = 0;
};

// The process's real clocks (steady_clock, system_clock).
class SystemClock final : public Clock {
 public:
  double monotonic_ms() override;
  int64_t wall_ms() override;
  bool sleep_ms(double duration_ms) override;
  void wake() override;
  void reset_wake() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

// A clock that moves only when the test calls advance_ms(). sleep_ms() blocks
// until another thread advances the clock far enough (or wake() is called).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(double start_monotonic_ms = 0, int64_t start_wall_ms = 1'700'000'000'000);
  double monotonic_ms() override;
  int64_t wall_ms() override;
  bool sleep_ms(double duration_ms) override;
  void wake() override;
  void reset_wake() override;

  void advance_ms(double duration_ms);
  // Number of threads currently blocked in sleep_ms(); lets a test wait for a
  // sampler to reach its sleep before advancing.
  int sleepers();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  double monotonic_ms_;     // guarded by mu_
  int64_t wall_origin_ms_;  // wall time at monotonic 0
  bool woken_ = false;      // guarded by mu_
  int sleepers_ = 0;        // guarded by mu_
};

}  // namespace wattlab
