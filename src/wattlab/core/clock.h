// Time, behind an interface so that tests drive it by hand.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace wattlab {

// Ends another thread's Clock::sleep_ms() early: the sleeper passes the
// interrupt, another thread calls trigger(). One interrupt per sleeper (or
// per group of sleepers that should stop together); thread-safe.
//
// It is a Linux futex word, not a mutex and condition variable: a sampler
// sleeping 10 times a second then costs one system call per wake-up instead
// of two (glibc's timed condition wait also wakes on its way out), which is
// measurable in a VM where each kernel entry is dear (bench/monitor_overhead).
class SleepInterrupt {
 public:
  // Ends the current sleep and every later one given this interrupt, until reset().
  void trigger();
  void reset();
  bool triggered() const;

 private:
  friend class SystemClock;
  std::atomic<uint32_t> triggered_{0};  // 1 once triggered; the futex word SystemClock waits on
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin; for durations and sampling.
  virtual double monotonic_ms() = 0;
  // Milliseconds since the Unix epoch; for timestamps stored with runs.
  virtual int64_t wall_ms() = 0;
  // Blocks until monotonic_ms() has advanced by `duration_ms` or `interrupt`
  // (when given) is triggered, whichever comes first. Returns true if
  // interrupted.
  virtual bool sleep_ms(double duration_ms, SleepInterrupt* interrupt = nullptr) = 0;
};

// The process's real clocks (steady_clock, system_clock).
class SystemClock final : public Clock {
 public:
  double monotonic_ms() override;
  int64_t wall_ms() override;
  bool sleep_ms(double duration_ms, SleepInterrupt* interrupt = nullptr) override;
};

// A clock that moves only when the test calls advance_ms(). sleep_ms() blocks
// until another thread advances the clock far enough (or interrupts it).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(double start_monotonic_ms = 0, int64_t start_wall_ms = 1'700'000'000'000);
  double monotonic_ms() override;
  int64_t wall_ms() override;
  bool sleep_ms(double duration_ms, SleepInterrupt* interrupt = nullptr) override;

  void advance_ms(double duration_ms);
  // Number of threads currently blocked in sleep_ms(); lets a test wait for a
  // sampler to reach its sleep before advancing.
  int sleepers();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  double monotonic_ms_;     // guarded by mu_
  int64_t wall_origin_ms_;  // wall time at monotonic 0
  int sleepers_ = 0;        // guarded by mu_
};

}  // namespace wattlab
