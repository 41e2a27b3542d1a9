#include "wattlab/run/session_energy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

// Domains drawing a constant power each, integrated against the clock.
class ConstantPowerMeter final : public Meter {
 public:
  ConstantPowerMeter(Clock* clock, std::vector<EnergyDomain> domains, std::vector<double> power_w)
      : clock_(clock), domains_(std::move(domains)), power_w_(std::move(power_w)), start_ms_(clock->monotonic_ms()) {}
  std::string name() const override { return "constant"; }
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  Status read_energy_j(std::vector<double>* energy_j) override {
    energy_j->clear();
    for (double w : power_w_) energy_j->push_back(w * (clock_->monotonic_ms() - start_ms_) / 1000.0);
    return Status();
  }

 private:
  Clock* clock_;
  std::vector<EnergyDomain> domains_;
  std::vector<double> power_w_;
  double start_ms_;
};

class SessionEnergyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wattlab_session_energy_test_" + std::to_string(getpid()));
    fs::create_directories(root_ / "proc/100");
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
    std::ofstream(root_ / "proc/meminfo") << "MemTotal:       16777216 kB\n";  // 16 GiB
    resident_gib(2);
    machine(0, 0);
    process(0);
    // The estimator's figures for 16 GiB and a 8 W CPU: RAM 16 x 0.375 = 6 W, the CPU busy.
    std::vector<std::unique_ptr<Meter>> meters;
    meters.push_back(std::make_unique<ConstantPowerMeter>(
        &clock_, std::vector<EnergyDomain>{{"cpu-estimated", true}, {"ram-estimated", true}},
        std::vector<double>{8.0, 6.0}));
    auto monitor = Monitor::create(*env_, std::move(meters));
    ASSERT_TRUE(monitor.ok()) << monitor.status().to_string();
    monitor_ = std::move(*monitor);
  }
  void TearDown() override { fs::remove_all(root_); }

  void machine(uint64_t busy, uint64_t idle) {
    std::ofstream(root_ / "proc/stat", std::ios::trunc) << "cpu  " << busy << " 0 0 " << idle << " 0 0 0 0 0 0\n";
  }
  void process(uint64_t utime) {
    std::ofstream(root_ / "proc/100/stat", std::ios::trunc)
        << "100 (wattlab) R 1 100 100 0 -1 4194304 100 0 0 0 " << utime << " 0 0 0 20 0 1 0 100 1000 10\n";
  }
  void resident_gib(double gib) {
    std::ofstream(root_ / "proc/100/status", std::ios::trunc)
        << "Name:\twattlab\nVmRSS:\t" << static_cast<int64_t>(gib * 1024 * 1024) << " kB\n";
  }

  fs::path root_;
  FakeClock clock_{0, 1'700'000'000'000};
  std::unique_ptr<Env> env_;
  std::unique_ptr<Monitor> monitor_;
};

// 10 s in which the machine is busy 1500 of 2000 ticks, 1000 of them this
// run's: it gets 2/3 of the CPU's 80 J and 2/16 of the RAM's 60 J, on top of
// what its earlier sessions recorded; the other processes held 25 % of the CPU.
TEST_F(SessionEnergyTest, TotalsAddTheRunsShareToItsEarlierSessions) {
  // The earlier session logged 50 J (20 J its share) in 10 s at its epoch 1's
  // end, then finished epoch 2's training (10 J, 2 s) and was killed.
  RunData earlier;
  earlier.latest_metrics["energy_j"] = {"energy_j", 50.0, 1000, 1};
  earlier.latest_metrics["attributed_energy_j"] = {"attributed_energy_j", 20.0, 1000, 1};
  earlier.latest_metrics["duration_s"] = {"duration_s", 10.0, 1000, 1};
  auto window = [](const char* name, int64_t end_ms, double energy_j, double duration_s) {
    EnergyWindow w;
    w.name = name;
    w.end_ms = end_ms;
    w.duration_s = duration_s;
    w.domains = {{"cpu-estimated", energy_j, true, true}};
    return w;
  };
  earlier.energy_windows = {window("epoch-1/train", 900, 30, 6), window("epoch-1/eval", 1000, 15, 3),
                            window("run", 800, 40, 9),  // an older session, whole
                            window("epoch-2/train", 1500, 10, 2)};
  auto run_window = monitor_->begin_window("run");
  ASSERT_TRUE(run_window.ok());
  SessionEnergy session(*env_, *monitor_, *run_window, 100, &earlier);

  clock_.advance_ms(5'000);
  machine(750, 250);
  process(500);
  session.sample();
  clock_.advance_ms(5'000);
  machine(1500, 500);
  process(1000);
  auto now = session.now();
  ASSERT_TRUE(now.ok()) << now.status().to_string();
  EXPECT_TRUE(now->attributed);
  EXPECT_DOUBLE_EQ(now->session_energy_j, 140.0);
  EXPECT_DOUBLE_EQ(now->energy_j, 50.0 + 10.0 + 140.0);
  EXPECT_DOUBLE_EQ(now->cpu_busy_share, 1000.0 / 1500.0);
  EXPECT_DOUBLE_EQ(now->session_attributed.cpu_j, 80.0 * 1000.0 / 1500.0);
  EXPECT_DOUBLE_EQ(now->session_attributed.ram_j, 60.0 * 2.0 / 16.0);  // 2 GiB x 0.375 W/GiB x 10 s
  EXPECT_DOUBLE_EQ(now->attributed_energy_j, 20.0 + 10.0 * 20.0 / 50.0 + 80.0 * 2.0 / 3.0 + 7.5);
  EXPECT_DOUBLE_EQ(now->duration_s, 10.0 + 2.0 + 10.0);
  EXPECT_DOUBLE_EQ(now->other_cpu_share, 0.25);
  EXPECT_DOUBLE_EQ(now->resident_memory_gib, 2.0);
  EXPECT_NE(now->busy_machine_warning().find("other processes used 25.0 % of the machine's CPU"), std::string::npos)
      << now->busy_machine_warning();
  auto so_far = session.energy_so_far_j();
  ASSERT_TRUE(so_far.ok());
  EXPECT_DOUBLE_EQ(*so_far, 200.0);

  // Memory grows to 6 GiB over the next 10 s (a mean of 4 GiB for it, 3 GiB
  // for the session); the machine is this run's alone.
  clock_.advance_ms(10'000);
  machine(2500, 500);
  process(2000);
  resident_gib(6);
  auto whole = monitor_->end_window(*run_window);
  ASSERT_TRUE(whole.ok());
  const RunTotals end = session.at_end(*whole);
  EXPECT_DOUBLE_EQ(end.session_energy_j, 280.0);
  EXPECT_DOUBLE_EQ(end.cpu_busy_share, 2000.0 / 2500.0);
  EXPECT_DOUBLE_EQ(end.resident_memory_gib, 3.0);
  EXPECT_DOUBLE_EQ(end.attributed_energy_j, 24.0 + 160.0 * 0.8 + 120.0 * 3.0 / 16.0);
  EXPECT_DOUBLE_EQ(end.other_cpu_share, 500.0 / 3000.0);
  const auto metrics = end.metrics();
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics[0].first, "energy_j");
  EXPECT_DOUBLE_EQ(metrics[0].second, 340.0);
  EXPECT_EQ(metrics[1].first, "attributed_energy_j");
}

TEST_F(SessionEnergyTest, AQuietMachineRaisesNoWarningAndUnreadableProcKeepsTheWhole) {
  auto window = monitor_->begin_window("run");
  ASSERT_TRUE(window.ok());
  SessionEnergy session(*env_, *monitor_, *window, 100, nullptr);
  clock_.advance_ms(1'000);
  machine(95, 105);
  process(90);
  auto now = session.now();
  ASSERT_TRUE(now.ok());
  EXPECT_DOUBLE_EQ(now->other_cpu_share, 0.025);
  EXPECT_EQ(now->busy_machine_warning(), "");

  fs::remove_all(root_ / "proc/100");  // no /proc for this process: nothing to attribute by
  SessionEnergy blind(*env_, *monitor_, *window, 100, nullptr);
  clock_.advance_ms(1'000);
  auto whole = blind.now();
  ASSERT_TRUE(whole.ok());
  EXPECT_FALSE(whole->attributed);
  EXPECT_DOUBLE_EQ(whole->attributed_energy_j, whole->energy_j);
}

}  // namespace
}  // namespace wattlab
