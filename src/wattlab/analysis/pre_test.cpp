#include "wattlab/analysis/pre.h"

#include <gtest/gtest.h>

#include "wattlab/analysis/estimation_testing.h"

namespace wattlab {
namespace {

using testing::SyntheticTraining;
using testing::TempFolder;

// 3 models x 2 thread counts x 2 data sizes x 3 repetitions (±2 % noise):
// 12 configurations, 36 runs.
void add_training_set(Store& store) {
  int64_t end = 1'700'000'000'000;
  for (const char* model : {"cnn", "lenet5", "resnet18"}) {
    for (int threads : {1, 2}) {
      for (int64_t images : {1000, 4000}) {
        for (int rep = 0; rep < 3; ++rep) {
          SyntheticTraining t;
          t.model = model;
          t.threads = threads;
          t.train_images = images;
          t.noise = 0.02 * (rep - 1);
          t.end_time_ms = end += 60'000;
          ASSERT_FALSE(testing::add_synthetic_training(store, t).empty());
        }
      }
    }
  }
}

class PreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(folder_.file("runs.db"), &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }

  TempFolder folder_{"wattlab-pre-test"};
  FakeClock clock_{0, 1'800'000'000'000};
  std::unique_ptr<Store> store_;
};

TEST_F(PreTest, ReadsTheWorkloadAndEnvironmentOfARun) {
  SyntheticTraining t;
  t.threads = 2;
  t.train_images = 3000;
  const std::string id = testing::add_synthetic_training(*store_, t);
  auto run = store_->get_run(id);
  ASSERT_TRUE(run.ok());
  auto w = workload_of_run(*run);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->shape.model, "cnn");
  EXPECT_EQ(w->shape.height, 28);
  EXPECT_EQ(w->train_images, 3000);
  EXPECT_EQ(w->test_images, 1000);
  EXPECT_EQ(w->batch_size, 64);
  EXPECT_EQ(w->environment.threads, 2);
  EXPECT_EQ(w->environment.cpu_tdp_w, 150);  // Xeon Gold 6148 in the TDP table
  EXPECT_EQ(w->environment.label(), "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz, 2 threads, cpu on host1");
  auto o = observation_of_run(*run, testing::fake_model_cost);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_NEAR(o->energy_per_epoch_j, (4 * 38.0 * testing::synthetic_epoch_s(t) + 38.0) / 4, 1e-6);
  EXPECT_NEAR(o->mean_power_w, 38.0, 1e-9);
  const auto features = pre_features(o->workload, o->cost);
  ASSERT_EQ(features.size(), pre_feature_names().size());
  EXPECT_EQ(features[0], 6);                        // log2 batch size
  EXPECT_NEAR(features[4], std::log10(3000), 1e-12);  // log10 training images
  EXPECT_EQ(features[8], 2);                        // threads
  // A CPU the table lacks counts 4 W per logical CPU.
  EXPECT_EQ(environment_of_snapshot({{"cpu_model", "AMD EPYC"}, {"cpu_count", "2"}}).cpu_tdp_w, 8);
  run->params.erase("image_size");
  EXPECT_EQ(workload_of_run(*run).status().message(), "no param image_size");
}

TEST_F(PreTest, FitsTheStoresRunsAndPredictsAnUnseenConfiguration) {
  add_training_set(*store_);
  std::map<std::string, PreModelCost> costs;
  auto collection = collect_pre_observations(*store_, testing::fake_model_cost, &costs);
  ASSERT_TRUE(collection.ok());
  EXPECT_EQ(collection->observations.size(), 36u);
  EXPECT_EQ(costs.size(), 3u);  // counted once per model shape
  auto model = fit_pre(collection->observations);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->configurations.size(), 12u);
  EXPECT_EQ(model->run_count(), 36u);
  EXPECT_EQ(model->folds, 5);
  EXPECT_LT(model->energy.cv.mape, 0.05);
  EXPECT_LT(model->power.cv.mape, 0.05);
  EXPECT_EQ(model->environments().size(), 2u);  // 1 and 2 threads on one machine

  // 2500 images on 2 threads: a size the store never saw.
  SyntheticTraining query;
  query.model = "resnet18";
  query.threads = 2;
  query.train_images = 2500;
  PreWorkload w = collection->observations.front().workload;
  w.shape.model = "resnet18";
  w.train_images = 2500;
  w.environment.threads = 2;
  const PreModelCost cost = *testing::fake_model_cost(w.shape);
  const PrePrediction p = predict_pre(*model, w, cost);
  const double expected_j = testing::synthetic_power_w(2) * testing::synthetic_epoch_s(query);
  EXPECT_NEAR(p.energy_per_epoch_j, expected_j, 0.05 * expected_j);
  EXPECT_NEAR(p.mean_power_w, testing::synthetic_power_w(2), 0.05 * testing::synthetic_power_w(2));
  EXPECT_LE(p.energy_low_j, p.energy_per_epoch_j);
  EXPECT_GE(p.energy_high_j, p.energy_per_epoch_j);
  EXPECT_NEAR(p.duration_per_epoch_s, p.energy_per_epoch_j / p.mean_power_w, 1e-9);
  ASSERT_EQ(p.nearest.size(), 3u);
  EXPECT_NE(p.nearest[0].label.find("resnet18"), std::string::npos);
  EXPECT_GE(p.nearest[0].weight, p.nearest[1].weight);
}

TEST_F(PreTest, NeedsThreeConfigurations) {
  for (int threads : {1, 2}) {
    SyntheticTraining t;
    t.threads = threads;
    testing::add_synthetic_training(*store_, t);
  }
  std::map<std::string, PreModelCost> costs;
  auto collection = collect_pre_observations(*store_, testing::fake_model_cost, &costs);
  ASSERT_TRUE(collection.ok());
  auto model = fit_pre(collection->observations);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "PRE needs runs of at least 3 configurations; the store has 2");
}

TEST_F(PreTest, StoresItsModelAndKnowsWhenItIsStale) {
  add_training_set(*store_);
  std::string note;
  auto fitted = load_or_fit_pre(*store_, testing::fake_model_cost, {}, clock_, &note);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  ASSERT_TRUE(fitted->has_value()) << note;
  EXPECT_EQ(note, "PRE fitted on 36 runs");
  EXPECT_EQ((*fitted)->fitted_at_ms, 1'800'000'000'000);

  // Stored as a run of the estimators' experiment: params, CV metrics, the model file.
  auto experiment = store_->get_experiment_by_name(kEstimatorExperiment);
  ASSERT_TRUE(experiment.ok());
  SearchRunsOptions search;
  search.experiment_ids = std::vector<std::string>{experiment->experiment_id};
  auto page = store_->search_runs(search);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->runs.size(), 1u);
  const RunData& stored_run = page->runs.front();
  EXPECT_EQ(stored_run.params.at("runs"), "36");
  EXPECT_EQ(stored_run.params.at("configurations"), "12");
  EXPECT_EQ(stored_run.params.at("features").substr(0, 28), "log2_batch_size,image_height");
  EXPECT_NEAR(stored_run.latest_metrics.at("cv_mape_energy_per_epoch").value, (*fitted)->energy.cv.mape, 1e-12);
  EXPECT_EQ(stored_run.tags.at("wattlab.estimator"), "pre");

  auto loaded = load_pre_model(*store_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_TRUE(loaded->has_value());
  const PreModel& a = **fitted;
  const PreModel& b = **loaded;
  ASSERT_EQ(b.configurations.size(), a.configurations.size());
  EXPECT_EQ(b.configurations[3].run_ids, a.configurations[3].run_ids);
  EXPECT_EQ(b.energy.cv.mape, a.energy.cv.mape);
  const PreWorkload& w = a.configurations[5].workload;
  EXPECT_EQ(predict_pre(b, w, a.configurations[5].cost).energy_per_epoch_j,
            predict_pre(a, w, a.configurations[5].cost).energy_per_epoch_j);

  // A second call uses the stored model; a run finishing later makes it stale.
  auto again = load_or_fit_pre(*store_, testing::fake_model_cost, {}, clock_, &note);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(note, "stored PRE model (36 runs)");
  EXPECT_FALSE(*pre_model_is_stale(*store_, b));
  SyntheticTraining later;
  later.end_time_ms = b.latest_run_end_ms + 1;
  testing::add_synthetic_training(*store_, later);
  EXPECT_TRUE(*pre_model_is_stale(*store_, b));
  auto refit = load_or_fit_pre(*store_, testing::fake_model_cost, {}, clock_, &note);
  ASSERT_TRUE(refit.ok() && refit->has_value());
  EXPECT_EQ(note, "PRE fitted on 37 runs");
}

TEST_F(PreTest, CrossValidatesByRunsOrByConfigurations) {
  add_training_set(*store_);
  std::map<std::string, PreModelCost> costs;
  auto collection = collect_pre_observations(*store_, testing::fake_model_cost, &costs);
  ASSERT_TRUE(collection.ok());
  const auto& observations = collection->observations;
  std::vector<std::string> runs, configurations;
  for (const auto& o : observations) {
    runs.push_back(o.run_id);
    configurations.push_back(o.workload.shape.model + std::to_string(o.workload.environment.threads) + "/" +
                             std::to_string(o.workload.train_images));
  }
  auto random_folds = assign_folds(runs, 5, 1);
  ASSERT_TRUE(random_folds.ok());
  auto by_runs = cross_validate_pre(observations, *random_folds);
  ASSERT_TRUE(by_runs.ok()) << by_runs.status().message();
  EXPECT_EQ(by_runs->energy_per_epoch.count, 36u);
  EXPECT_LT(by_runs->energy_per_epoch.mape, 0.05);
  auto one_per_fold = assign_folds(configurations, 12, 1);
  ASSERT_TRUE(one_per_fold.ok());
  auto by_configuration = cross_validate_pre(observations, *one_per_fold);
  ASSERT_TRUE(by_configuration.ok());
  EXPECT_LT(by_configuration->energy_per_epoch.mape, 0.10);
  EXPECT_FALSE(cross_validate_pre(observations, std::vector<int>(3, 0)).ok());
}

}  // namespace
}  // namespace wattlab
