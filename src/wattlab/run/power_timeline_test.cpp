// PowerTimelineRecorder on a monitor driven tick by tick: the peaks it keeps
// are the highest sampled power of each domain, and the timeline it stores
// holds every sample once, drained part-way or not.
#include "wattlab/run/power_timeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "wattlab/track/client.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

// Two domains at settable powers, integrated against the clock on each read.
class SteppedMeter final : public Meter {
 public:
  explicit SteppedMeter(Clock* clock) : clock_(clock), last_ms_(clock->monotonic_ms()) {}
  std::string name() const override { return "stepped"; }
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  Status read_energy_j(std::vector<double>* energy_j) override {
    std::lock_guard lock(mu_);
    const double now_ms = clock_->monotonic_ms();
    for (size_t i = 0; i < 2; ++i) energy_j_[i] += power_w_[i] * (now_ms - last_ms_) / 1000.0;
    last_ms_ = now_ms;
    *energy_j = energy_j_;
    ++reads_;
    return Status();
  }
  void set_power_w(double package_w, double gpu_w) {
    std::lock_guard lock(mu_);
    power_w_ = {package_w, gpu_w};
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }

 private:
  Clock* clock_;
  const std::vector<EnergyDomain> domains_ = {{"package-0", false}, {"gpu-0", false}};
  std::mutex mu_;
  std::vector<double> power_w_ = {0, 0};   // guarded by mu_
  std::vector<double> energy_j_ = {0, 0};  // guarded by mu_
  double last_ms_;                         // guarded by mu_
  int reads_ = 0;                          // guarded by mu_
};

bool wait_until(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class PowerTimelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto meter = std::make_unique<SteppedMeter>(&clock_);
    meter_ = meter.get();
    std::vector<std::unique_ptr<Meter>> meters;
    meters.push_back(std::move(meter));
    MonitorOptions options;
    options.interval_ms = 100;
    monitor_ = std::move(Monitor::create(env_, std::move(meters), options)).value();
    store_ = std::move(SqliteStore::open(":memory:")).value();
    client_ = std::move(TrackingClient::start_run(store_.get(), "timeline", "r")).value();
  }
  // One sampling interval at these powers: the sampler records one sample.
  ::testing::AssertionResult tick(double package_w, double gpu_w) {
    if (!wait_until([&] { return clock_.sleepers() == 1; })) return ::testing::AssertionFailure() << "no sleep";
    meter_->set_power_w(package_w, gpu_w);
    const int before = meter_->reads();
    clock_.advance_ms(100);
    if (!wait_until([&] { return meter_->reads() > before && clock_.sleepers() == 1; })) {
      return ::testing::AssertionFailure() << "no sample";
    }
    return ::testing::AssertionSuccess();
  }

  FakeClock clock_{0, 1'700'000'000'000};
  Env env_{"/nonexistent/sys", "/nonexistent/proc", &clock_};
  SteppedMeter* meter_ = nullptr;  // owned by monitor_
  std::unique_ptr<Monitor> monitor_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<TrackingClient> client_;
};

TEST_F(PowerTimelineTest, PeaksAreTheHighestSampledPowerAndEverySampleIsStoredOnce) {
  PowerTimelineRecorder recorder(*monitor_, *client_);
  EXPECT_EQ(recorder.peak_w(), (std::vector<double>{0.0, 0.0}));
  ASSERT_TRUE(monitor_->start().ok());
  ASSERT_TRUE(tick(10, 200));
  ASSERT_TRUE(tick(80, 150));  // the package's peak
  ASSERT_TRUE(recorder.drain().ok());
  EXPECT_DOUBLE_EQ(recorder.peak_w()[0], 80.0);
  EXPECT_DOUBLE_EQ(recorder.peak_w()[1], 200.0);
  ASSERT_TRUE(tick(10, 250));  // the GPU's peak, after a drain
  ASSERT_TRUE(tick(30, 100));
  monitor_->stop();  // no half interval has passed since: no extra sample
  ASSERT_TRUE(recorder.finish().ok());
  EXPECT_DOUBLE_EQ(recorder.peak_w()[0], 80.0) << "not the last or the mean (32.5)";
  EXPECT_DOUBLE_EQ(recorder.peak_w()[1], 250.0);

  ASSERT_TRUE(client_->end_run().ok());
  auto timeline = store_->get_power_samples(client_->run_id());
  ASSERT_TRUE(timeline.ok()) << timeline.status().to_string();
  EXPECT_EQ(timeline->domains, (std::vector<std::string>{"package-0", "gpu-0"}));
  ASSERT_EQ(timeline->samples.size(), 4u);
  const double package_w[] = {10, 80, 10, 30}, gpu_w[] = {200, 150, 250, 100};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(timeline->samples[k].timestamp_ms, 1'700'000'000'000 + 100 * static_cast<int64_t>(k + 1));
    EXPECT_DOUBLE_EQ(timeline->samples[k].power_w[0], package_w[k]) << k;
    EXPECT_DOUBLE_EQ(timeline->samples[k].power_w[1], gpu_w[k]) << k;
  }
}

}  // namespace
}  // namespace wattlab
