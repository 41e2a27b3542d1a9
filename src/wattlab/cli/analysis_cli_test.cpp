// End-to-end tests of `wattlab stats compare`, `wattlab check` and `wattlab
// study report` on run sets written straight into a store, and on the runs
// study/'s executor makes (with a backend that logs metrics instead of
// training).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/synthetic_runs.h"
#include "wattlab/study/executor.h"
#include "wattlab/study/study_testing.h"
#include "wattlab/track/store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<double> around(double median, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.02);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(median * std::exp(noise(rng)));
  return v;
}

class AnalysisCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_analysis_cli_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    store_path_ = (dir_ / "runs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandResult wattlab(const std::string& args) {
    const std::string cmd = std::string(WATTLAB_BINARY) + " " + args + " --store " + store_path_ + " >" +
                            (dir_ / "out").string() + " 2>" + (dir_ / "err").string() + " </dev/null";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir_ / "out"), slurp(dir_ / "err")};
  }

  // Synthetic CI run sets: a baseline, an unchanged candidate, a candidate
  // 10 % costlier (10 runs each), and a candidate of 2 runs.
  void write_check_runs() {
    auto store = Store::open(store_path_);
    ASSERT_TRUE(store.ok());
    const std::string metric = "energy_per_image_j";
    ASSERT_TRUE(write_metric_runs(**store, "ci", {{"variant", "main"}}, metric, around(0.020, 10, 1)).ok());
    ASSERT_TRUE(write_metric_runs(**store, "ci", {{"variant", "same"}}, metric, around(0.020, 10, 2)).ok());
    ASSERT_TRUE(write_metric_runs(**store, "ci", {{"variant", "slower"}}, metric, around(0.022, 10, 3)).ok());
    ASSERT_TRUE(write_metric_runs(**store, "ci", {{"variant", "few"}}, metric, {0.03, 0.031}).ok());
  }

  fs::path dir_;
  std::string store_path_;
};

// The executor's own runs, tagged as it tags them, with the metrics a
// training logs at its end: resnet18 costs 4x cnn per image, two threads cut
// that by a tenth, and each run varies by a few percent.
class MetricLoggingBackend : public FakeBackend {
 public:
  explicit MetricLoggingBackend(Store& store) : FakeBackend(store), store_(store) {}
  Result<TrainOutcome> train(const TrainRequest& request) override {
    auto outcome = FakeBackend::train(request);
    if (!outcome.ok() || outcome->status != RunStatus::kFinished) return outcome;
    const bool resnet = request.tags.at("wattlab.study.model") == "resnet18";
    const bool two_threads = request.tags.at("wattlab.study.environment") == "2-threads";
    const double per_image = (resnet ? 0.04 : 0.01) * (two_threads ? 0.9 : 1.0) * std::exp(noise_(rng_));
    const double f1 = (resnet ? 0.87 : 0.84) + noise_(rng_);
    WATTLAB_RETURN_IF_ERROR(store_.log_batch(
        outcome->run_id, {{"energy_per_image_j", per_image, now_ms_, 0}, {"f1_macro", f1, now_ms_, 2}}, {}, {}));
    return outcome;
  }

 private:
  Store& store_;
  std::mt19937_64 rng_{7};
  std::normal_distribution<double> noise_{0, 0.03};
};

TEST_F(AnalysisCliTest, CheckExitsZeroOneOrTwo) {
  write_check_runs();
  auto same = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'same'\"");
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("Pass:"), std::string::npos) << same.out;

  auto slower = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'slower'\"");
  EXPECT_EQ(slower.exit_code, 1) << slower.out << slower.err;
  EXPECT_NE(slower.out.find("Regression:"), std::string::npos) << slower.out;
  EXPECT_NE(slower.out.find("allowed +5 %"), std::string::npos) << slower.out;
  EXPECT_NE(slower.out.find("Cliff's delta"), std::string::npos) << slower.out;

  auto few = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'few'\"");
  EXPECT_EQ(few.exit_code, 2) << few.out << few.err;
  EXPECT_NE(few.out.find("Undecided"), std::string::npos) << few.out;

  // A looser allowance lets the 10 % through.
  auto allowed = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'slower'\" "
                         "--max-increase 20%");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out;
}

TEST_F(AnalysisCliTest, CheckJsonAndErrors) {
  write_check_runs();
  auto r = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'slower'\" --format json");
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "regression");
  EXPECT_EQ(j["baseline"]["n"], 10);
  EXPECT_NEAR(j["increase"].get<double>(), 0.10, 0.03);
  EXPECT_LT(j["mann_whitney"]["p_value"].get<double>(), 0.001);
  EXPECT_EQ(j["cliffs_delta"]["magnitude"], "large");
  EXPECT_LT(j["increase_interval"]["low"].get<double>(), j["increase"].get<double>());
  // Errors are "cannot decide" (2), never a pass or a regression.
  auto bad = wattlab("check --baseline \"tags.variant = \" --candidate \"tags.variant = 'few'\"");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("wattlab: error:"), std::string::npos) << bad.err;
  auto percent = wattlab("check --baseline \"tags.variant = 'main'\" --candidate \"tags.variant = 'few'\" "
                         "--max-increase lots");
  EXPECT_EQ(percent.exit_code, 2);
  EXPECT_NE(percent.err.find("give a percentage such as 5%"), std::string::npos) << percent.err;
}

TEST_F(AnalysisCliTest, StatsCompareOverACsvFile) {
  std::ofstream(dir_ / "runs.csv") << "model,energy\n"
                                   << "cnn,1.0\ncnn,1.1\ncnn,0.9\ncnn,1.05\ncnn,0.95\n"
                                   << "resnet,2.0\nresnet,2.2\nresnet,1.9\nresnet,2.1\nresnet,2.05\n"
                                   << "vgg,2.1\nvgg,1.8\nvgg,2.4\nvgg,2.2\nvgg,\n";
  auto r = wattlab("stats compare " + (dir_ / "runs.csv").string() + " --by model --value energy --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["kruskal_wallis"]["h"].get<double>(), 5);
  EXPECT_LT(j["kruskal_wallis"]["p_value"].get<double>(), 0.05);
  EXPECT_EQ(j["pairs"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["pairs"][0]["cliffs_delta"]["delta"].get<double>(), -1);  // cnn vs resnet
  EXPECT_EQ(j["dropped_rows"], 1);
  auto text = wattlab("stats compare " + (dir_ / "runs.csv").string() + " --by model --value energy");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Kruskal-Wallis"), std::string::npos);
  EXPECT_NE(text.out.find("Reading"), std::string::npos);
  EXPECT_NE(text.out.find("cnn tends to be lower than"), std::string::npos) << text.out;
  auto missing = wattlab("stats compare " + (dir_ / "runs.csv").string() + " --by arch --value energy");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("its columns are: model, energy"), std::string::npos) << missing.err;
}

TEST_F(AnalysisCliTest, StatsCompareAndReportOverAStudy) {
  {
    auto store = Store::open(store_path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(write_synthetic_study(**store, default_synthetic_study()).ok());
  }
  auto r = wattlab("stats compare --study green-cv --correlate metrics.f1_macro --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["groups"].size(), 6u);
  EXPECT_EQ(j["n"], 30);  // the warm-up run is no observation
  EXPECT_EQ(j["two_way_anova"]["terms"][2]["term"], "tags.wattlab.study.model:tags.wattlab.study.environment");
  EXPECT_TRUE(j["spearman"].contains("rho"));
  auto by_model = wattlab("stats compare --experiment green-cv --filter \"tags.wattlab.study.role = 'trial'\" "
                          "--by params.model --format json");
  ASSERT_EQ(by_model.exit_code, 0) << by_model.err;
  EXPECT_EQ(nlohmann::json::parse(by_model.out)["groups"].size(), 3u);

  const std::string out = (dir_ / "report.html").string();
  auto report = wattlab("study report green-cv --out " + out);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find(out), std::string::npos);
  EXPECT_NE(slurp(out).find("<svg"), std::string::npos);
  auto unknown = wattlab("study report nope --out " + out);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no trial runs of study \"nope\""), std::string::npos) << unknown.err;
  auto format = wattlab("study report green-cv --out report.pdf");
  EXPECT_EQ(format.exit_code, 1);
  EXPECT_NE(format.err.find(".html, .md or .json"), std::string::npos) << format.err;
}

TEST_F(AnalysisCliTest, StatsReportAndCheckOverTheExecutorsRuns) {
  {
    auto store = Store::open(store_path_);
    ASSERT_TRUE(store.ok());
    TestFlagChecker checker;
    auto spec = parse_study_spec("s.yaml",
                                 "name: exec\nepochs: 2\nidle-baseline: 1s\nrepetitions: 6\n"
                                 "models:\n  - model: cnn\n  - model: resnet18\n"
                                 "environments:\n  - {name: 1-thread, threads: 1}\n  - {name: 2-threads, threads: 2}\n",
                                 checker);
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    MetricLoggingBackend backend(**store);
    backend.end_next("cnn-1-thread-r1", RunStatus::kFailed);
    auto result = run_study(**store, *spec, backend, StudyRunOptions{});
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    ASSERT_EQ(result->failed, 1);
  }
  // The idle baseline and the failed trial are no observations.
  auto stats = wattlab("stats compare --study exec --format json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto j = nlohmann::json::parse(stats.out);
  EXPECT_EQ(j["n"], 23);
  EXPECT_EQ(j["groups"].size(), 4u);
  EXPECT_LT(j["kruskal_wallis"]["p_value"].get<double>(), 0.001);

  const std::string out = (dir_ / "exec.json").string();
  auto report = wattlab("study report exec --out " + out);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto r = nlohmann::json::parse(slurp(out));
  ASSERT_EQ(r["configurations"].size(), 4u);
  EXPECT_EQ(r["configurations"][0]["configuration"], "cnn / 1-thread");
  EXPECT_EQ(r["configurations"][0]["runs"], 5);
  EXPECT_EQ(r["runs"].size(), 23u);
  EXPECT_EQ(r["savings"]["baseline"], "resnet18 / 1-thread");  // the costliest

  // resnet18 against cnn as a "candidate": far costlier, so the gate fails it.
  auto regression = wattlab("check --baseline \"tags.wattlab.study.model = 'cnn'\" "
                            "--candidate \"tags.wattlab.study.model = 'resnet18'\"");
  EXPECT_EQ(regression.exit_code, 1) << regression.out << regression.err;
  auto same = wattlab("check --baseline \"tags.wattlab.study.environment = '1-thread'\" "
                      "--candidate \"tags.wattlab.study.environment = '1-thread'\"");
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
}

}  // namespace
}  // namespace wattlab
