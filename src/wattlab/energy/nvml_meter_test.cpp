#include "wattlab/energy/nvml_meter.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "wattlab/energy/monitor.h"

namespace wattlab {
namespace {

// Drives the fake NVML library (fake_nvml.c) through its control file.
class NvmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wattlab_nvml_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_);
    config_ = root_ / "fake_nvml.conf";
    log_ = root_ / "fake_nvml.log";
    setenv("FAKE_NVML_CONFIG", config_.c_str(), 1);
    setenv("FAKE_NVML_LOG", log_.c_str(), 1);
    unsetenv("WATTLAB_NVML_LIBRARY");
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
    options_.library = WATTLAB_FAKE_NVML_PATH;
    // The same library the meters load (dlopen returns the loaded one), so
    // its call counters are theirs.
    fake_ = dlopen(WATTLAB_FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fake_, nullptr) << dlerror();
    fake_calls_ = reinterpret_cast<unsigned long (*)(const char*)>(dlsym(fake_, "fake_nvml_calls"));
    auto reset = reinterpret_cast<void (*)()>(dlsym(fake_, "fake_nvml_reset_calls"));
    ASSERT_NE(fake_calls_, nullptr);
    ASSERT_NE(reset, nullptr);
    reset();
  }
  void TearDown() override {
    if (fake_) dlclose(fake_);
    unsetenv("FAKE_NVML_CONFIG");
    unsetenv("FAKE_NVML_LOG");
    std::filesystem::remove_all(root_);
  }
  // Calls of the energy counter and of the power reading so far.
  unsigned long counter_calls() const { return fake_calls_("nvmlDeviceGetTotalEnergyConsumption"); }
  unsigned long power_calls() const { return fake_calls_("nvmlDeviceGetPowerUsage"); }
  void configure(const std::string& text) { std::ofstream(config_, std::ios::trunc) << text; }
  std::unique_ptr<NvmlMeter> make() {
    auto meter = NvmlMeter::create(*env_, options_);
    EXPECT_TRUE(meter.ok()) << meter.status().to_string();
    return meter.ok() ? std::move(meter).value() : nullptr;
  }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path root_;
  std::filesystem::path config_;
  std::filesystem::path log_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
  NvmlOptions options_;
  void* fake_ = nullptr;
  unsigned long (*fake_calls_)(const char*) = nullptr;
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

TEST_F(NvmlTest, EnergyCounterIsReadDirectly) {
  configure("gpu name=NVIDIA_A100-SXM4-40GB energy_mj=5000000 power_mw=250000\n");
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->name(), "nvml");
  ASSERT_EQ(meter->domains().size(), 1u);
  EXPECT_EQ(meter->domains()[0].name, "gpu-0");
  EXPECT_FALSE(meter->domains()[0].estimated);
  ASSERT_EQ(meter->gpus().size(), 1u);
  EXPECT_EQ(meter->gpus()[0].name, "NVIDIA A100-SXM4-40GB");
  EXPECT_TRUE(meter->gpus()[0].has_energy_counter);
  EXPECT_DOUBLE_EQ(meter->max_read_interval_ms(), 60'000.0);

  // 10 s at 250 W: the counter moves 25 J per 100 ms; the power reading
  // (deliberately different) is not used.
  uint64_t mj = 5'000'000;
  std::vector<double> energy_j;
  for (int step = 0; step < 100; ++step) {
    mj += 25'000;
    configure("gpu name=NVIDIA_A100-SXM4-40GB energy_mj=" + std::to_string(mj) + " power_mw=1000\n");
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  }
  ASSERT_EQ(energy_j.size(), 1u);
  EXPECT_NEAR(energy_j[0], 2500.0, 2500.0 * 0.005);
  EXPECT_DOUBLE_EQ(energy_j[0], 2500.0);
  EXPECT_EQ(meter->describe(), "gpu-0: NVIDIA A100-SXM4-40GB (energy counter)");
}

TEST_F(NvmlTest, SamplesIntegratePowerBetweenCounterReads) {
  // The counter says 120 W, the power reading 100 W, so each figure shows
  // which source it came from.
  uint64_t mj = 1'000'000;
  auto set = [&](double t_ms, const std::string& extra = "") {
    configure("gpu energy_mj=" + std::to_string(mj + static_cast<uint64_t>(std::lround(t_ms * 120))) +
              " power_mw=100000 " + extra + "\n");
  };
  set(0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_EQ(meter->counter_reads(), 1u);  // at creation
  std::vector<double> energy_j;
  const unsigned long counter_before = counter_calls();
  for (int step = 1; step <= 9; ++step) {  // 900 ms: the power reading, integrated
    set(step * 100.0);
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->sample_energy_j(&energy_j).ok());
    EXPECT_NEAR(energy_j[0], step * 10.0, 1e-9);
  }
  EXPECT_EQ(counter_calls(), counter_before);
  set(1000);
  clock_.advance_ms(100);
  // A second on the sampler reads the counter: 120 J where the power
  // reading made 100 J. The 20 J correction reaches the timeline over the
  // next second, never faster than the counter's mean power (120 W): this
  // sample gets its 10 J of power and 2 J of the correction.
  ASSERT_TRUE(meter->sample_energy_j(&energy_j).ok());
  EXPECT_NEAR(energy_j[0], 102.0, 1e-9);
  EXPECT_EQ(counter_calls(), counter_before + 1);
  set(1050);
  clock_.advance_ms(50);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());  // exact: the counter, always
  EXPECT_DOUBLE_EQ(energy_j[0], 126.0);
  EXPECT_EQ(counter_calls(), counter_before + 2);
  set(1150);
  clock_.advance_ms(100);
  // 150 ms of power (15 J), 15 % of the 19 J correction left, capped at
  // 120 W x 150 ms = 18 J.
  ASSERT_TRUE(meter->sample_energy_j(&energy_j).ok());
  EXPECT_NEAR(energy_j[0], 102.0 + 15.0 + 19.0 * 0.15, 1e-9);
  // A counter GPU whose power cannot be read is sampled by its counter, and
  // the timeline catches up with it at once.
  set(1250, "power_rc=3");
  clock_.advance_ms(100);
  ASSERT_TRUE(meter->sample_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 150.0);
  EXPECT_EQ(counter_calls(), counter_before + 3);
  EXPECT_EQ(meter->counter_reads(), 1u + 3u);
}

TEST_F(NvmlTest, ALaggingPowerReadingLeavesNoSpikeWhenTheCounterReanchors) {
  // As on an H100: the GPU runs at 70 W, at 550 W from 1 s to 4 s, then at
  // 70 W again, and NVML's power reading follows a second late. The
  // integrated reading misses ~480 J after the rise and over-counts as much
  // after the fall; the counter's corrections must not show as spikes
  // (handed to the timeline at once, the first would be a 5 kW sample).
  auto true_w = [](double t_s) { return t_s >= 1.0 && t_s < 4.0 ? 550.0 : 70.0; };
  auto true_j = [](double t_s) {
    return 70.0 * t_s + 480.0 * (std::clamp(t_s, 1.0, 4.0) - 1.0);
  };
  auto set = [&](double t_s) {
    configure("gpu energy_mj=" + std::to_string(3'000'000 + std::llround(true_j(t_s) * 1000)) +
              " power_mw=" + std::to_string(std::lround(true_w(std::max(0.0, t_s - 1.0)) * 1000)) + "\n");
  };
  set(0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  std::vector<double> energy_j;
  double previous_j = 0, peak_w = 0;
  for (int step = 1; step <= 80; ++step) {  // 8 s at 10 Hz
    set(step * 0.1);
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->sample_energy_j(&energy_j).ok());
    EXPECT_GE(energy_j[0], previous_j) << "step " << step;
    peak_w = std::max(peak_w, (energy_j[0] - previous_j) / 0.1);
    previous_j = energy_j[0];
  }
  EXPECT_LE(peak_w, 550.0 + 1e-6);
  EXPECT_GT(peak_w, 500.0);
  // Once the corrections have cancelled out and the rest was handed over in
  // the quiet part, the timeline agrees with the counter.
  EXPECT_NEAR(energy_j[0], true_j(8.0), true_j(8.0) * 0.005);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_NEAR(energy_j[0], true_j(8.0), 1e-6);
}

TEST_F(NvmlTest, MonitorReadsTheCounterAboutOncePerSecondAndWindowsStayExact) {
  // p(t) = 200 + 100 sin(2πt / 1.3 s) W; the counter holds its exact
  // integral, the power reading p(t) itself.
  constexpr double kPeriodS = 1.3;
  auto energy_j = [&](double t_s) { return 200 * t_s + 100 * kPeriodS / (2 * M_PI) * (1 - std::cos(2 * M_PI * t_s / kPeriodS)); };
  auto counter_mj = [&](double t_s) { return 7'000'000 + static_cast<uint64_t>(std::llround(energy_j(t_s) * 1000)); };
  auto set = [&](double t_s) {
    const double power_w = 200 + 100 * std::sin(2 * M_PI * t_s / kPeriodS);
    configure("gpu name=H100 energy_mj=" + std::to_string(counter_mj(t_s)) +
              " power_mw=" + std::to_string(std::lround(power_w * 1000)) + "\n");
  };
  set(0);
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  NvmlMeter* nvml = meter.get();
  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::move(meter));
  MonitorOptions options;
  options.interval_ms = 100;
  auto created = Monitor::create(*env_, std::move(meters), options);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  Monitor& monitor = **created;
  ASSERT_TRUE(monitor.start().ok());
  auto window = monitor.begin_window("train");
  ASSERT_TRUE(window.ok());

  // 3 s at 10 Hz: 30 sampler reads, of which those at 1, 2 and 3 s read the counter.
  const unsigned long counter_before = counter_calls();
  for (int step = 1; step <= 30; ++step) {
    ASSERT_TRUE(wait_until([&] { return clock_.sleepers() == 1; })) << "sampler never slept";
    const unsigned long power_before = power_calls();
    set(step * 0.1);
    clock_.advance_ms(100);
    ASSERT_TRUE(wait_until([&] { return power_calls() > power_before && clock_.sleepers() == 1; }))
        << "no sample at step " << step;
  }
  EXPECT_EQ(counter_calls() - counter_before, 3u);
  auto ended = monitor.end_window(*window);
  ASSERT_TRUE(ended.ok()) << ended.status().to_string();
  monitor.stop();
  ASSERT_TRUE(monitor.sampling_error().ok()) << monitor.sampling_error().to_string();
  // Boundaries read it too: creation, Monitor::create, start, begin and end.
  EXPECT_EQ(nvml->counter_reads(), 3u + 5u);

  const double counter_delta_j = static_cast<double>(counter_mj(3.0) - counter_mj(0)) / 1000.0;
  EXPECT_DOUBLE_EQ(ended->domains[0].energy_j, counter_delta_j);  // the counter, exactly

  auto samples = monitor.take_samples();
  ASSERT_EQ(samples.size(), 30u);  // stop() came with no time since the last sample: no extra one
  double timeline_j = 0;
  for (size_t k = 0; k < samples.size(); ++k) {
    timeline_j += samples[k].power_w[0] * 0.1;
    const double truth_w = (energy_j(0.1 * (k + 1)) - energy_j(0.1 * k)) / 0.1;  // mean power of that interval
    // Within 10 W (5 % of the mean): the trapezoid's error, which piles up
    // for a second and lands on the sample that re-anchors to the counter.
    EXPECT_NEAR(samples[k].power_w[0], truth_w, 10.0) << "sample " << k;
  }
  EXPECT_NEAR(timeline_j, counter_delta_j, counter_delta_j * 0.005);
}

TEST_F(NvmlTest, PowerOnlyGpuIsIntegratedByTrapezoid) {
  // p(t) = 150 + 100 sin(2πt / 4 s) W for 10 s, sampled every 100 ms.
  auto power_w = [](double t_s) { return 150.0 + 100.0 * std::sin(2 * M_PI * t_s / 4.0); };
  auto line = [&](double t_s) {
    return "gpu name=Tesla_P4 has_energy_counter=0 power_mw=" +
           std::to_string(static_cast<unsigned>(std::lround(power_w(t_s) * 1000))) + "\n";
  };
  configure(line(0));
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_FALSE(meter->gpus()[0].has_energy_counter);
  EXPECT_DOUBLE_EQ(meter->max_read_interval_ms(), kPowerSampledReadIntervalMs);
  EXPECT_EQ(meter->describe(), "gpu-0: Tesla P4 (no energy counter: power sampled and integrated)");
  std::vector<double> energy_j;
  for (int step = 1; step <= 100; ++step) {
    configure(line(step * 0.1));
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  }
  // ∫ = 1500 + 100 × (4 / 2π) × (1 − cos(5π)) J.
  const double truth_j = 1500.0 + 100.0 * (4.0 / (2 * M_PI)) * (1 - std::cos(5 * M_PI));
  EXPECT_NEAR(energy_j[0], truth_j, truth_j * 0.005) << "truth " << truth_j;
}

TEST_F(NvmlTest, IntegratePowerIgnoresTheCounterWhenAsked) {
  // The counter says 500 W, the power reading 200 W: asked to integrate
  // power, the meter follows the power reading and says why.
  options_.integrate_power = true;
  configure("gpu name=H100 energy_mj=1000000 power_mw=200000\n");
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  EXPECT_FALSE(meter->gpus()[0].has_energy_counter);
  EXPECT_TRUE(meter->gpus()[0].counter_ignored);
  EXPECT_EQ(meter->describe(), "gpu-0: H100 (energy counter ignored as asked: power sampled and integrated)");
  std::vector<double> energy_j;
  uint64_t mj = 1'000'000;
  for (int step = 0; step < 20; ++step) {
    mj += 50'000;
    configure("gpu name=H100 energy_mj=" + std::to_string(mj) + " power_mw=200000\n");
    clock_.advance_ms(100);
    ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  }
  EXPECT_DOUBLE_EQ(energy_j[0], 400.0);  // 2 s at 200 W, not the counter's 1000 J
}

TEST_F(NvmlTest, TwoGpusAreMeteredApart) {
  configure("gpu name=GPU_A energy_mj=1000\ngpu name=GPU_B has_energy_counter=0 power_mw=100000\n");
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  ASSERT_EQ(meter->domains().size(), 2u);
  EXPECT_EQ(meter->domains()[0].name, "gpu-0");
  EXPECT_EQ(meter->domains()[1].name, "gpu-1");
  EXPECT_DOUBLE_EQ(meter->max_read_interval_ms(), kPowerSampledReadIntervalMs);

  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::move(meter));
  auto monitor = Monitor::create(*env_, std::move(meters));
  ASSERT_TRUE(monitor.ok()) << monitor.status().to_string();
  EXPECT_DOUBLE_EQ((*monitor)->interval_ms(), kPowerSampledReadIntervalMs);
  auto id = (*monitor)->begin_window("epoch");
  ASSERT_TRUE(id.ok());
  // 2 s: GPU A uses 300 W by its counter; GPU B draws a steady 100 W.
  for (int step = 1; step <= 20; ++step) {
    configure("gpu name=GPU_A energy_mj=" + std::to_string(1000 + step * 30'000) +
              "\ngpu name=GPU_B has_energy_counter=0 power_mw=100000\n");
    clock_.advance_ms(100);
    auto tick = (*monitor)->begin_window("tick");
    ASSERT_TRUE(tick.ok());
    ASSERT_TRUE((*monitor)->end_window(*tick).ok());
  }
  auto window = (*monitor)->end_window(*id);
  ASSERT_TRUE(window.ok()) << window.status().to_string();
  EXPECT_NEAR(window->domains[0].energy_j, 600.0, 600.0 * 0.005);
  EXPECT_NEAR(window->domains[1].energy_j, 200.0, 200.0 * 0.005);
  EXPECT_NEAR(window->energy_j(), 800.0, 800.0 * 0.005);
}

TEST_F(NvmlTest, InitFailureIsUnavailableWithNvmlsMessage) {
  configure("init_rc 9\ngpu energy_mj=1\n");
  auto meter = NvmlMeter::create(*env_, options_);
  ASSERT_FALSE(meter.ok());
  EXPECT_EQ(meter.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(meter.status().message().find("nvmlInit failed: Driver Not Loaded (NVML code 9)"), std::string::npos)
      << meter.status().message();
}

TEST_F(NvmlTest, CountFailureAndNoGpu) {
  configure("count_rc 999\n");
  auto failing = NvmlMeter::create(*env_, options_);
  ASSERT_FALSE(failing.ok());
  EXPECT_NE(failing.status().message().find("nvmlDeviceGetCount failed: Unknown Error"), std::string::npos);
  configure("");
  auto none = NvmlMeter::create(*env_, options_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "NVML found no GPU");
}

TEST_F(NvmlTest, GpuWithNeitherCounterNorPowerFails) {
  configure("gpu name=Old has_energy_counter=0 power_rc=3\n");
  auto meter = NvmlMeter::create(*env_, options_);
  ASSERT_FALSE(meter.ok());
  EXPECT_NE(meter.status().message().find("gpu-0 (Old) reports neither an energy counter nor its power: Not Supported"),
            std::string::npos)
      << meter.status().message();
}

TEST_F(NvmlTest, AFailedReadIsReportedAndTheNextCoversTheGap) {
  configure("gpu energy_mj=0\ngpu has_energy_counter=0 power_mw=50000\n");
  auto meter = make();
  ASSERT_NE(meter, nullptr);
  configure("gpu energy_mj=10000\ngpu has_energy_counter=0 power_rc=15\n");
  clock_.advance_ms(100);
  std::vector<double> energy_j;
  Status status = meter->read_energy_j(&energy_j);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "nvml: gpu-1: nvmlDeviceGetPowerUsage failed: GPU is lost (NVML code 15)");
  configure("gpu energy_mj=20000\ngpu has_energy_counter=0 power_mw=50000\n");
  clock_.advance_ms(100);
  ASSERT_TRUE(meter->read_energy_j(&energy_j).ok());
  EXPECT_DOUBLE_EQ(energy_j[0], 20.0);
  EXPECT_DOUBLE_EQ(energy_j[1], 10.0);  // 50 W over the whole 200 ms
}

TEST_F(NvmlTest, MissingLibraryIsUnavailable) {
  options_.library = (root_ / "libnvidia-ml-missing.so.1").string();
  auto meter = NvmlMeter::create(*env_, options_);
  ASSERT_FALSE(meter.ok());
  EXPECT_EQ(meter.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(meter.status().message().rfind(options_.library + " not found (no NVIDIA driver)", 0), 0u)
      << meter.status().message();
}

TEST_F(NvmlTest, EnvironmentVariableChoosesTheLibrary) {
  EXPECT_EQ(default_nvml_library(), "libnvidia-ml.so.1");
  setenv("WATTLAB_NVML_LIBRARY", WATTLAB_FAKE_NVML_PATH, 1);
  EXPECT_EQ(default_nvml_library(), WATTLAB_FAKE_NVML_PATH);
  configure("gpu energy_mj=1\n");
  auto meter = NvmlMeter::create(*env_, NvmlOptions{});
  unsetenv("WATTLAB_NVML_LIBRARY");
  ASSERT_TRUE(meter.ok()) << meter.status().to_string();
  EXPECT_EQ((*meter)->domains().size(), 1u);
}

TEST_F(NvmlTest, TelemetryAndShutdown) {
  configure(
      "gpu name=RTX_3090 energy_mj=1 power_mw=312500 limit_mw=350000 temp_c=67 util_gpu=93 util_mem=41 "
      "mem_total=25769803776 mem_used=8589934592 procs=4242:1073741824,4343:-\n");
  {
    auto meter = make();
    ASSERT_NE(meter, nullptr);
    auto telemetry = meter->telemetry();
    ASSERT_EQ(telemetry.size(), 1u);
    const GpuTelemetry& t = telemetry[0];
    EXPECT_EQ(t.name, "RTX 3090");
    EXPECT_TRUE(t.has_energy_counter);
    EXPECT_EQ(t.power_w, 312.5);
    EXPECT_EQ(t.power_limit_w, 350.0);
    EXPECT_EQ(t.temperature_c, 67.0);
    EXPECT_EQ(t.utilisation_gpu, 0.93);
    EXPECT_EQ(t.utilisation_memory, 0.41);
    EXPECT_EQ(t.memory_total_bytes, 25769803776u);
    EXPECT_EQ(t.memory_used_bytes, 8589934592u);
    ASSERT_EQ(t.processes.size(), 2u);
    EXPECT_EQ(t.processes[0].pid, 4242u);
    EXPECT_EQ(t.processes[0].used_memory_bytes, 1073741824u);
    EXPECT_EQ(t.processes[1].pid, 4343u);
    EXPECT_FALSE(t.processes[1].used_memory_bytes.has_value());
  }
  EXPECT_EQ(log(), "init\nshutdown\n");
}

}  // namespace
}  // namespace wattlab
