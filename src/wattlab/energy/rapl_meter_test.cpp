#include "wattlab/energy/rapl_meter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "wattlab/energy/monitor.h"

namespace wattlab {
namespace {

constexpr uint64_t kPackageRangeUj = 262'143'328'850;  // a typical Intel package range
constexpr uint64_t kDramRangeUj = 65'712'999'613;      // a typical Intel DRAM range

// A fixture powercap tree under a temporary folder, and a FakeClock.
class RaplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wattlab_rapl_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    powercap_ = root_ / "sys/class/powercap";
    std::filesystem::create_directories(powercap_);
    std::filesystem::create_directories(root_ / "proc");
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(root_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(root_);
  }

  void zone(const std::string& dir, const std::string& name, uint64_t energy_uj, uint64_t range_uj = kPackageRangeUj) {
    std::filesystem::create_directories(powercap_ / dir);
    std::ofstream(powercap_ / dir / "name") << name << "\n";
    std::ofstream(powercap_ / dir / "max_energy_range_uj") << range_uj << "\n";
    std::ofstream(powercap_ / dir / "enabled") << "1\n";
    set(dir, energy_uj);
  }
  void set(const std::string& dir, uint64_t energy_uj) {
    std::ofstream(powercap_ / dir / "energy_uj", std::ios::trunc) << energy_uj << "\n";
  }
  std::unique_ptr<RaplPowercapMeter> make() {
    auto meter = RaplPowercapMeter::create(*env_);
    EXPECT_TRUE(meter.ok()) << meter.status().to_string();
    return meter.ok() ? std::move(meter).value() : nullptr;
  }
  static std::vector<std::string> names(const std::vector<EnergyDomain>& domains) {
    std::vector<std::string> out;
    for (const auto& d : domains) out.push_back(d.name);
    return out;
  }
  static std::vector<bool> totals(const std::vector<EnergyDomain>& domains) {
    std::vector<bool> out;
    for (const auto& d : domains) out.push_back(d.counts_in_total);
    return out;
  }

  std::filesystem::path root_;
  std::filesystem::path powercap_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
};

TEST_F(RaplTest, OneSocketWithCoreAndUncore) {
  std::filesystem::create_directories(powercap_ / "intel-rapl");  // the control type: not a zone
  zone("intel-rapl:0", "package-0", 1'000'000);
  zone("intel-rapl:0:0", "core", 500'000);
  zone("intel-rapl:0:1", "uncore", 20'000);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->name(), "rapl");
  EXPECT_EQ(names(meter->domains()), (std::vector<std::string>{"package-0", "package-0/core", "package-0/uncore"}));
  EXPECT_EQ(totals(meter->domains()), (std::vector<bool>{true, false, false}));
  for (const auto& d : meter->domains()) EXPECT_FALSE(d.estimated);
  EXPECT_DOUBLE_EQ(meter->max_read_interval_ms(), kPackageRangeUj / 1e6);  // 262 s at 1000 W

  // 10 s at 45.3 W package, 30.1 W core, 2.2 W uncore, read every 100 ms.
  uint64_t pkg = 1'000'000, core = 500'000, uncore = 20'000;
  std::vector<double> energy_j;
  for (int step = 0; step < 100; ++step) {
    pkg += 4'530'000;
    core += 3'010'000;
    uncore += 220'000;
    set("intel-rapl:0", pkg);
    set("intel-rapl:0:0", core);
    set("intel-rapl:0:1", uncore);
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  }
  ASSERT_EQ(energy_j.size(), 3u);
  EXPECT_NEAR(energy_j[0], 453.0, 453.0 * 0.005);
  EXPECT_NEAR(energy_j[1], 301.0, 301.0 * 0.005);
  EXPECT_NEAR(energy_j[2], 22.0, 22.0 * 0.005);
  EXPECT_DOUBLE_EQ(energy_j[0], 453.0);  // counters are exact
}

TEST_F(RaplTest, TwoSocketsWithDramAndPsysCountEachOnce) {
  zone("intel-rapl:0", "package-0", 0);
  zone("intel-rapl:0:0", "core", 0);
  zone("intel-rapl:0:1", "dram", 0, kDramRangeUj);
  zone("intel-rapl:1", "package-1", 0);
  zone("intel-rapl:1:0", "core", 0);
  zone("intel-rapl:1:1", "dram", 0, kDramRangeUj);
  zone("intel-rapl:2", "psys", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(names(meter->domains()),
            (std::vector<std::string>{"package-0", "package-0/core", "package-0/dram", "package-1", "package-1/core",
                                      "package-1/dram", "psys"}));
  EXPECT_EQ(totals(meter->domains()), (std::vector<bool>{true, false, true, true, false, true, false}));
  EXPECT_DOUBLE_EQ(meter->max_read_interval_ms(), kDramRangeUj / 1e6);  // the smallest range sets it
  EXPECT_NE(meter->describe().find("intel-rapl:2 \u2192 psys (platform, not added to totals)"), std::string::npos)
      << meter->describe();

  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::move(meter));
  auto monitor = Monitor::create(*env_, std::move(meters));
  ASSERT_TRUE(monitor.ok()) << monitor.status().to_string();
  auto id = (*monitor)->begin_window("epoch");
  ASSERT_TRUE(id.ok());
  // 5 s: package-0 100 J (core 60 J), dram-0 10 J, package-1 80 J (core 50 J),
  // dram-1 8 J, psys 250 J (covers both packages and more).
  set("intel-rapl:0", 100'000'000);
  set("intel-rapl:0:0", 60'000'000);
  set("intel-rapl:0:1", 10'000'000);
  set("intel-rapl:1", 80'000'000);
  set("intel-rapl:1:0", 50'000'000);
  set("intel-rapl:1:1", 8'000'000);
  set("intel-rapl:2", 250'000'000);
  clock_.advance_ms(5'000);
  auto window = (*monitor)->end_window(*id);
  ASSERT_TRUE(window.ok()) << window.status().to_string();
  ASSERT_EQ(window->domains.size(), 7u);
  EXPECT_DOUBLE_EQ(window->domains[6].energy_j, 250.0);
  EXPECT_FALSE(window->domains[6].counts_in_total);
  EXPECT_DOUBLE_EQ(window->energy_j(), 100.0 + 10.0 + 80.0 + 8.0);  // not core, not psys
  EXPECT_FALSE(window->estimated());
}

TEST_F(RaplTest, MmioDuplicateOfAnMsrPackageIsDropped) {
  zone("intel-rapl:0", "package-0", 0);
  zone("intel-rapl:0:0", "core", 0);
  zone("intel-rapl-mmio:0", "package-0", 0);
  zone("intel-rapl-mmio:0:0", "core", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(names(meter->domains()), (std::vector<std::string>{"package-0", "package-0/core"}));
  for (const RaplZone& z : meter->zones()) EXPECT_FALSE(z.mmio) << z.zone;
  EXPECT_NE(meter->describe().find("dropped intel-rapl-mmio:0 (duplicates package-0)"), std::string::npos)
      << meter->describe();

  // The MMIO counter moving does not change the figures.
  set("intel-rapl:0", 7'000'000);
  set("intel-rapl-mmio:0", 7'000'000);
  std::vector<double> energy_j;
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_EQ(energy_j, (std::vector<double>{7.0, 0.0}));
}

TEST_F(RaplTest, MmioZoneWithoutAnMsrTwinIsKept) {
  zone("intel-rapl:0", "package-0", 0);
  zone("intel-rapl-mmio:1", "package-1", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(names(meter->domains()), (std::vector<std::string>{"package-0", "package-1"}));
  EXPECT_TRUE(meter->zones()[1].mmio);
}

TEST_F(RaplTest, AmdZonesAndRepeatedNamesStayDistinct) {
  // AMD through the intel-rapl files (package and per-core "core"), and an
  // amd-rapl control type; a repeated name gets the zone appended.
  zone("intel-rapl:0", "package-0", 0);
  zone("intel-rapl:0:0", "core", 0);
  zone("intel-rapl:1", "package-0", 0);
  zone("amd-rapl:0", "package-2", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(names(meter->domains()),
            (std::vector<std::string>{"package-2", "package-0", "package-0/core", "package-0@intel-rapl:1"}));
}

TEST_F(RaplTest, PsysCountsWhenThereIsNoPackage) {
  zone("intel-rapl:0", "psys", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(totals(meter->domains()), (std::vector<bool>{true}));
}

TEST_F(RaplTest, WraparoundInsideAWindow) {
  // 100 W for 10 s, read every 100 ms, starting 50 J below the top of the range.
  uint64_t pkg = kPackageRangeUj - 50'000'000;
  zone("intel-rapl:0", "package-0", pkg);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::move(meter));
  auto monitor = Monitor::create(*env_, std::move(meters));
  ASSERT_TRUE(monitor.ok());
  auto id = (*monitor)->begin_window("run");
  ASSERT_TRUE(id.ok());
  int wraps = 0;
  for (int step = 0; step < 100; ++step) {
    pkg += 10'000'000;
    if (pkg > kPackageRangeUj) {
      pkg -= kPackageRangeUj;
      ++wraps;
    }
    set("intel-rapl:0", pkg);
    clock_.advance_ms(100);
    // The sampler's reads, done by hand (a window read is the same read).
    auto inner = (*monitor)->begin_window("tick");
    ASSERT_TRUE(inner.ok());
    ASSERT_TRUE((*monitor)->end_window(*inner).ok());
  }
  EXPECT_EQ(wraps, 1);
  auto window = (*monitor)->end_window(*id);
  ASSERT_TRUE(window.ok());
  EXPECT_NEAR(window->energy_j(), 1000.0, 1000.0 * 0.005);
  EXPECT_NEAR(window->domains[0].energy_j, 1000.0, 1e-6);
}

TEST_F(RaplTest, ASubZoneThatWrapsAlone) {
  uint64_t pkg = 1'000'000'000;                 // far from its top
  uint64_t dram = kDramRangeUj - 3'000'000;     // 3 J from its top
  zone("intel-rapl:0", "package-0", pkg);
  zone("intel-rapl:0:0", "dram", dram, kDramRangeUj);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  std::vector<double> energy_j;
  // Two reads 1 s apart: package 40 J each, DRAM 5 J each (wraps in the first).
  for (int step = 0; step < 2; ++step) {
    pkg += 40'000'000;
    dram = (dram + 5'000'000) % kDramRangeUj;
    set("intel-rapl:0", pkg);
    set("intel-rapl:0:0", dram);
    clock_.advance_ms(1'000);
    ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  }
  EXPECT_DOUBLE_EQ(energy_j[0], 80.0);
  EXPECT_DOUBLE_EQ(energy_j[1], 10.0);
}

TEST_F(RaplTest, NoPowercapIsUnavailable) {
  auto meter = RaplPowercapMeter::create(*env_);
  ASSERT_FALSE(meter.ok());
  EXPECT_EQ(meter.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(meter.status().message(),
            "no powercap zones under " + powercap_.string() + " (VM or container without RAPL)");
}

TEST_F(RaplTest, AnUnreadableCounterFailsTheFactoryNamingTheFile) {
  zone("intel-rapl:0", "package-0", 0);
  // A directory where energy_uj should be: the read fails even for root.
  std::filesystem::remove(powercap_ / "intel-rapl:0/energy_uj");
  std::filesystem::create_directories(powercap_ / "intel-rapl:0/energy_uj");
  auto meter = RaplPowercapMeter::create(*env_);
  ASSERT_FALSE(meter.ok());
  EXPECT_NE(meter.status().message().find((powercap_ / "intel-rapl:0/energy_uj").string()), std::string::npos)
      << meter.status().to_string();
}

TEST_F(RaplTest, PermissionDeniedGivesTheFix) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file; the message is checked by PermissionMessageNamesTheFix";
  zone("intel-rapl:0", "package-0", 0);
  ASSERT_EQ(chmod((powercap_ / "intel-rapl:0/energy_uj").c_str(), 0), 0);
  auto meter = RaplPowercapMeter::create(*env_);
  ASSERT_FALSE(meter.ok());
  EXPECT_EQ(meter.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(meter.status().message().find("sudo chmod o+r " + (powercap_ / "*/energy_uj").string()),
            std::string::npos)
      << meter.status().message();
}

TEST_F(RaplTest, PermissionMessageNamesTheFix) {
  const std::filesystem::path path = "/sys/class/powercap/intel-rapl:0/energy_uj";
  Status status = internal::rapl_read_error(path, Status::permission_denied("cannot read " + path.string()));
  EXPECT_EQ(status.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(status.message().rfind("cannot read /sys/class/powercap/intel-rapl:0/energy_uj: permission denied", 0),
            0u);
  EXPECT_NE(status.message().find("`sudo chmod o+r /sys/class/powercap/*/energy_uj`"), std::string::npos);
  EXPECT_NE(status.message().find("--meter estimate"), std::string::npos);
  // Other errors pass through unchanged.
  Status other = internal::rapl_read_error(path, Status::io_error("boom"));
  EXPECT_EQ(other.code(), Status::Code::kIoError);
  EXPECT_EQ(other.message(), "boom");
}

TEST_F(RaplTest, MalformedFilesAreReported) {
  zone("intel-rapl:0", "package-0", 0);
  std::ofstream(powercap_ / "intel-rapl:0/max_energy_range_uj", std::ios::trunc) << "lots\n";
  auto meter = RaplPowercapMeter::create(*env_);
  ASSERT_FALSE(meter.ok());
  EXPECT_EQ(meter.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(meter.status().message().find("max_energy_range_uj"), std::string::npos);
}

TEST_F(RaplTest, AFailedReadLosesNothing) {
  zone("intel-rapl:0", "package-0", 0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  std::ofstream(powercap_ / "intel-rapl:0/energy_uj", std::ios::trunc) << "garbage\n";
  std::vector<double> energy_j;
  Status status = meter->read_energy_j(&energy_j);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("intel-rapl:0/energy_uj"), std::string::npos) << status.message();
  set("intel-rapl:0", 12'500'000);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 12.5);
}

}  // namespace
}  // namespace wattlab
