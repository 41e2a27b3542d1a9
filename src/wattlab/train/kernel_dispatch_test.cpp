// The kernel chooser with fake implementations whose costs the test sets on a
// fake clock: it keeps the faster, measures each shape and pass once, obeys
// --kernels, replays a checkpoint's choices, shares them within a process,
// reads and extends the cache file.
#include "wattlab/train/kernel_dispatch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

// Two implementations of one pass on a fake clock: each run advances the
// clock by its cost (the next cost from its list, the last one repeated) and
// counts itself.
class FakeKernels {
 public:
  FakeKernels(std::vector<double> libtorch_costs_s, std::vector<double> ours_costs_s)
      : costs_{std::move(libtorch_costs_s), std::move(ours_costs_s)} {}

  std::vector<KernelCandidate> candidates() {
    return {{kLibTorchKernel, [this] { run(0); }}, {"winograd", [this] { run(1); }}};
  }
  KernelChooserOptions options(const std::string& scope, KernelMode mode = KernelMode::kAuto) {
    KernelChooserOptions o;
    o.mode = mode;
    o.clock_s = [this] { return now_s_; };
    o.cache_scope = scope;
    return o;
  }
  int runs(size_t i) const { return runs_[i]; }

 private:
  void run(size_t i) {
    const std::vector<double>& costs = costs_[i];
    now_s_ += costs[std::min<size_t>(runs_[i], costs.size() - 1)];
    ++runs_[i];
  }

  std::vector<double> costs_[2];
  int runs_[2] = {0, 0};
  double now_s_ = 0;
};

TEST(KernelChooserTest, KeepsTheFasterOfTwoImplementationsAndMeasuresOnce) {
  for (const bool ours_faster : {true, false}) {
    FakeKernels fake({ours_faster ? 2e-3 : 1e-3}, {ours_faster ? 1e-3 : 2e-3});
    KernelChooser chooser(fake.options(ours_faster ? "keeps-faster-a" : "keeps-faster-b"));
    const size_t expected = ours_faster ? 1 : 0;
    EXPECT_EQ(chooser.choose("layer1.0.conv1", "conv 64->64", "forward", fake.candidates()), expected);
    // One untimed run and three timed ones each, then never again for this shape and pass.
    EXPECT_EQ(fake.runs(0), 4);
    EXPECT_EQ(fake.runs(1), 4);
    EXPECT_EQ(chooser.choose("layer1.0.conv2", "conv 64->64", "forward", fake.candidates()), expected);
    EXPECT_EQ(fake.runs(0), 4);
    // Another pass of the same shape is a decision of its own.
    chooser.choose("layer1.0.conv1", "conv 64->64", "weight_grad", fake.candidates());
    EXPECT_EQ(fake.runs(0), 8);

    ASSERT_EQ(chooser.layers().size(), 3u);
    const LayerKernel& first = chooser.layers()[0];
    EXPECT_EQ(first.layer, "layer1.0.conv1");
    EXPECT_EQ(first.shape, "conv 64->64");
    EXPECT_EQ(first.pass, "forward");
    EXPECT_EQ(first.implementation, ours_faster ? "winograd" : "libtorch");
    EXPECT_EQ(first.source, "measured");
    EXPECT_EQ(first.timings, ours_faster ? "libtorch 2 ms, winograd 1 ms" : "libtorch 1 ms, winograd 2 ms");
    EXPECT_NEAR(chooser.measuring_s(), 2 * (4 * 1e-3 + 4 * 2e-3), 1e-12);  // two passes of four runs each
    EXPECT_EQ(chooser.choices().at("conv 64->64|forward"), ours_faster ? "winograd" : "libtorch");
  }
}

TEST(KernelChooserTest, ASlowRepetitionDoesNotHideTheFasterImplementation) {
  // Ours is interrupted once (10 ms) and otherwise takes 1 ms against LibTorch's 1.5 ms:
  // the fastest repetition counts, not the mean.
  FakeKernels fake({1.5e-3}, {1e-3, 10e-3, 1e-3});
  KernelChooser chooser(fake.options("slow-repetition"));
  EXPECT_EQ(chooser.choose("", "conv", "forward", fake.candidates()), 1u);
}

TEST(KernelChooserTest, KernelsFlagForcesAnImplementationWithoutMeasuring) {
  FakeKernels fake({2e-3}, {1e-3});
  KernelChooser libtorch(fake.options("forced", KernelMode::kLibTorch));
  EXPECT_EQ(libtorch.choose("a", "conv", "forward", fake.candidates()), 0u);
  KernelChooser wattlab(fake.options("forced", KernelMode::kWattlab));
  EXPECT_EQ(wattlab.choose("a", "conv", "forward", fake.candidates()), 1u);
  EXPECT_EQ(fake.runs(0) + fake.runs(1), 0);
  EXPECT_EQ(wattlab.layers().at(0).source, "mode");
  // Where LibTorch's is the only implementation, it is used in every mode.
  KernelChooser only(fake.options("forced", KernelMode::kWattlab));
  EXPECT_EQ(only.choose("b", "conv 1x1", "forward", {fake.candidates()[0]}), 0u);
  EXPECT_EQ(only.layers().at(0).source, "only");
  EXPECT_EQ(fake.runs(0), 0);
}

TEST(KernelChooserTest, AResumedRunReplaysItsCheckpointsChoices) {
  // The first session measured LibTorch's as faster; on resume ours is faster, but the
  // checkpoint's choice is kept, without measuring.
  FakeKernels first_costs({1e-3}, {2e-3});
  KernelChooser first(first_costs.options("replay-first"));
  first.choose("layer1", "conv", "forward", first_costs.candidates());
  const std::map<std::string, std::string> checkpoint = first.choices();
  ASSERT_EQ(checkpoint.at("conv|forward"), "libtorch");

  FakeKernels resumed_costs({2e-3}, {1e-3});
  KernelChooser resumed(resumed_costs.options("replay-resumed"));
  resumed.replay(checkpoint);
  EXPECT_EQ(resumed.choose("layer1", "conv", "forward", resumed_costs.candidates()), 0u);
  EXPECT_EQ(resumed_costs.runs(0) + resumed_costs.runs(1), 0);
  EXPECT_EQ(resumed.layers().at(0).source, "checkpoint");
  EXPECT_EQ(resumed.choices(), checkpoint);
  // A shape the checkpoint does not hold is measured.
  EXPECT_EQ(resumed.choose("layer2", "conv 2", "forward", resumed_costs.candidates()), 1u);
}

TEST(KernelChooserTest, ALaterRunOfTheSameProcessAndScopeGetsTheSameChoices) {
  FakeKernels slow_ours({1e-3}, {2e-3});
  KernelChooser first(slow_ours.options("process-scope"));
  EXPECT_EQ(first.choose("", "conv", "forward", slow_ours.candidates()), 0u);
  FakeKernels fast_ours({2e-3}, {1e-3});
  KernelChooser second(fast_ours.options("process-scope"));
  EXPECT_EQ(second.choose("", "conv", "forward", fast_ours.candidates()), 0u);
  EXPECT_EQ(second.layers().at(0).source, "process");
  KernelChooser other_scope(fast_ours.options("process-scope, 2 threads"));
  EXPECT_EQ(other_scope.choose("", "conv", "forward", fast_ours.candidates()), 1u);
}

class KernelCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab-kernel-cache-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "wattlab" / "kernels.tsv").string(); }
  std::string contents() const {
    std::ifstream in(path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

TEST_F(KernelCacheTest, CachedChoicesOfTheSameScopeAreUsedAndNewOnesAdded) {
  fs::create_directories(fs::path(path()).parent_path());
  std::ofstream(path()) << "cache-scope\tconv|forward|libtorch,winograd\tlibtorch\n"
                        << "another CPU\tconv|weight_grad|libtorch,winograd\tlibtorch\n"
                        << "cache-scope\tconv|input_grad|libtorch\tlibtorch\n";
  FakeKernels fake({2e-3}, {1e-3});
  KernelChooserOptions options = fake.options("cache-scope");
  options.cache_path = path();
  KernelChooser chooser(options);
  // Cached for this scope: LibTorch's, unmeasured. Cached for another CPU only: measured here.
  EXPECT_EQ(chooser.choose("", "conv", "forward", fake.candidates()), 0u);
  EXPECT_EQ(chooser.layers().at(0).source, "cache");
  EXPECT_EQ(fake.runs(1), 0);
  EXPECT_EQ(chooser.choose("", "conv", "weight_grad", fake.candidates()), 1u);
  EXPECT_EQ(chooser.layers().at(1).source, "measured");
  // Cached when LibTorch's was the only candidate (an older wattlab): measured among the two.
  EXPECT_EQ(chooser.choose("", "conv", "input_grad", fake.candidates()), 1u);
  EXPECT_EQ(chooser.layers().at(2).source, "measured");
  ASSERT_TRUE(chooser.save_cache().ok());
  EXPECT_EQ(contents(),
            "cache-scope\tconv|forward|libtorch,winograd\tlibtorch\n"
            "another CPU\tconv|weight_grad|libtorch,winograd\tlibtorch\n"
            "cache-scope\tconv|input_grad|libtorch\tlibtorch\n"
            "cache-scope\tconv|input_grad|libtorch,winograd\twinograd\n"
            "cache-scope\tconv|weight_grad|libtorch,winograd\twinograd\n");
}

TEST_F(KernelCacheTest, AMeasurementAlreadyCachedByAnotherRunIsNotOverwritten) {
  FakeKernels fake({2e-3}, {1e-3});
  KernelChooserOptions options = fake.options("first-writer-scope");
  options.cache_path = path();
  KernelChooser chooser(options);  // reads an empty cache
  chooser.choose("", "conv", "forward", fake.candidates());
  // Meanwhile another run cached LibTorch's for the same scope and key: the first entry stays.
  fs::create_directories(fs::path(path()).parent_path());
  std::ofstream(path()) << "first-writer-scope\tconv|forward|libtorch,winograd\tlibtorch\n";
  ASSERT_TRUE(chooser.save_cache().ok());
  EXPECT_EQ(contents(), "first-writer-scope\tconv|forward|libtorch,winograd\tlibtorch\n");
}

TEST_F(KernelCacheTest, TheCacheLivesInXdgCacheHomeOrUnderHome) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = xdg != nullptr ? xdg : "";
  setenv("XDG_CACHE_HOME", dir_.c_str(), 1);
  EXPECT_EQ(default_kernel_cache_path(), path());
  unsetenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr) {
    EXPECT_EQ(default_kernel_cache_path(), std::string(home) + "/.cache/wattlab/kernels.tsv");
  }
  if (xdg != nullptr) setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST(KernelScopeTest, NamesTheCpuTheThreadsAndLibTorch) {
  const std::string scope = kernel_cache_scope(2, "1.13.0");
  EXPECT_NE(scope.find("family"), std::string::npos) << scope;
  EXPECT_NE(scope.find("threads 2"), std::string::npos) << scope;
  EXPECT_NE(scope.find("libtorch 1.13.0"), std::string::npos) << scope;
  EXPECT_EQ(scope.find('\t'), std::string::npos);
  EXPECT_NE(scope, kernel_cache_scope(1, "1.13.0"));
}

TEST(KernelModeTest, ParsesTheFlagAndNamesItInErrors) {
  EXPECT_EQ(*parse_kernel_mode("auto"), KernelMode::kAuto);
  EXPECT_EQ(*parse_kernel_mode("libtorch"), KernelMode::kLibTorch);
  EXPECT_EQ(*parse_kernel_mode("wattlab"), KernelMode::kWattlab);
  const Result<KernelMode> bad = parse_kernel_mode("fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--kernels"), std::string::npos);
  EXPECT_STREQ(kernel_mode_name(KernelMode::kLibTorch), "libtorch");
}

TEST(LayerKernelsTest, OneLinePerLayerAndShapeWithItsPasses) {
  const std::vector<LayerKernel> layers = {
      {"layer1.0.conv1", "conv 64->64", "forward", "winograd", "libtorch 2 ms, winograd 1 ms", "measured"},
      {"layer1.0.conv1", "conv 64->64", "weight_grad", "libtorch", "", "cache"},
      {"bn1", "batchnorm 64", "forward", "wattlab", "libtorch 3 ms, wattlab 1 ms", "measured"}};
  EXPECT_EQ(format_layer_kernels(layers),
            "layer1.0.conv1  conv 64->64  forward=winograd [libtorch 2 ms, winograd 1 ms] weight_grad=libtorch (cache)\n"
            "bn1             batchnorm 64  forward=wattlab [libtorch 3 ms, wattlab 1 ms]\n");
}

}  // namespace
}  // namespace wattlab
