#include "wattlab/energy/attribution.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace wattlab {
namespace {

TEST(AttributionTest, DomainKindsByName) {
  for (const char* cpu : {"package-0", "package-1", "psys", "cpu-estimated", "package-0/core"}) {
    EXPECT_EQ(domain_kind(cpu), DomainKind::kCpu) << cpu;
  }
  for (const char* ram : {"ram-estimated", "package-0/dram", "dram"}) EXPECT_EQ(domain_kind(ram), DomainKind::kRam) << ram;
  EXPECT_EQ(domain_kind("gpu-0"), DomainKind::kGpu);
  EXPECT_EQ(domain_kind("gpu-12"), DomainKind::kGpu);
}

TEST(AttributionTest, EachKindTimesItsShareAndDetailDomainsSkipped) {
  EnergyWindow w;
  w.domains = {{"package-0", 100.0, false, true},
               {"package-0/core", 70.0, false, false},  // inside package-0: never counted
               {"package-0/dram", 20.0, false, true},
               {"psys", 500.0, false, false},
               {"gpu-0", 300.0, false, true}};
  const AttributedEnergy a = attribute_energy(w, {.cpu_busy_share = 0.25, .ram_share = 0.1});
  EXPECT_DOUBLE_EQ(a.cpu_j, 25.0);
  EXPECT_DOUBLE_EQ(a.ram_j, 2.0);
  EXPECT_DOUBLE_EQ(a.gpu_j, 300.0);
  EXPECT_DOUBLE_EQ(a.energy_j(), 327.0);
  // Shares outside [0, 1] are clamped: attribution never exceeds the machine.
  const AttributedEnergy clamped = attribute_energy(w, {.cpu_busy_share = 1.7, .ram_share = -0.2});
  EXPECT_DOUBLE_EQ(clamped.cpu_j, 100.0);
  EXPECT_DOUBLE_EQ(clamped.ram_j, 0.0);
}

// The estimator's RAM power is installed GiB x 0.375 W/GiB, so the RAM share
// gives resident GiB x 0.375 W/GiB: 2 GiB resident of 16 installed over 10 s.
TEST(AttributionTest, EstimatedRamByResidentMemoryIsTheReferenceStudysFigure) {
  const double installed_gib = 16, resident_gib = 2, seconds = 10, w_per_gib = 0.375;
  EnergyWindow w;
  w.domains = {{"ram-estimated", installed_gib * w_per_gib * seconds, true, true}};
  const AttributedEnergy a = attribute_energy(w, {.cpu_busy_share = 1, .ram_share = resident_gib / installed_gib});
  EXPECT_DOUBLE_EQ(a.ram_j, 7.5);  // 2 GiB x 0.375 W/GiB x 10 s
}

TEST(AttributionTest, TimeWeightedMeanJoinsSamplesByLines) {
  TimeWeightedMean m;
  EXPECT_EQ(m.mean(), 0.0);
  m.add(1000, 4);
  EXPECT_EQ(m.mean(), 4.0);
  m.add(2000, 4);   // 4 for 1 s
  m.add(4000, 10);  // rising from 4 to 10 over 2 s: mean 7
  EXPECT_DOUBLE_EQ(m.mean(), (4.0 * 1 + 7.0 * 2) / 3);
}

class ProcMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("wattlab_attribution_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "proc/42");
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
};

TEST_F(ProcMemoryTest, ResidentAndInstalledMemoryInBytes) {
  std::ofstream(root_ / "proc/42/status") << "Name:\ttrain\nVmPeak:\t  900000 kB\nVmRSS:\t  524288 kB\nThreads:\t3\n";
  std::ofstream(root_ / "proc/meminfo") << "MemTotal:       16777216 kB\nMemFree:         1000 kB\n";
  auto rss = read_resident_bytes(*env_, 42);
  ASSERT_TRUE(rss.ok()) << rss.status().to_string();
  EXPECT_EQ(*rss, 512.0 * 1024 * 1024);
  auto installed = read_installed_memory_bytes(*env_);
  ASSERT_TRUE(installed.ok()) << installed.status().to_string();
  EXPECT_EQ(*installed, 16.0 * 1024 * 1024 * 1024);

  EXPECT_EQ(read_resident_bytes(*env_, 43).status().code(), Status::Code::kNotFound);
  std::ofstream(root_ / "proc/42/status", std::ios::trunc) << "Name:\tzombie\n";  // kernel threads, zombies
  EXPECT_EQ(read_resident_bytes(*env_, 42).status().code(), Status::Code::kCorrupt);
  std::ofstream(root_ / "proc/meminfo", std::ios::trunc) << "MemFree: 5 kB\n";
  auto bad = read_installed_memory_bytes(*env_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find((root_ / "proc/meminfo").string()), std::string::npos);
}

}  // namespace
}  // namespace wattlab
