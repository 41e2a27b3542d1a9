#include "wattlab/energy/meters.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "wattlab/energy/monitor.h"

namespace wattlab {
namespace {

constexpr const char* kNoNvml = "libwattlab-no-such-nvml.so.1";

class EnergyMetersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wattlab_meters_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "proc");
    std::filesystem::create_directories(root_ / "sys/class/powercap");
    std::ofstream(root_ / "proc/cpuinfo") << "processor\t: 0\nmodel name\t: AMD EPYC\n\n"
                                          << "processor\t: 1\nmodel name\t: AMD EPYC\n\n";
    std::ofstream(root_ / "proc/meminfo") << "MemTotal:       16777216 kB\n";
    write_stat(1000, 1000);
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override {
    unsetenv("FAKE_NVML_CONFIG");
    std::filesystem::remove_all(root_);
  }
  void rapl_zone(const std::string& dir, const std::string& name, uint64_t energy_uj) {
    const auto path = root_ / "sys/class/powercap" / dir;
    std::filesystem::create_directories(path);
    std::ofstream(path / "name") << name << "\n";
    std::ofstream(path / "max_energy_range_uj") << "262143328850\n";
    std::ofstream(path / "energy_uj", std::ios::trunc) << energy_uj << "\n";
  }
  // Points the fake NVML library at a control file with `config`.
  std::string fake_nvml(const std::string& config) {
    std::ofstream(root_ / "fake_nvml.conf", std::ios::trunc) << config;
    setenv("FAKE_NVML_CONFIG", (root_ / "fake_nvml.conf").c_str(), 1);
    return WATTLAB_FAKE_NVML_PATH;
  }
  static std::vector<std::string> names(const std::vector<std::unique_ptr<Meter>>& meters) {
    std::vector<std::string> out;
    for (const auto& m : meters) {
      for (const auto& d : m->domains()) out.push_back(m->name() + ":" + d.name + (d.estimated ? " (estimated)" : ""));
    }
    return out;
  }
  void write_stat(uint64_t user, uint64_t idle) {
    std::ofstream(root_ / "proc/stat", std::ios::trunc) << "cpu  " << user << " 0 0 " << idle << " 0 0 0 0 0 0\n";
  }

  std::filesystem::path root_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
};

TEST_F(EnergyMetersTest, AutoAndEstimateGiveTheEstimator) {
  for (const char* kind : {"auto", "estimate"}) {
    MeterOptions options;
    options.kind = kind;
    options.nvml.library = kNoNvml;
    std::vector<std::string> notes;
    auto meters = make_meters(*env_, options, &notes);
    ASSERT_TRUE(meters.ok()) << kind << ": " << meters.status().to_string();
    ASSERT_EQ(meters->size(), 1u);
    EXPECT_EQ((*meters)[0]->name(), "estimator");
    EXPECT_EQ((*meters)[0]->domains().size(), 2u);
    if (std::string(kind) == "auto") {
      ASSERT_EQ(notes.size(), 2u);
      EXPECT_EQ(notes[0], "rapl: no powercap zones under " + (root_ / "sys/class/powercap").string() +
                              " (VM or container without RAPL); CPU energy is estimated");
      EXPECT_EQ(notes[1].rfind("nvml: libwattlab-no-such-nvml.so.1 not found", 0), 0u) << notes[1];
    }
  }
}

TEST_F(EnergyMetersTest, UnknownKindListsTheValidOnes) {
  MeterOptions options;
  options.kind = "magic";
  auto meters = make_meters(*env_, options);
  ASSERT_FALSE(meters.ok());
  EXPECT_EQ(meters.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(meters.status().message().find("use auto, rapl, nvml or estimate"), std::string::npos);
}

TEST_F(EnergyMetersTest, EstimatorErrorsReachTheCaller) {
  std::filesystem::remove(root_ / "proc/stat");
  MeterOptions options;
  options.nvml.library = kNoNvml;
  auto meters = make_meters(*env_, options);
  ASSERT_FALSE(meters.ok());
  EXPECT_NE(meters.status().message().find((root_ / "proc/stat").string()), std::string::npos);
}

TEST_F(EnergyMetersTest, ProbeExplainsWhatIsMissing) {
  ProbeOptions options;
  options.nvml_library = kNoNvml;
  auto probes = probe_meters(*env_, options);
  ASSERT_EQ(probes.size(), 3u);

  EXPECT_EQ(probes[0].kind, "rapl");
  EXPECT_FALSE(probes[0].available);
  EXPECT_EQ(probes[0].reason, "no powercap zones under " + (root_ / "sys/class/powercap").string() +
                                  " (VM or container without RAPL)");

  EXPECT_EQ(probes[1].kind, "nvml");
  EXPECT_FALSE(probes[1].available);
  EXPECT_EQ(probes[1].reason.rfind("libwattlab-no-such-nvml.so.1 not found (no NVIDIA driver)", 0), 0u)
      << probes[1].reason;

  EXPECT_EQ(probes[2].kind, "estimator");
  EXPECT_TRUE(probes[2].available);
  EXPECT_TRUE(probes[2].estimated);
  EXPECT_TRUE(probes[2].reason.empty());
  ASSERT_EQ(probes[2].domains.size(), 2u);
  EXPECT_EQ(probes[2].domains[0].name, "cpu-estimated");
  EXPECT_EQ(probes[2].detail.rfind("CPU: AMD EPYC, TDP unknown \u2192 4 W \u00d7 2 threads = 8 W", 0), 0u)
      << probes[2].detail;
}

TEST_F(EnergyMetersTest, ProbeSeesUnreadableRaplZonesAndAnUnusableEstimator) {
  std::filesystem::create_directories(root_ / "sys/class/powercap/intel-rapl:0");
  std::ofstream(root_ / "sys/class/powercap/intel-rapl:0/name") << "package-0\n";
  std::filesystem::remove(root_ / "proc/meminfo");
  ProbeOptions options;
  options.nvml_library = kNoNvml;
  auto probes = probe_meters(*env_, options);
  EXPECT_FALSE(probes[0].available);
  EXPECT_NE(probes[0].detail.find("intel-rapl:0 (package-0)"), std::string::npos) << probes[0].detail;
  EXPECT_NE(probes[0].reason.find("max_energy_range_uj"), std::string::npos) << probes[0].reason;
  EXPECT_FALSE(probes[2].available);
  EXPECT_NE(probes[2].reason.find("meminfo"), std::string::npos) << probes[2].reason;
}

TEST_F(EnergyMetersTest, AutoUsesRaplAndNvmlAndEstimatesOnlyWhatIsMissing) {
  rapl_zone("intel-rapl:0", "package-0", 0);
  rapl_zone("intel-rapl:0:0", "core", 0);
  MeterOptions options;
  options.nvml.library = fake_nvml("gpu energy_mj=10\ngpu has_energy_counter=0 power_mw=70000\n");
  std::vector<std::string> notes;
  auto meters = make_meters(*env_, options, &notes);
  ASSERT_TRUE(meters.ok()) << meters.status().to_string();
  EXPECT_EQ(names(*meters), (std::vector<std::string>{"rapl:package-0", "rapl:package-0/core", "nvml:gpu-0",
                                                      "nvml:gpu-1", "estimator:ram-estimated (estimated)"}));
  EXPECT_TRUE(notes.empty());

  // With a DRAM zone nothing is estimated; without estimate_missing_ram neither.
  rapl_zone("intel-rapl:0:1", "dram", 0);
  meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok());
  EXPECT_EQ(meters->size(), 2u);
  std::filesystem::remove_all(root_ / "sys/class/powercap/intel-rapl:0:1");
  options.estimate_missing_ram = false;
  meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok());
  EXPECT_EQ(meters->size(), 2u);
}

TEST_F(EnergyMetersTest, TheEstimatorsAssumptionsAreNamedForTheRun) {
  MeterOptions options;
  options.kind = "estimate";
  auto meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok()) << meters.status().to_string();
  auto assumed = meter_assumptions(*meters);
  // "AMD EPYC" is not in the TDP table: 4 W for each of the 2 logical CPUs.
  EXPECT_EQ(assumed.at("estimator_cpu_model"), "AMD EPYC");
  EXPECT_EQ(assumed.at("estimator_cpu_tdp_w"), "8");
  EXPECT_EQ(assumed.at("estimator_cpu_tdp_source"), "4 W per logical CPU (unknown CPU)");
  EXPECT_EQ(assumed.at("estimator_cpu_idle_w"), "0.8");
  EXPECT_EQ(assumed.at("estimator_cpu_max_w"), "8");
  EXPECT_EQ(assumed.at("estimator_ram_gib"), "16");
  EXPECT_EQ(assumed.at("estimator_ram_w"), "6");
  options.estimator.cpu_tdp_w = 65;
  meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok());
  EXPECT_EQ(meter_assumptions(*meters).at("estimator_cpu_tdp_source"), "user");
  EXPECT_EQ(meter_assumptions(*meters).at("estimator_cpu_tdp_w"), "65");

  // Measured CPU (RAPL): only the RAM's assumption remains.
  rapl_zone("intel-rapl:0", "package-0", 0);
  options.kind = "auto";
  options.nvml.library = kNoNvml;
  meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok());
  assumed = meter_assumptions(*meters);
  EXPECT_FALSE(assumed.count("estimator_cpu_tdp_w"));
  EXPECT_EQ(assumed.at("estimator_ram_w_per_gib"), "0.375");
}

TEST_F(EnergyMetersTest, AutoWithoutRaplEstimatesTheCpuBesideTheGpu) {
  MeterOptions options;
  options.nvml.library = fake_nvml("gpu energy_mj=10\n");
  std::vector<std::string> notes;
  auto meters = make_meters(*env_, options, &notes);
  ASSERT_TRUE(meters.ok()) << meters.status().to_string();
  EXPECT_EQ(names(*meters), (std::vector<std::string>{"nvml:gpu-0", "estimator:cpu-estimated (estimated)",
                                                      "estimator:ram-estimated (estimated)"}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].rfind("rapl: no powercap zones", 0), 0u);
}

TEST_F(EnergyMetersTest, ExplicitSourcesFailWithTheReasonAndTheFix) {
  MeterOptions options;
  options.nvml.library = kNoNvml;
  options.kind = "rapl";
  auto rapl = make_meters(*env_, options);
  ASSERT_FALSE(rapl.ok());
  EXPECT_EQ(rapl.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(rapl.status().message(), "--meter rapl: no powercap zones under " +
                                         (root_ / "sys/class/powercap").string() +
                                         " (VM or container without RAPL); use --meter auto (which falls back to "
                                         "the estimator) or --meter estimate");
  options.kind = "nvml";
  auto nvml = make_meters(*env_, options);
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().message().rfind("--meter nvml: libwattlab-no-such-nvml.so.1 not found", 0), 0u);

  rapl_zone("intel-rapl:0", "package-0", 0);
  options.kind = "rapl";
  rapl = make_meters(*env_, options);
  ASSERT_TRUE(rapl.ok());
  EXPECT_EQ(names(*rapl), (std::vector<std::string>{"rapl:package-0"}));
  options.kind = "nvml";
  options.nvml.library = fake_nvml("gpu energy_mj=10\n");
  nvml = make_meters(*env_, options);
  ASSERT_TRUE(nvml.ok());
  EXPECT_EQ(names(*nvml), (std::vector<std::string>{"nvml:gpu-0"}));
}

TEST_F(EnergyMetersTest, ProbeReportsWorkingRaplAndNvml) {
  rapl_zone("intel-rapl:0", "package-0", 0);
  rapl_zone("intel-rapl:1", "psys", 0);
  ProbeOptions options;
  options.nvml_library = fake_nvml("gpu name=A100 energy_mj=1\ngpu name=P4 has_energy_counter=0 power_mw=1\n");
  auto probes = probe_meters(*env_, options);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_TRUE(probes[0].available);
  EXPECT_FALSE(probes[0].estimated);
  ASSERT_EQ(probes[0].domains.size(), 2u);
  EXPECT_EQ(probes[0].domains[1].name, "psys");
  EXPECT_EQ(probes[0].detail, "intel-rapl:0 \u2192 package-0, intel-rapl:1 \u2192 psys (platform, not added to totals)");
  EXPECT_TRUE(probes[1].available);
  EXPECT_EQ(probes[1].detail,
            "gpu-0: A100 (energy counter); gpu-1: P4 (no energy counter: power sampled and integrated)");
  ASSERT_EQ(probes[1].gpus.size(), 2u);
  EXPECT_FALSE(probes[1].gpus[1].has_energy_counter);

  options.nvml_library = fake_nvml("init_rc 9\n");
  probes = probe_meters(*env_, options);
  EXPECT_FALSE(probes[1].available);
  EXPECT_NE(probes[1].reason.find("Driver Not Loaded"), std::string::npos) << probes[1].reason;
}

// The pieces together: estimator meters from make_meters() under a Monitor.
TEST_F(EnergyMetersTest, EstimatorUnderMonitorGivesExactWindowEnergy) {
  MeterOptions options;
  options.estimator.cpu_tdp_w = 100;
  options.nvml.library = kNoNvml;
  auto meters = make_meters(*env_, options);
  ASSERT_TRUE(meters.ok());
  auto monitor = Monitor::create(*env_, std::move(meters).value());
  ASSERT_TRUE(monitor.ok()) << monitor.status().to_string();
  auto id = (*monitor)->begin_window("train");
  ASSERT_TRUE(id.ok());
  write_stat(1500, 1500);  // 50 % busy
  clock_.advance_ms(10'000);
  auto window = (*monitor)->end_window(*id);
  ASSERT_TRUE(window.ok()) << window.status().to_string();
  ASSERT_EQ(window->domains.size(), 2u);
  EXPECT_EQ(window->domains[0].name, "cpu-estimated");
  EXPECT_DOUBLE_EQ(window->domains[0].energy_j, 550.0);  // (10 W + 90 W × 0.5) × 10 s
  EXPECT_DOUBLE_EQ(window->domains[1].energy_j, 60.0);   // 16 GiB × 0.375 W/GiB × 10 s
  EXPECT_TRUE(window->estimated());
  EXPECT_DOUBLE_EQ(window->duration_s, 10.0);
}

}  // namespace
}  // namespace wattlab
