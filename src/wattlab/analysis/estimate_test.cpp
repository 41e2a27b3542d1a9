#include "wattlab/analysis/estimate.h"

#include <gtest/gtest.h>

#include "wattlab/analysis/estimation_testing.h"

namespace wattlab {
namespace {

using testing::SyntheticTraining;

class EstimateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(folder_.file("runs.db"), &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    options_.epochs = 10;
    options_.intensity = {500, "test"};
  }

  // resnet18 on 2000 images at `threads` on the synthetic runs' machine.
  PreWorkload query(int threads = 2) const {
    PreWorkload w;
    w.shape = {"resnet18", 1.0, 1, 28, 28, 10};
    w.train_images = 2000;
    w.test_images = 1000;
    w.environment = environment_of_snapshot({{"cpu_model", SyntheticTraining().cpu_model},
                                             {"cpu_count", "8"},
                                             {"ram_gib", "16.0"},
                                             {"hostname", "host1"},
                                             {"threads", std::to_string(threads)}});
    return w;
  }

  Result<EstimateReport> estimate(const PreWorkload& w,
                                  const std::optional<std::vector<std::string>>& compare = std::nullopt) {
    return estimate_training(*store_, w, testing::fake_model_cost, compare, options_, clock_);
  }

  // 3 models x 2 thread counts x 3 repetitions; F1 levels off after epoch 3.
  void add_runs() {
    int64_t end = 1'700'000'000'000;
    for (const char* model : {"cnn", "lenet5", "resnet18"}) {
      for (int threads : {1, 2}) {
        for (int rep = 0; rep < 3; ++rep) {
          SyntheticTraining t;
          t.model = model;
          t.threads = threads;
          t.noise = 0.01 * (rep - 1);
          t.epochs = 6;
          t.f1_by_epoch = {0.60, 0.80, 0.88, 0.8805, 0.881, 0.8812};
          t.study_environment = std::to_string(threads) + "-threads";
          t.study = "green-cv";
          t.end_time_ms = end += 60'000;
          testing::add_synthetic_training(*store_, t);
        }
      }
    }
  }

  testing::TempFolder folder_{"wattlab-estimate-test"};
  FakeClock clock_{0, 1'800'000'000'000};
  std::unique_ptr<Store> store_;
  EstimateOptions options_;
};

TEST_F(EstimateTest, AnEmptyStoreGivesTheLabelledBaseline) {
  auto report = estimate(query());
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->estimates.size(), 1u);
  const TrainingEstimate& e = report->estimates[0];
  EXPECT_EQ(e.method, EstimateMethod::kBaseline);
  EXPECT_EQ(e.method_text,
            "Green Algorithms baseline (TDP-based, not fitted to any run): the store has 0 finished training runs on "
            "this hardware (0 usable in all); PRE needs runs of 3 configurations");
  // Green Algorithms: 150 W / 8 CPUs x 2 threads + 0.3725 W/GiB x 16 GiB, for the work at 2 GMAC/s per thread.
  const double power_w = 150.0 / 8 * 2 + 0.3725 * 16;
  const double seconds = 1.4e8 * (3 * 2000 + 1000) / 4e9 * 10;
  EXPECT_NEAR(e.mean_power_w, power_w, 1e-9);
  EXPECT_NEAR(e.duration_s, seconds, 1e-6);
  EXPECT_NEAR(e.energy_j, power_w * seconds, 1e-6);
  EXPECT_NEAR(e.energy_low_j, e.energy_j / 3, 1e-6);
  EXPECT_NEAR(e.co2e_g, e.energy_j / 3.6e6 * 500, 1e-9);
  EXPECT_TRUE(std::isnan(e.cv_mape));
  EXPECT_NE(e.assumptions.find("Green Algorithms"), std::string::npos);
  EXPECT_FALSE(report->advice.has_value());
}

TEST_F(EstimateTest, TooFewRunsStillGiveTheBaselineAndSayWhy) {
  for (int rep = 0; rep < 2; ++rep) {
    SyntheticTraining t;
    t.model = "resnet18";
    t.threads = 2;
    t.end_time_ms += rep;
    testing::add_synthetic_training(*store_, t);
  }
  auto report = estimate(query());
  ASSERT_TRUE(report.ok()) << report.status().message();
  const TrainingEstimate& e = report->estimates[0];
  EXPECT_EQ(e.method, EstimateMethod::kBaseline);
  EXPECT_EQ(e.comparable_runs, 2u);
  EXPECT_EQ(e.method_text,
            "Green Algorithms baseline (TDP-based, not fitted to any run): the store has 2 finished training runs on "
            "this hardware (2 usable in all); PRE needs runs of 3 configurations");
  EXPECT_EQ(report->model_note, "PRE needs runs of at least 3 configurations; the store has 1");
  ASSERT_TRUE(report->advice.has_value());  // advice needs only one comparable run
}

TEST_F(EstimateTest, EnoughRunsGivePreWithItsRunsAndCvError) {
  add_runs();
  auto report = estimate(query());
  ASSERT_TRUE(report.ok()) << report.status().message();
  const TrainingEstimate& e = report->estimates[0];
  ASSERT_EQ(e.method, EstimateMethod::kPre) << e.method_text;
  EXPECT_EQ(e.training_runs, 18u);
  EXPECT_EQ(e.comparable_runs, 18u);
  EXPECT_LT(e.cv_mape, 0.05);
  EXPECT_EQ(e.method_text.substr(0, 62), "PRE (kernel ridge regression) on 18 runs of 6 configurations, ");
  SyntheticTraining t;
  t.model = "resnet18";
  t.threads = 2;
  t.epochs = 6;
  // Per epoch: the law's epoch plus a sixth of the second of set-up the runs spend.
  const double expected_j = 10 * testing::synthetic_power_w(2) * (testing::synthetic_epoch_s(t) + 1.0 / 6);
  EXPECT_NEAR(e.energy_j, expected_j, 0.03 * expected_j);
  EXPECT_LE(e.energy_low_j, e.energy_j);
  EXPECT_GE(e.energy_high_j, e.energy_j);
  EXPECT_NEAR(e.mean_power_w, testing::synthetic_power_w(2), 0.03 * testing::synthetic_power_w(2));
  EXPECT_NEAR(e.co2e_g, e.energy_j / 3.6e6 * 500, 1e-9);
  ASSERT_FALSE(e.nearest.empty());
  EXPECT_NE(e.nearest[0].label.find("resnet18"), std::string::npos);
  // The runs' F1 levelled off after epoch 3.
  ASSERT_TRUE(report->advice.has_value());
  EXPECT_EQ(report->advice->stop_epoch, 3);
  EXPECT_NE(report->advice_sentence.find("--epochs 3 instead of 10 would save about"), std::string::npos)
      << report->advice_sentence;

  // The same query on hardware the store never saw falls back to the baseline.
  PreWorkload elsewhere = query();
  elsewhere.environment.cpu_model = "AMD EPYC";
  elsewhere.environment.cpu_tdp_w = 32;
  auto other = estimate(elsewhere);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->estimates[0].method, EstimateMethod::kBaseline);
  EXPECT_EQ(other->estimates[0].method_text,
            "Green Algorithms baseline (TDP-based, not fitted to any run): the store has 0 finished training runs on "
            "this hardware, PRE needs 3");
}

TEST_F(EstimateTest, RanksTheStoresEnvironments) {
  add_runs();
  auto report = estimate(query(), std::vector<std::string>{});
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->estimates.size(), 2u);
  // 1 thread: 29 W for 1/1 of the time; 2 threads: 38 W for 1/2^0.8 of it: 2 threads use less energy.
  EXPECT_EQ(report->estimates[0].environment.threads, 2);
  EXPECT_EQ(report->estimates[0].environment.name, "2-threads");
  EXPECT_LT(report->estimates[0].energy_j, report->estimates[1].energy_j);
  EXPECT_LT(report->estimates[0].duration_s, report->estimates[1].duration_s);
  auto named = estimate(query(), std::vector<std::string>{"1-threads"});
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->estimates.size(), 1u);
  EXPECT_EQ(named->estimates[0].environment.threads, 1);
  auto unknown = estimate(query(), std::vector<std::string>{"gpu-box"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kNotFound);
  EXPECT_NE(unknown.status().message().find("2-threads: Intel(R) Xeon(R) Gold 6148"), std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace wattlab
