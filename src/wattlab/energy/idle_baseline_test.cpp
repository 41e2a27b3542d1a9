#include "wattlab/energy/idle_baseline.h"

#include <gtest/gtest.h>

#include <thread>

namespace wattlab {
namespace {

// Draws a settable constant power per domain, integrated over the Env clock.
class ConstantPowerMeter final : public Meter {
 public:
  ConstantPowerMeter(Clock& clock, std::vector<EnergyDomain> domains, std::vector<double> power_w)
      : clock_(clock), domains_(std::move(domains)), power_w_(std::move(power_w)),
        energy_j_(domains_.size(), 0.0), last_ms_(clock.monotonic_ms()) {}
  std::string name() const override { return "constant"; }
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  Status read_energy_j(std::vector<double>* energy_j) override {
    const double now_ms = clock_.monotonic_ms();
    for (size_t i = 0; i < domains_.size(); ++i) energy_j_[i] += power_w_[i] * (now_ms - last_ms_) / 1000.0;
    last_ms_ = now_ms;
    *energy_j = energy_j_;
    return Status();
  }
  void set_power_w(std::vector<double> power_w) { power_w_ = std::move(power_w); }

 private:
  Clock& clock_;
  std::vector<EnergyDomain> domains_;
  std::vector<double> power_w_;
  std::vector<double> energy_j_;
  double last_ms_;
};

class IdleBaselineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto meter = std::make_unique<ConstantPowerMeter>(
        clock_, std::vector<EnergyDomain>{{"package-0", false}, {"package-0/core", false, false}, {"cpu-estimated", true}},
        std::vector<double>{12.0, 4.0, 6.0});
    meter_ = meter.get();
    std::vector<std::unique_ptr<Meter>> meters;
    meters.push_back(std::move(meter));
    monitor_ = std::move(Monitor::create(env_, std::move(meters))).value();
  }
  // Advances the clock by `ms` once the measurement sleeps on it.
  std::thread advance_when_sleeping(double ms) {
    return std::thread([this, ms] {
      while (clock_.sleepers() == 0) std::this_thread::yield();
      clock_.advance_ms(ms);
    });
  }

  FakeClock clock_;
  Env env_{"/nonexistent/sys", "/nonexistent/proc", &clock_};
  ConstantPowerMeter* meter_ = nullptr;
  std::unique_ptr<Monitor> monitor_;
};

TEST_F(IdleBaselineTest, MeanPowerOverTheDuration) {
  std::thread advancer = advance_when_sleeping(10'000);
  auto baseline = measure_idle_baseline(*monitor_, clock_, 10'000);
  advancer.join();
  ASSERT_TRUE(baseline.ok()) << baseline.status().to_string();
  EXPECT_DOUBLE_EQ(baseline->duration_s, 10.0);
  ASSERT_EQ(baseline->domains.size(), 3u);
  EXPECT_EQ(baseline->domains[0].name, "package-0");
  EXPECT_EQ(baseline->power_w, (std::vector<double>{12.0, 4.0, 6.0}));
}

TEST_F(IdleBaselineTest, SplitsAWindowIntoStaticAndDynamic) {
  std::thread advancer = advance_when_sleeping(5'000);
  auto baseline = measure_idle_baseline(*monitor_, clock_, 5'000);
  advancer.join();
  ASSERT_TRUE(baseline.ok());

  // Under load for 20 s: package 50 W, core 30 W, and an estimate below idle.
  meter_->set_power_w({50.0, 30.0, 3.0});
  auto id = monitor_->begin_window("train");
  ASSERT_TRUE(id.ok());
  clock_.advance_ms(20'000);
  auto window = monitor_->end_window(*id);
  ASSERT_TRUE(window.ok());
  auto split = split_static_dynamic(*window, *baseline);
  ASSERT_EQ(split.size(), 3u);
  EXPECT_DOUBLE_EQ(split[0].static_j, 240.0);   // 12 W × 20 s
  EXPECT_DOUBLE_EQ(split[0].dynamic_j, 760.0);  // 1000 J − 240 J
  EXPECT_DOUBLE_EQ(split[1].static_j, 80.0);
  EXPECT_FALSE(split[1].counts_in_total);
  EXPECT_DOUBLE_EQ(split[2].static_j, 60.0);    // capped at the window's 60 J
  EXPECT_DOUBLE_EQ(split[2].dynamic_j, 0.0);
  EXPECT_TRUE(split[2].estimated);
}

TEST_F(IdleBaselineTest, AnInterruptCancels) {
  SleepInterrupt interrupt;
  std::thread waker([&] {
    while (clock_.sleepers() == 0) std::this_thread::yield();
    interrupt.trigger();
  });
  auto baseline = measure_idle_baseline(*monitor_, clock_, 10'000, &interrupt);
  waker.join();
  ASSERT_FALSE(baseline.ok());
  EXPECT_EQ(baseline.status().code(), Status::Code::kCancelled);
  EXPECT_FALSE(measure_idle_baseline(*monitor_, clock_, 0).ok());
}

}  // namespace
}  // namespace wattlab
