#include "wattlab/energy/estimator_meter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace wattlab {
namespace {

// A fixture /proc tree under a temporary folder, and a FakeClock.
class EstimatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wattlab_estimator_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "proc");
    std::filesystem::create_directories(root_ / "sys");
    write_cpuinfo("Intel(R) Xeon(R) CPU", 2, 1);
    write_meminfo(16 * 1024 * 1024);  // 16 GiB
    write_stat(1000, 0, 0, 1000);
    env_ptr_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void write_stat(uint64_t user, uint64_t system, uint64_t steal, uint64_t idle, uint64_t iowait = 0) {
    std::ofstream out(root_ / "proc/stat", std::ios::trunc);
    // user nice system idle iowait irq softirq steal guest guest_nice
    out << "cpu  " << user << " 0 " << system << " " << idle << " " << iowait << " 0 0 " << steal << " 0 0\n"
        << "cpu0 1 0 0 1 0 0 0 0 0 0\n"
        << "cpu1 1 0 0 1 0 0 0 0 0 0\n"
        << "cpu2 1 0 0 1 0 0 0 0 0 0\n"
        << "intr 12345\nctxt 678\n";
  }
  // A cgroup hierarchy under sys/fs/cgroup/`dir`, at its root (v1: with
  // release_agent) or not (v2: with cgroup.type, as inside a namespace).
  void write_cgroup_file(const std::string& dir, const std::string& file, const std::string& text) {
    std::filesystem::create_directories(root_ / "sys/fs/cgroup" / dir);
    std::ofstream(root_ / "sys/fs/cgroup" / dir / file, std::ios::trunc) << text;
  }
  void write_cpuinfo(const std::string& model, int processors, int packages) {
    std::ofstream out(root_ / "proc/cpuinfo", std::ios::trunc);
    for (int i = 0; i < processors; ++i) {
      out << "processor\t: " << i << "\nvendor_id\t: X\nmodel name\t: " << model << "\nphysical id\t: "
          << (i % packages) << "\nflags\t\t: fpu\n\n";
    }
  }
  void write_meminfo(uint64_t kib) {
    std::ofstream out(root_ / "proc/meminfo", std::ios::trunc);
    out << "MemTotal:       " << kib << " kB\nMemFree:         1000 kB\n";
  }
  // A CPU of 100 W at full load and 0 W idle: its power in watts is the utilisation in percent.
  static EstimatorOptions hundred_watts_at_full_load() {
    EstimatorOptions options;
    options.cpu_tdp_w = 100;
    options.cpu_idle_fraction = 0;
    return options;
  }
  std::unique_ptr<CpuRamEstimatorMeter> make(const EstimatorOptions& options = {}) {
    auto meter = CpuRamEstimatorMeter::create(*env_ptr_, options);
    EXPECT_TRUE(meter.ok()) << meter.status().to_string();
    return meter.ok() ? std::move(meter).value() : nullptr;
  }

  std::filesystem::path root_;
  FakeClock clock_;
  std::unique_ptr<Env> env_ptr_;  // over root_/sys and root_/proc
};

TEST_F(EstimatorTest, HalfUtilisationForTenSecondsAtHundredWatts) {
  EstimatorOptions options;
  options.cpu_tdp_w = 100;
  auto meter = make(options);
  ASSERT_NE(meter, nullptr);
  ASSERT_EQ(meter->domains().size(), 2u);
  EXPECT_EQ(meter->domains()[0].name, "cpu-estimated");
  EXPECT_EQ(meter->domains()[1].name, "ram-estimated");
  EXPECT_TRUE(meter->domains()[0].estimated);
  EXPECT_TRUE(meter->domains()[1].estimated);

  // +500 busy, +500 idle jiffies over 10 s: 50 % → 10 W + 90 W × 0.5 = 55 W.
  write_stat(1500, 0, 0, 1500);
  clock_.advance_ms(10'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  ASSERT_EQ(energy_j.size(), 2u);
  EXPECT_DOUBLE_EQ(energy_j[0], 550.0);
  EXPECT_DOUBLE_EQ(energy_j[1], 60.0);  // 16 GiB × 0.375 W/GiB × 10 s
  EXPECT_DOUBLE_EQ(meter->last_utilisation(), 0.5);

  // Counters unchanged for 5 s: the previous utilisation carries on.
  clock_.advance_ms(5'000);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 550.0 + 275.0);

  // Fully busy for 2 s (system time counts as busy): 100 W.
  write_stat(1550, 50, 0, 1500);
  clock_.advance_ms(2'000);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 825.0 + 200.0);
  EXPECT_DOUBLE_EQ(energy_j[1], 6.0 * 17);
}

TEST_F(EstimatorTest, StealAndIowaitAreNotBusy) {
  auto meter = make(hundred_watts_at_full_load());
  ASSERT_NE(meter, nullptr);
  write_stat(1030, 0, 40, 1020, 10);  // +30 busy, +40 steal, +20 idle, +10 iowait
  clock_.advance_ms(1'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(meter->last_utilisation(), 0.3);
  EXPECT_DOUBLE_EQ(energy_j[0], 30.0);
}

TEST_F(EstimatorTest, TableTdpTimesPackages) {
  write_cpuinfo("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", 4, 2);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  const CpuRamModel& model = meter->model();
  EXPECT_EQ(model.tdp_source, CpuRamModel::TdpSource::kTable);
  EXPECT_EQ(model.tdp_table_name, "Intel Xeon Gold 6148");
  EXPECT_EQ(model.tdp_w, 150.0);
  EXPECT_EQ(model.package_share, 2.0);
  EXPECT_EQ(model.logical_cpus, 4);
  // Idle for 1 s: 2 packages × 10 % × 150 W = 30 J.
  write_stat(1000, 0, 0, 2000);
  clock_.advance_ms(1'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 30.0);
  EXPECT_EQ(meter->describe(),
            "CPU: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz, TDP 150 W (table: Intel Xeon Gold 6148) \u00d7 2 "
            "packages = 300 W at full load, idle 10 % = 30 W (estimated), utilisation from /proc/stat; RAM 16 GiB \u00d7 0.375 W/GiB = 6 W "
            "(estimated)");
}

TEST_F(EstimatorTest, UnknownCpuFallsBackToFourWattsPerThread) {
  write_cpuinfo("AMD EPYC", 2, 1);
  write_meminfo(24542212);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->model().tdp_source, CpuRamModel::TdpSource::kPerThreadFallback);
  EXPECT_EQ(meter->model().tdp_w, 8.0);
  EXPECT_EQ(meter->describe(),
            "CPU: AMD EPYC, TDP unknown \u2192 4 W \u00d7 2 threads = 8 W at full load, idle 10 % = 0.8 W "
            "(estimated), utilisation from /proc/stat; RAM 23.4 GiB \u00d7 0.375 W/GiB = 8.78 W (estimated)");
  // Fully busy for 4 s: 8 W × 4 s.
  write_stat(2000, 0, 0, 1000);
  clock_.advance_ms(4'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 32.0);
  EXPECT_DOUBLE_EQ(energy_j[1], 24542212.0 / (1024 * 1024) * 0.375 * 4);
}

TEST_F(EstimatorTest, UserTdpAndShareOverrideTheTable) {
  write_cpuinfo("AMD EPYC 7763 64-Core Processor", 8, 1);
  EstimatorOptions options;
  options.cpu_package_share = 0.125;  // 8 of 64 cores
  auto meter = make(options);
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->model().tdp_w, 280.0);
  EXPECT_DOUBLE_EQ(meter->model().cpu_max_w(), 35.0);
  options.cpu_tdp_w = 200;
  meter = make(options);
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->model().tdp_source, CpuRamModel::TdpSource::kUser);
  EXPECT_DOUBLE_EQ(meter->model().cpu_max_w(), 25.0);
}

TEST_F(EstimatorTest, MissingCpuinfoMakesTheCpuUnknownNotAnError) {
  std::filesystem::remove(root_ / "proc/cpuinfo");
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->model().cpu_model_name, "unknown CPU");
  EXPECT_EQ(meter->model().logical_cpus, 3);  // cpu0..cpu2 in /proc/stat
  EXPECT_EQ(meter->model().tdp_w, 12.0);
}

TEST_F(EstimatorTest, UnreadableProcFilesAreNamed) {
  std::filesystem::remove(root_ / "proc/stat");
  auto no_stat = CpuRamEstimatorMeter::create(*env_ptr_);
  ASSERT_FALSE(no_stat.ok());
  EXPECT_EQ(no_stat.status().code(), Status::Code::kNotFound);
  EXPECT_NE(no_stat.status().message().find((root_ / "proc/stat").string()), std::string::npos)
      << no_stat.status().to_string();

  std::ofstream(root_ / "proc/stat") << "intr 1\n";
  auto bad_stat = CpuRamEstimatorMeter::create(*env_ptr_);
  EXPECT_EQ(bad_stat.status().code(), Status::Code::kCorrupt);

  write_stat(1000, 0, 0, 1000);
  std::filesystem::remove(root_ / "proc/meminfo");
  auto no_meminfo = CpuRamEstimatorMeter::create(*env_ptr_);
  ASSERT_FALSE(no_meminfo.ok());
  EXPECT_NE(no_meminfo.status().message().find("meminfo"), std::string::npos);
}

TEST_F(EstimatorTest, ReadErrorAccumulatesNothingAndTheNextReadCoversTheGap) {
  EstimatorOptions options;
  options.cpu_tdp_w = 100;
  options.cpu_idle_fraction = 0;
  options.ram_w_per_gib = 0;
  auto meter = make(options);
  ASSERT_NE(meter, nullptr);
  std::ofstream(root_ / "proc/stat", std::ios::trunc) << "intr 0\n";  // no aggregate cpu line
  clock_.advance_ms(1'000);
  std::vector<double> energy_j;
  EXPECT_FALSE(meter->read_energy_j(&energy_j).ok());
  write_stat(2000, 0, 0, 1000);  // fully busy since creation
  clock_.advance_ms(1'000);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 200.0);
}

// Three online CPUs (cpu0..cpu2 in the fixture's /proc/stat) for 2 s are
// 6 s of CPU time; the root cpuacct counted 1.5 s busy: 25 %. /proc/stat is
// not read (its counters, left unchanged, would say "keep the utilisation").
TEST_F(EstimatorTest, RootCpuacctGivesTheUtilisationInNanoseconds) {
  write_cgroup_file("cpuacct", "release_agent", "");
  write_cgroup_file("cpuacct", "cpuacct.usage", "7000000000\n");
  auto meter = make(hundred_watts_at_full_load());
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->busy_source(), CpuBusySource::kCgroupV1Cpuacct);
  EXPECT_NE(meter->describe().find("utilisation from cgroup-v1 cpuacct.usage"), std::string::npos);
  write_cgroup_file("cpuacct", "cpuacct.usage", "8500000000\n");
  clock_.advance_ms(2'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(meter->last_utilisation(), 0.25);
  EXPECT_DOUBLE_EQ(energy_j[0], 50.0);  // 25 W × 2 s

  // A malformed file later is an error naming it; nothing accumulates.
  write_cgroup_file("cpuacct", "cpuacct.usage", "lots\n");
  clock_.advance_ms(1'000);
  Status status = meter->read_energy_j(&energy_j);
  EXPECT_EQ(status.code(), Status::Code::kCorrupt);
  EXPECT_NE(status.message().find("cpuacct.usage"), std::string::npos) << status.to_string();
}

// v2: busy = user_usec + system_usec of the root's cpu.stat.
TEST_F(EstimatorTest, RootCgroupV2CpuStatGivesTheUtilisation) {
  write_cgroup_file("", "cpu.stat", "usage_usec 900\nuser_usec 500\nsystem_usec 400\n");
  auto meter = make(hundred_watts_at_full_load());
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->busy_source(), CpuBusySource::kCgroupV2CpuStat);
  // +2.4 s busy of 3 CPUs × 1 s: 80 %.
  write_cgroup_file("", "cpu.stat", "usage_usec 2400900\nuser_usec 2000500\nsystem_usec 400400\nnr_periods 0\n");
  clock_.advance_ms(1'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(meter->last_utilisation(), 0.8);
}

// A cgroup that is not its hierarchy's root (a container's namespace) counts
// only the container; an unparsable one says nothing: /proc/stat is used.
TEST_F(EstimatorTest, CgroupsThatAreNotTheMachineFallBackToProcStat) {
  write_cgroup_file("cpuacct", "cpuacct.usage", "7000000000\n");  // no release_agent
  write_cgroup_file("", "cpu.stat", "usage_usec 900\nuser_usec 500\nsystem_usec 400\n");
  write_cgroup_file("", "cgroup.type", "domain\n");
  write_cgroup_file("unified", "cpu.stat", "usage_usec 900\n");  // at a root, but no user/system lines
  auto meter = make(hundred_watts_at_full_load());
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->busy_source(), CpuBusySource::kProcStat);
  write_stat(1030, 0, 0, 1070);  // +30 busy, +70 idle
  clock_.advance_ms(1'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(meter->last_utilisation(), 0.3);
}

TEST_F(EstimatorTest, RejectsOutOfRangeOptions) {
  EstimatorOptions options;
  options.cpu_tdp_w = -1;
  EXPECT_EQ(CpuRamEstimatorMeter::create(*env_ptr_, options).status().code(), Status::Code::kInvalidArgument);
  options = {};
  options.cpu_idle_fraction = 1.5;
  EXPECT_EQ(CpuRamEstimatorMeter::create(*env_ptr_, options).status().code(), Status::Code::kInvalidArgument);
  options = {};
  options.cpu_package_share = 0;
  EXPECT_EQ(CpuRamEstimatorMeter::create(*env_ptr_, options).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace wattlab
