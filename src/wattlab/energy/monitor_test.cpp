#include "wattlab/energy/monitor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <limits>
#include <thread>

namespace wattlab {
namespace {

// A meter whose domains draw a settable constant power, integrated against
// the clock on every read; reads can be made to fail, and sampling reads can
// be made to run ahead of the exact figure, as a cheap approximation may.
class FakeMeter final : public Meter {
 public:
  FakeMeter(Clock* clock, std::vector<EnergyDomain> domains, std::vector<double> power_w)
      : clock_(clock), domains_(std::move(domains)), power_w_(std::move(power_w)),
        energy_j_(domains_.size(), 0.0), last_ms_(clock->monotonic_ms()) {}

  std::string name() const override { return "fake"; }
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  Status read_energy_j(std::vector<double>* energy_j) override {
    std::lock_guard lock(mu_);
    ++reads_;
    ++exact_reads_;
    return read_locked(energy_j);
  }
  Status sample_energy_j(std::vector<double>* energy_j) override {
    std::lock_guard lock(mu_);
    ++reads_;
    Status status = read_locked(energy_j);
    for (double& e : *energy_j) e += sample_ahead_j_;
    return status;
  }

  void set_power_w(std::vector<double> power_w) {
    // Integrate up to now at the old power first, as a real source would.
    std::vector<double> ignored;
    read_energy_j(&ignored);
    std::lock_guard lock(mu_);
    power_w_ = std::move(power_w);
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // Sampling reads report this much more than the exact figure.
  void set_sample_ahead_j(double ahead_j) {
    std::lock_guard lock(mu_);
    sample_ahead_j_ = ahead_j;
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }
  int exact_reads() {
    std::lock_guard lock(mu_);
    return exact_reads_;
  }

 private:
  Status read_locked(std::vector<double>* energy_j) {
    if (fail_) return Status::io_error("fake failure");
    const double now_ms = clock_->monotonic_ms();
    for (size_t i = 0; i < domains_.size(); ++i) energy_j_[i] += power_w_[i] * (now_ms - last_ms_) / 1000.0;
    last_ms_ = now_ms;
    *energy_j = energy_j_;
    return Status();
  }

  std::mutex mu_;
  Clock* clock_;
  std::vector<EnergyDomain> domains_;
  std::vector<double> power_w_;   // guarded by mu_
  std::vector<double> energy_j_;  // cumulative; guarded by mu_
  double last_ms_;                // guarded by mu_
  int reads_ = 0;                 // guarded by mu_
  int exact_reads_ = 0;           // read_energy_j calls; guarded by mu_
  double sample_ahead_j_ = 0;     // guarded by mu_
  bool fail_ = false;             // guarded by mu_
};

// Polls `done` for up to 10 s of real time, so a broken sampler fails the
// test instead of hanging it.
bool wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class MonitorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Monitor> make(std::vector<double> power_w, MonitorOptions options = {}) {
    auto meter = std::make_unique<FakeMeter>(
        &clock_, std::vector<EnergyDomain>{{"package-0", false}, {"ram-estimated", true}}, std::move(power_w));
    meter_ = meter.get();
    std::vector<std::unique_ptr<Meter>> meters;
    meters.push_back(std::move(meter));
    auto monitor = Monitor::create(env_, std::move(meters), options);
    EXPECT_TRUE(monitor.ok()) << monitor.status().to_string();
    return monitor.ok() ? std::move(monitor).value() : nullptr;
  }
  // Waits for the sampler to sleep, advances the clock by `ms` (a multiple
  // of the interval) and waits until it has sampled and gone back to sleep.
  ::testing::AssertionResult tick(double ms) {
    if (!wait_until([&] { return clock_.sleepers() == 1; })) {
      return ::testing::AssertionFailure() << "sampler never slept";
    }
    const int before = meter_->reads();
    clock_.advance_ms(ms);
    if (!wait_until([&] { return meter_->reads() > before && clock_.sleepers() == 1; })) {
      return ::testing::AssertionFailure() << "sampler did not sample after advancing " << ms << " ms";
    }
    return ::testing::AssertionSuccess();
  }

  FakeClock clock_{0, 1'700'000'000'000};
  Env env_{"/nonexistent/sys", "/nonexistent/proc", &clock_};
  FakeMeter* meter_ = nullptr;  // owned by the monitor
};

TEST_F(MonitorTest, NestedAndOverlappingWindowsAreExact) {
  auto monitor = make({10.0, 2.0});
  ASSERT_NE(monitor, nullptr);
  auto outer = monitor->begin_window("run");
  ASSERT_TRUE(outer.ok());
  clock_.advance_ms(1'000);
  auto inner = monitor->begin_window("epoch 1");
  ASSERT_TRUE(inner.ok());
  clock_.advance_ms(500);
  auto overlapping = monitor->begin_window("eval");
  clock_.advance_ms(100);
  auto inner_window = monitor->end_window(*inner);
  ASSERT_TRUE(inner_window.ok()) << inner_window.status().to_string();
  EXPECT_EQ(inner_window->name, "epoch 1");
  EXPECT_EQ(inner_window->start_ms, 1'700'000'001'000);
  EXPECT_EQ(inner_window->end_ms, 1'700'000'001'600);
  EXPECT_DOUBLE_EQ(inner_window->duration_s, 0.6);
  ASSERT_EQ(inner_window->domains.size(), 2u);
  EXPECT_EQ(inner_window->domains[0].name, "package-0");
  EXPECT_FALSE(inner_window->domains[0].estimated);
  EXPECT_DOUBLE_EQ(inner_window->domains[0].energy_j, 6.0);
  EXPECT_EQ(inner_window->domains[1].name, "ram-estimated");
  EXPECT_TRUE(inner_window->domains[1].estimated);
  EXPECT_DOUBLE_EQ(inner_window->domains[1].energy_j, 1.2);
  EXPECT_DOUBLE_EQ(inner_window->energy_j(), 7.2);
  EXPECT_TRUE(inner_window->estimated());

  clock_.advance_ms(400);
  auto outer_window = monitor->end_window(*outer);
  ASSERT_TRUE(outer_window.ok());
  EXPECT_DOUBLE_EQ(outer_window->duration_s, 2.0);
  EXPECT_DOUBLE_EQ(outer_window->domains[0].energy_j, 20.0);
  EXPECT_DOUBLE_EQ(outer_window->domains[1].energy_j, 4.0);

  meter_->set_power_w({100.0, 0.0});
  clock_.advance_ms(1'000);
  auto eval_window = monitor->end_window(*overlapping);  // began at 1.5 s, ends at 3 s
  ASSERT_TRUE(eval_window.ok());
  EXPECT_DOUBLE_EQ(eval_window->domains[0].energy_j, 10.0 * 0.5 + 100.0 * 1.0);
  EXPECT_DOUBLE_EQ(eval_window->domains[1].energy_j, 2.0 * 0.5);

  auto again = monitor->end_window(*inner);
  EXPECT_EQ(again.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(monitor->end_window(12345).status().code(), Status::Code::kNotFound);
}

TEST_F(MonitorTest, FailedEndLeavesTheWindowOpen) {
  auto monitor = make({10.0, 0.0});
  ASSERT_NE(monitor, nullptr);
  auto id = monitor->begin_window("w");
  ASSERT_TRUE(id.ok());
  clock_.advance_ms(1'000);
  meter_->set_fail(true);
  auto failed = monitor->end_window(*id);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("meter \"fake\""), std::string::npos) << failed.status().to_string();
  meter_->set_fail(false);
  auto window = monitor->end_window(*id);
  ASSERT_TRUE(window.ok());
  EXPECT_DOUBLE_EQ(window->domains[0].energy_j, 10.0);
}

TEST_F(MonitorTest, WindowSoFarLeavesTheWindowOpen) {
  auto monitor = make({10.0, 2.0});
  ASSERT_NE(monitor, nullptr);
  auto id = monitor->begin_window("run");
  ASSERT_TRUE(id.ok());
  clock_.advance_ms(1'000);
  auto part = monitor->window_so_far(*id);
  ASSERT_TRUE(part.ok()) << part.status().to_string();
  EXPECT_EQ(part->name, "run");
  EXPECT_DOUBLE_EQ(part->duration_s, 1.0);
  EXPECT_DOUBLE_EQ(part->energy_j(), 12.0);
  clock_.advance_ms(500);
  auto whole = monitor->end_window(*id);
  ASSERT_TRUE(whole.ok());
  EXPECT_DOUBLE_EQ(whole->duration_s, 1.5);
  EXPECT_DOUBLE_EQ(whole->energy_j(), 18.0);
  EXPECT_EQ(monitor->window_so_far(*id).status().code(), Status::Code::kNotFound);
}

TEST_F(MonitorTest, SamplerRecordsMeanPowerPerInterval) {
  MonitorOptions options;
  options.interval_ms = 100;
  auto monitor = make({10.0, 2.0}, options);
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  EXPECT_TRUE(monitor->running());
  ASSERT_TRUE(tick(100));
  meter_->set_power_w({20.0, 2.0});
  ASSERT_TRUE(tick(100));
  meter_->set_power_w({0.0, 4.0});
  ASSERT_TRUE(tick(300));  // a late wake-up: one sample over 300 ms, then back on the grid

  auto samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].timestamp_ms, 1'700'000'000'100);
  EXPECT_EQ(samples[1].timestamp_ms, 1'700'000'000'200);
  EXPECT_EQ(samples[2].timestamp_ms, 1'700'000'000'500);
  EXPECT_DOUBLE_EQ(samples[0].power_w[0], 10.0);
  EXPECT_DOUBLE_EQ(samples[1].power_w[0], 20.0);
  EXPECT_DOUBLE_EQ(samples[2].power_w[0], 0.0);
  EXPECT_DOUBLE_EQ(samples[2].power_w[1], 4.0);
  EXPECT_TRUE(monitor->take_samples().empty());  // drained

  ASSERT_TRUE(tick(100));
  samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].timestamp_ms, 1'700'000'000'600);
  EXPECT_TRUE(monitor->sampling_error().ok());
  monitor->stop();
  EXPECT_FALSE(monitor->running());
}

TEST_F(MonitorTest, RingKeepsOnlyTheNewestSamples) {
  MonitorOptions options;
  options.interval_ms = 1;  // the documented minimum
  options.ring_capacity = 3;
  auto monitor = make({0.0, 0.0}, options);
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  for (int i = 1; i <= 5; ++i) {
    meter_->set_power_w({static_cast<double>(i), 0.0});
    ASSERT_TRUE(tick(1));
  }
  EXPECT_EQ(monitor->dropped_samples(), 2u);
  auto samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_DOUBLE_EQ(samples[0].power_w[0], 3.0);
  EXPECT_DOUBLE_EQ(samples[1].power_w[0], 4.0);
  EXPECT_DOUBLE_EQ(samples[2].power_w[0], 5.0);
  // Emptied, the ring fills again from its oldest slot.
  meter_->set_power_w({6.0, 0.0});
  ASSERT_TRUE(tick(1));
  samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_DOUBLE_EQ(samples[0].power_w[0], 6.0);
  EXPECT_EQ(monitor->dropped_samples(), 2u);
}

TEST_F(MonitorTest, TimelineUsesSamplingReadsAndNeverGoesBackwards) {
  MonitorOptions options;
  options.interval_ms = 100;
  auto monitor = make({100.0, 0.0}, options);
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  auto window = monitor->begin_window("all");
  ASSERT_TRUE(window.ok());
  const int exact_before = meter_->exact_reads();
  meter_->set_sample_ahead_j(5);  // the first sample runs 5 J ahead...
  ASSERT_TRUE(tick(100));
  ASSERT_TRUE(tick(100));
  meter_->set_sample_ahead_j(15);  // ...then 15 J...
  ASSERT_TRUE(tick(100));
  meter_->set_sample_ahead_j(0);  // ...then is put right: the timeline waits for it
  ASSERT_TRUE(tick(100));
  ASSERT_TRUE(tick(100));
  EXPECT_EQ(meter_->exact_reads(), exact_before);  // the sampler made none
  // stop() ends the timeline with an exact reading, 60 ms (over half an
  // interval) after the last sample.
  clock_.advance_ms(60);
  auto ended = monitor->end_window(*window);
  ASSERT_TRUE(ended.ok());
  monitor->stop();
  EXPECT_EQ(meter_->exact_reads(), exact_before + 2);  // end_window and stop
  EXPECT_DOUBLE_EQ(ended->domains[0].energy_j, 56.0);  // windows: exact, whatever the samples said

  auto samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 6u);
  const double expected_w[] = {150, 100, 200, 0, 50, 100};  // cumulative 15, 25, 45, 45, 50, 56 J
  double timeline_j = 0;
  for (size_t k = 0; k < samples.size(); ++k) {
    EXPECT_NEAR(samples[k].power_w[0], expected_w[k], 1e-9) << "sample " << k;
    timeline_j += samples[k].power_w[0] * (k + 1 < samples.size() ? 0.1 : 0.06);
  }
  EXPECT_NEAR(timeline_j, 56.0, 1e-9);  // ends on the exact figure
}

TEST_F(MonitorTest, StopSkipsALastSampleShorterThanHalfAnInterval) {
  MonitorOptions options;
  options.interval_ms = 100;
  auto monitor = make({100.0, 0.0}, options);
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  ASSERT_TRUE(tick(100));
  clock_.advance_ms(40);  // a 40 ms sample would turn counter steps into spurious peaks
  monitor->stop();
  auto samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_NEAR(samples[0].power_w[0], 100.0, 1e-9);
}

TEST_F(MonitorTest, WindowsStayExactWhileSampling) {
  auto monitor = make({50.0, 1.0});
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  ASSERT_TRUE(wait_until([&] { return clock_.sleepers() == 1; }));
  auto id = monitor->begin_window("epoch");
  ASSERT_TRUE(id.ok());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(tick(100));
  auto window = monitor->end_window(*id);
  ASSERT_TRUE(window.ok());
  EXPECT_DOUBLE_EQ(window->domains[0].energy_j, 50.0 * 0.7);
  EXPECT_EQ(monitor->take_samples().size(), 7u);
}

TEST_F(MonitorTest, SamplerRecordsTheFirstErrorAndCarriesOn) {
  auto monitor = make({10.0, 0.0});
  ASSERT_NE(monitor, nullptr);
  ASSERT_TRUE(monitor->start().ok());
  meter_->set_fail(true);
  ASSERT_TRUE(tick(100));
  Status error = monitor->sampling_error();
  EXPECT_EQ(error.code(), Status::Code::kIoError);
  EXPECT_NE(error.message().find("fake failure"), std::string::npos) << error.to_string();
  EXPECT_TRUE(monitor->take_samples().empty());
  meter_->set_fail(false);
  ASSERT_TRUE(tick(100));
  auto samples = monitor->take_samples();
  ASSERT_EQ(samples.size(), 1u);  // spans the failed tick: 200 ms at 10 W
  EXPECT_DOUBLE_EQ(samples[0].power_w[0], 10.0);
}

TEST_F(MonitorTest, StartAndStopAreIdempotent) {
  auto monitor = make({1.0, 1.0});
  ASSERT_NE(monitor, nullptr);
  monitor->stop();  // never started
  ASSERT_TRUE(monitor->start().ok());
  ASSERT_TRUE(monitor->start().ok());
  ASSERT_TRUE(tick(100));
  monitor->stop();
  monitor->stop();
  EXPECT_EQ(clock_.sleepers(), 0);
  ASSERT_TRUE(monitor->start().ok());  // restarts after a stop
  ASSERT_TRUE(tick(100));
  EXPECT_EQ(monitor->take_samples().size(), 2u);
  // The destructor stops the running sampler (the test would hang otherwise).
}

TEST(MonitorSystemClockTest, StopIsPromptWithALongInterval) {
  SystemClock clock;
  Env env("/nonexistent/sys", "/nonexistent/proc", &clock);
  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::make_unique<FakeMeter>(&clock, std::vector<EnergyDomain>{{"gpu-0", false}},
                                               std::vector<double>{1.0}));
  MonitorOptions options;
  options.interval_ms = 3'600'000;
  auto monitor = Monitor::create(env, std::move(meters), options);
  ASSERT_TRUE(monitor.ok());
  ASSERT_TRUE((*monitor)->start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto begin = std::chrono::steady_clock::now();
  (*monitor)->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
}

TEST_F(MonitorTest, CreateRejectsBadOptionsAndDuplicateDomains) {
  auto meters_of = [&](std::vector<std::vector<std::string>> meter_domains) {
    std::vector<std::unique_ptr<Meter>> meters;
    for (auto& names : meter_domains) {
      std::vector<EnergyDomain> domains;
      for (auto& name : names) domains.push_back({name, false});
      meters.push_back(std::make_unique<FakeMeter>(&clock_, domains, std::vector<double>(domains.size(), 1.0)));
    }
    return meters;
  };
  MonitorOptions too_fast;
  too_fast.interval_ms = 0.5;
  EXPECT_EQ(Monitor::create(env_, meters_of({{"a"}}), too_fast).status().code(), Status::Code::kInvalidArgument);
  MonitorOptions no_ring;
  no_ring.ring_capacity = 0;
  EXPECT_EQ(Monitor::create(env_, meters_of({{"a"}}), no_ring).status().code(), Status::Code::kInvalidArgument);
  MonitorOptions huge_ring;  // create() reserves the ring: too large is an error naming the option, not a throw
  huge_ring.ring_capacity = std::numeric_limits<size_t>::max() / 4;
  auto huge = Monitor::create(env_, meters_of({{"a", "b"}}), huge_ring);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("ring_capacity"), std::string::npos) << huge.status().to_string();
  EXPECT_EQ(Monitor::create(env_, {}).status().code(), Status::Code::kInvalidArgument);
  auto duplicate = Monitor::create(env_, meters_of({{"a", "b"}, {"b"}}));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.status().message().find("\"b\""), std::string::npos);

  auto two = Monitor::create(env_, meters_of({{"a", "b"}, {"c"}}));
  ASSERT_TRUE(two.ok());
  ASSERT_EQ((*two)->domains().size(), 3u);
  EXPECT_EQ((*two)->domains()[2].name, "c");
}

}  // namespace
}  // namespace wattlab
