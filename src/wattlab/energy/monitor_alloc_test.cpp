// The sampler's tick allocates nothing (monitor.h): it runs every interval for
// the whole run, and at 10 Hz each allocation is a cold trip through malloc.
// Its own binary, because it replaces the global operator new to count the
// allocations made by threads other than the test's.
#include <pthread.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

#include "wattlab/energy/meters.h"
#include "wattlab/energy/monitor.h"

namespace {

const pthread_t g_test_thread = pthread_self();  // static initialisation runs on the main thread
std::atomic<uint64_t> g_other_thread_allocations{0};

}  // namespace

void* operator new(std::size_t size) {
  if (!pthread_equal(pthread_self(), g_test_thread)) g_other_thread_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace wattlab {
namespace {

// This machine's estimator (the meter every machine has; it reads the
// machine-wide busy time on every tick) sampled at 1 ms until the ring has
// wrapped three times over.
TEST(MonitorAllocationTest, SamplerTicksAllocateNothing) {
  Env& env = Env::system();
  MeterOptions meter_options;
  meter_options.kind = "estimate";
  auto meters = make_meters(env, meter_options);
  if (!meters.ok()) GTEST_SKIP() << "no estimator on this machine: " << meters.status().to_string();
  MonitorOptions options;
  options.interval_ms = 1;
  options.ring_capacity = 64;
  auto monitor = Monitor::create(env, std::move(*meters), options);
  ASSERT_TRUE(monitor.ok()) << monitor.status().to_string();

  const uint64_t before = g_other_thread_allocations.load();
  ASSERT_TRUE((*monitor)->start().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((*monitor)->dropped_samples() < 3 * options.ring_capacity && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*monitor)->stop();
  const uint64_t allocations = g_other_thread_allocations.load() - before;

  ASSERT_TRUE((*monitor)->sampling_error().ok()) << (*monitor)->sampling_error().to_string();
  ASSERT_GE((*monitor)->dropped_samples(), 3 * options.ring_capacity) << "the sampler did not keep up";
  EXPECT_EQ(allocations, 0u) << "the sampling thread allocated over " << (*monitor)->dropped_samples() + options.ring_capacity
                             << " ticks";
}

}  // namespace
}  // namespace wattlab
