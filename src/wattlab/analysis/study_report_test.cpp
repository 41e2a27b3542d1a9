#include "wattlab/analysis/study_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "wattlab/analysis/synthetic_runs.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

class StudyReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::open(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    SyntheticStudy study = default_synthetic_study();
    study.failed_trials = 1;
    auto ids = write_synthetic_study(*store_, study);
    ASSERT_TRUE(ids.ok()) << ids.status().to_string();
    observations_ = ids->size();
  }
  std::unique_ptr<Store> store_;
  size_t observations_ = 0;
};

TEST_F(StudyReportTest, LoadsOnlyFinishedTrialRuns) {
  auto data = load_study(*store_, "green-cv");
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->runs.size(), 30u);  // 3 models x 2 environments x 5; not the warm-up, not the failed trial
  EXPECT_EQ(data->runs.size(), observations_);
  EXPECT_EQ(data->left_out, 1u);
  EXPECT_EQ(data->left_out_reason, "1 not FINISHED");
  EXPECT_EQ(data->models, (std::vector<std::string>{"cnn", "mobilenet_v2-x0.35", "resnet18"}));
  EXPECT_EQ(data->runs.front().snapshot.at("cpu_model"), "AMD EPYC 9B14 96-Core Processor");
  EXPECT_EQ(data->spec_hash, "00c0ffee12345678");
  for (size_t i = 1; i < data->runs.size(); ++i) EXPECT_LT(data->runs[i - 1].trial, data->runs[i].trial);
  auto missing = load_study(*store_, "no-such-study");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

TEST_F(StudyReportTest, FindsTheInteractionTheFrontAndTheSavings) {
  auto data = load_study(*store_, "green-cv");
  ASSERT_TRUE(data.ok());
  auto report = build_study_report(std::move(*data));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->cells.size(), 6u);
  ASSERT_TRUE(report->statistics.ok());
  const auto& two_way = report->statistics->two_way_anova;
  ASSERT_TRUE(two_way && two_way->ok());
  EXPECT_LT((*two_way)->interaction.p_value, 0.01);  // resnet18 gains more from the second thread
  EXPECT_LT((*two_way)->a.p_value, 1e-6);            // models differ a lot
  // The baseline is the costliest configuration: resnet18 / 1-thread.
  ASSERT_TRUE(report->savings.ok());
  EXPECT_EQ(report->savings->rows[report->savings->baseline].label, "resnet18 / 1-thread");
  const SavingsRow& cnn2 = report->savings->rows[1];
  EXPECT_EQ(cnn2.label, "cnn / 2-threads");
  EXPECT_NEAR(cnn2.energy_reduction, 1 - 0.010 * 0.92 / 0.068, 0.03);
  // Complete separation of 5 runs against 5: the smallest two-sided exact p,
  // 2 / C(10, 5), times 5 comparisons (Holm's first step).
  EXPECT_NEAR(cnn2.energy_p_adjusted, 5 * 2.0 / 252, 1e-12);
  ASSERT_TRUE(cnn2.energy_delta.ok());
  EXPECT_EQ(cnn2.energy_delta->delta, -1);
  // The cheapest configuration and the most correct one are on the front, and
  // whoever is dominated is dominated for real.
  const auto& front = report->energy_front;
  size_t cheapest = 0, most_correct = 0;
  for (size_t i = 0; i < front.size(); ++i) {
    if (front[i].point.cost < front[cheapest].point.cost) cheapest = i;
    if (front[i].point.benefit > front[most_correct].point.benefit) most_correct = i;
    for (size_t j : front[i].dominated_by) {
      EXPECT_LE(front[j].point.cost, front[i].point.cost);
      EXPECT_GE(front[j].point.benefit, front[i].point.benefit);
    }
    EXPECT_EQ(front[i].on_front, front[i].dominated_by.empty());
  }
  EXPECT_TRUE(front[cheapest].on_front);
  EXPECT_TRUE(front[most_correct].on_front);
  EXPECT_EQ(front[cheapest].point.label, "cnn / 2-threads");
  EXPECT_EQ(report->measured_runs, 30u);
  EXPECT_EQ(report->estimated_runs, 0u);
  bool headline = false;
  for (const auto& sentence : report->summary)
    headline |= sentence.find("cnn / 2-threads uses 8") == 0 &&
                sentence.find("less energy per image than resnet18 / 1-thread") != std::string::npos;
  EXPECT_TRUE(headline) << ::testing::PrintToString(report->summary);
}

TEST_F(StudyReportTest, HtmlIsSelfContainedWithEveryFigure) {
  auto data = load_study(*store_, "green-cv");
  auto report = build_study_report(std::move(*data));
  ASSERT_TRUE(report.ok());
  const std::string html = study_report_to_html(*report);
  for (const char* id : {"figure-energy", "figure-interaction", "figure-pareto-energy", "figure-pareto-time"})
    EXPECT_EQ(count(html, std::string("id=\"") + id + "\""), 1u) << id;
  EXPECT_EQ(count(html, "<svg"), 4u);
  EXPECT_EQ(count(html, "class=\"box\""), 6u);
  EXPECT_EQ(count(html, "class=\"run-point"), 30u);
  EXPECT_EQ(count(html, "class=\"model-line\""), 3u);
  EXPECT_EQ(count(html, "class=\"pareto-point"), 12u);
  // Nothing to fetch: no scripts, no external references.
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "http://"), count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(count(html, "https://"), 0u);
  EXPECT_EQ(count(html, "@media print"), 1u);
  EXPECT_NE(html.find("Energy: measured (hardware counters) in every run"), std::string::npos);
  EXPECT_NE(html.find("AMD EPYC 9B14"), std::string::npos);  // every run's environment
}

TEST_F(StudyReportTest, EstimatedEnergyIsSaidEverywhere) {
  auto store = Store::open(":memory:");
  SyntheticStudy study = default_synthetic_study();
  study.name = "estimated";
  study.energy_estimated = true;
  ASSERT_TRUE(write_synthetic_study(**store, study).ok());
  auto report = build_study_report(*load_study(**store, "estimated"));
  ASSERT_TRUE(report.ok());
  const std::string html = study_report_to_html(*report);
  EXPECT_NE(html.find("Energy: ESTIMATED in every run"), std::string::npos);
  EXPECT_EQ(count(html, "class=\"run-point estimated\""), 30u);
  EXPECT_NE(study_report_to_markdown(*report).find("**ESTIMATED**"), std::string::npos);
  EXPECT_EQ(study_report_to_json(*report)["energy"]["estimated_runs"], 30);
}

TEST_F(StudyReportTest, MarkdownAndJsonCarryTheSameTables) {
  auto report = build_study_report(*load_study(*store_, "green-cv"));
  ASSERT_TRUE(report.ok());
  const std::string md = study_report_to_markdown(*report);
  EXPECT_NE(md.find("| cnn / 1-thread |"), std::string::npos);
  EXPECT_NE(md.find("## Savings against the baseline"), std::string::npos);
  const nlohmann::json j = study_report_to_json(*report);
  EXPECT_EQ(j["runs"].size(), 30u);
  EXPECT_EQ(j["configurations"].size(), 6u);
  EXPECT_EQ(j["savings"]["baseline"], "resnet18 / 1-thread");
  EXPECT_TRUE(j["statistics"]["kruskal_wallis"].contains("eta_squared_h"));
  EXPECT_EQ(j["statistics"]["spearman"]["alternative"], "greater");
  EXPECT_EQ(j["runs"][0]["environment_snapshot"]["os"], "Debian GNU/Linux 12 (bookworm) (kernel 6.1.0-28-amd64)");
  auto served = study_report_json(*store_, "green-cv");
  ASSERT_TRUE(served.ok());
  EXPECT_EQ((*served)["configurations"], j["configurations"]);
  EXPECT_EQ(study_report_json(*store_, "nope").status().code(), Status::Code::kNotFound);
}

TEST_F(StudyReportTest, AChosenBaselineMustExist) {
  StudyReportOptions options;
  options.baseline = "cnn / 1-thread";
  auto report = build_study_report(*load_study(*store_, "green-cv"), options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->savings->baseline, 0u);
  options.baseline = "vgg / 1-thread";
  auto bad = build_study_report(*load_study(*store_, "green-cv"), options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"cnn / 1-thread\""), std::string::npos) << bad.status().message();
}

TEST_F(StudyReportTest, WritesTheFormatItsExtensionNames) {
  const fs::path dir = fs::temp_directory_path() / ("wattlab_report_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (const char* name : {"r.html", "r.md", "r.json"}) {
    auto path = write_study_report(*store_, "green-cv", (dir / name).string());
    ASSERT_TRUE(path.ok()) << path.status().to_string();
    std::ifstream in(*path);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_GT(text.str().size(), 1000u) << name;
  }
  EXPECT_FALSE(write_study_report(*store_, "green-cv", (dir / "r.pdf").string()).ok());
  EXPECT_EQ(write_study_report(*store_, "green-cv", (dir / "missing/r.html").string()).status().code(),
            Status::Code::kIoError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wattlab
