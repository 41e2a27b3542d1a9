#include "wattlab/core/clock.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <thread>

namespace wattlab {
namespace {

TEST(FakeClockTest, SleepEndsWhenTimeIsAdvanced) {
  FakeClock clock(1000);
  bool woken_early = true;
  std::thread sleeper([&] { woken_early = clock.sleep_ms(50); });
  while (clock.sleepers() == 0) std::this_thread::yield();
  clock.advance_ms(20);
  EXPECT_EQ(clock.sleepers(), 1);  // 30 ms still to go
  clock.advance_ms(30);
  sleeper.join();
  EXPECT_FALSE(woken_early);
  EXPECT_DOUBLE_EQ(clock.monotonic_ms(), 1050);
}

TEST(FakeClockTest, InterruptEndsOnlyItsOwnSleeper) {
  FakeClock clock;
  SleepInterrupt interrupt, other;
  std::thread sleeper([&] { EXPECT_TRUE(clock.sleep_ms(1e9, &interrupt)); });
  std::thread bystander([&] { EXPECT_FALSE(clock.sleep_ms(100, &other)); });
  while (clock.sleepers() < 2) std::this_thread::yield();
  interrupt.trigger();
  sleeper.join();
  EXPECT_EQ(clock.sleepers(), 1);  // the bystander sleeps on
  clock.advance_ms(100);
  bystander.join();
}

TEST(SystemClockTest, InterruptEndsSleepEarly) {
  SystemClock clock;
  SleepInterrupt interrupt;
  std::thread trigger([&] { interrupt.trigger(); });
  EXPECT_TRUE(clock.sleep_ms(60'000, &interrupt));
  trigger.join();
  EXPECT_TRUE(clock.sleep_ms(60'000, &interrupt));  // stays triggered until reset
  interrupt.reset();
  EXPECT_FALSE(clock.sleep_ms(1, &interrupt));
}

// A signal handled during the sleep (EINTR underneath) does not end it early.
TEST(SystemClockTest, ASignalDoesNotCutTheSleepShort) {
  struct sigaction action {};
  action.sa_handler = [](int) {};
  struct sigaction previous {};
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);  // no SA_RESTART
  SystemClock clock;
  SleepInterrupt interrupt;
  const pthread_t sleeper_thread = pthread_self();
  std::thread signaller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    pthread_kill(sleeper_thread, SIGUSR1);
  });
  const double before = clock.monotonic_ms();
  EXPECT_FALSE(clock.sleep_ms(150, &interrupt));
  const double slept_ms = clock.monotonic_ms() - before;
  signaller.join();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_GE(slept_ms, 150.0);
}

TEST(SystemClockTest, MonotonicAdvancesAcrossSleep) {
  SystemClock clock;
  double before = clock.monotonic_ms();
  EXPECT_FALSE(clock.sleep_ms(5));
  EXPECT_GE(clock.monotonic_ms() - before, 5.0);
  EXPECT_GT(clock.wall_ms(), 1'600'000'000'000);
}

}  // namespace
}  // namespace wattlab
