#include "wattlab/analysis/advice.h"

#include <gtest/gtest.h>

#include "wattlab/analysis/estimation_testing.h"

namespace wattlab {
namespace {

std::vector<EpochProgress> epochs_of(const std::vector<double>& f1, double energy_j = 1000) {
  std::vector<EpochProgress> epochs;
  for (size_t i = 0; i < f1.size(); ++i) epochs.push_back({static_cast<int>(i) + 1, f1[i], energy_j});
  return epochs;
}

TEST(RunStopAdviceTest, FindsTheEpochAfterWhichF1StoppedPayingForItsEnergy) {
  // 1 kJ an epoch; after epoch 4 F1 gains 0.05 and then 0.03 points per kJ, under 0.1.
  auto a = advise_run_stop(epochs_of({0.70, 0.80, 0.85, 0.86, 0.8605, 0.8608}));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->diminishing);
  EXPECT_EQ(a->stop_epoch, 4);
  EXPECT_EQ(a->last_epoch, 6);
  EXPECT_DOUBLE_EQ(a->energy_at_stop_j, 4000);
  EXPECT_DOUBLE_EQ(a->saved_energy_j, 2000);
  EXPECT_NEAR(a->gain_after_stop_per_kj, 0.0004, 1e-12);
  EXPECT_EQ(a->sentence,
            "Stopping after epoch 4 of 6 would have saved 2.0 kJ (33 %) for 0.1 F1 points (0.860 instead of 0.861): "
            "the 2 epochs after it gained 0.04 F1 points per kJ, under the 0.1 F1 points per kJ threshold.");
}

TEST(RunStopAdviceTest, SaysSoWhenEveryEpochPaid) {
  auto a = advise_run_stop(epochs_of({0.5, 0.6, 0.7}));
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->diminishing);
  EXPECT_EQ(a->stop_epoch, 3);
  EXPECT_EQ(a->saved_energy_j, 0);
  EXPECT_EQ(a->sentence, "Every epoch up to the last (3) gained at least 0.1 F1 points per kJ; training longer may still pay.");
  // A dip that a later epoch more than recovers is not a stop.
  auto dip = advise_run_stop(epochs_of({0.8, 0.75, 0.9}));
  ASSERT_TRUE(dip.ok());
  EXPECT_EQ(dip->stop_epoch, 3);
  // A higher threshold stops earlier.
  auto strict = advise_run_stop(epochs_of({0.5, 0.6, 0.7}), {0.2});
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(strict->stop_epoch, 1);
  EXPECT_FALSE(advise_run_stop({}).ok());
  EXPECT_FALSE(advise_run_stop(epochs_of({0.5, NAN})).ok());
}

TEST(RunStopAdviceTest, ReadsTheEpochsOfAStoredRun) {
  testing::TempFolder folder("wattlab-advice-test");
  auto store = Store::open(folder.file("runs.db"));
  ASSERT_TRUE(store.ok());
  testing::SyntheticTraining t;
  t.epochs = 3;
  t.f1_by_epoch = {0.6, 0.7, 0.71};
  const std::string id = testing::add_synthetic_training(**store, t);
  auto epochs = epoch_progress_of_run(**store, id);
  ASSERT_TRUE(epochs.ok()) << epochs.status().message();
  ASSERT_EQ(epochs->size(), 3u);
  EXPECT_EQ((*epochs)[2].epoch, 3);
  EXPECT_DOUBLE_EQ((*epochs)[2].f1, 0.71);
  EXPECT_NEAR((*epochs)[1].energy_j, testing::synthetic_power_w(1) * testing::synthetic_epoch_s(t), 1e-9);
  EXPECT_FALSE(epoch_progress_of_run(**store, "0123456789abcdef0123456789abcdef").ok());
}

TEST(StudyAdviceTest, WalksTheParetoFrontToWhereTheNextStepStopsPaying) {
  auto advice = advise_study({{"A", 10'000, 0.900, 3}, {"B", 20'000, 0.915, 3}, {"C", 40'000, 0.917, 3},
                              {"D", 30'000, 0.910, 3}});  // D: dearer and worse than B
  ASSERT_TRUE(advice.ok());
  ASSERT_EQ(advice->front.size(), 3u);
  EXPECT_EQ(advice->front[0].label, "A");
  EXPECT_EQ(advice->front[2].label, "C");
  ASSERT_EQ(advice->steps.size(), 2u);
  EXPECT_NEAR(advice->steps[0].f1_gain_per_kj, 0.0015, 1e-12);
  EXPECT_NEAR(advice->steps[1].f1_gain_per_kj, 0.0001, 1e-12);
  EXPECT_EQ(advice->recommended, 1u);
  EXPECT_EQ(advice->sentence,
            "B: 0.2 F1 points lower than C (0.915 vs 0.917) for 50 % less energy (20.0 kJ vs 40.0 kJ); the next step "
            "up, C, costs 10.0 kJ per 0.1 F1 point.");
  auto top = advise_study({{"A", 10'000, 0.90, 1}, {"B", 12'000, 0.95, 1}});
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->recommended, 1u);
  EXPECT_EQ(top->sentence, "B has the highest F1 (0.950) at 12.0 kJ, and every step up the front to it paid at least 0.1 "
                           "F1 points per kJ.");
  EXPECT_FALSE(advise_study({}).ok());
}

TEST(StudyAdviceTest, GroupsAStudysTrialsByModelAndEnvironment) {
  testing::TempFolder folder("wattlab-study-advice-test");
  auto store = Store::open(folder.file("runs.db"));
  ASSERT_TRUE(store.ok());
  for (int threads : {1, 2}) {
    for (int rep = 1; rep <= 3; ++rep) {
      testing::SyntheticTraining t;
      t.threads = threads;
      t.study = "green-cv";
      t.study_environment = std::to_string(threads) + "-threads";
      t.repetition = rep;
      t.noise = 0.01 * rep;
      t.f1_by_epoch = {0.5, 0.6, 0.7, 0.80 + 0.01 * rep};
      testing::add_synthetic_training(**store, t);
    }
  }
  testing::SyntheticTraining other;  // not in the study
  testing::add_synthetic_training(**store, other);
  auto outcomes = study_outcomes(**store, "green-cv");
  ASSERT_TRUE(outcomes.ok()) << outcomes.status().message();
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_EQ((*outcomes)[0].label, "cnn on 1-threads");
  EXPECT_EQ((*outcomes)[0].runs, 3u);
  EXPECT_DOUBLE_EQ((*outcomes)[0].f1, 0.82);  // the median repetition
  testing::SyntheticTraining t;
  t.noise = 0.02;
  const double energy_j = (testing::synthetic_epoch_s(t) * t.epochs + 1) * testing::synthetic_power_w(1) * 1.02;
  EXPECT_NEAR((*outcomes)[0].energy_j, energy_j, 1e-6);
  EXPECT_EQ(study_outcomes(**store, "nope").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace wattlab
