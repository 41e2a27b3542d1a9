#include "wattlab/study/trials.h"

#include <gtest/gtest.h>

#include <set>

#include "wattlab/study/study_testing.h"

namespace wattlab {
namespace {

StudySpec spec_with(const std::string& extra) {
  TestFlagChecker checker;
  auto spec = parse_study_spec("s.yaml",
                               "name: s\nepochs: 2\nmodels:\n  - model: cnn\n  - {model: resnet18, epochs: 5}\n"
                               "environments:\n  - {name: a, threads: 1}\n  - {name: b, threads: 2}\n"
                               "repetitions: 3\nseed: 100\n" +
                                   extra,
                               checker);
  EXPECT_TRUE(spec.ok()) << spec.status().to_string();
  return spec.ok() ? *spec : StudySpec{};
}

std::vector<std::string> keys(const std::vector<Trial>& trials) {
  std::vector<std::string> out;
  for (const auto& t : trials) out.push_back(t.key);
  return out;
}

TEST(TrialsTest, EveryModelEnvironmentAndRepetitionOnceWithItsSettings) {
  const StudySpec spec = spec_with("order: grouped\n");
  const auto trials = expand_trials(spec);
  ASSERT_EQ(trials.size(), 12u);
  EXPECT_EQ(keys(trials)[0], "cnn/a/r1");
  EXPECT_EQ(keys(trials)[2], "cnn/a/r3");
  EXPECT_EQ(keys(trials)[3], "cnn/b/r1");
  EXPECT_EQ(keys(trials)[11], "resnet18/b/r3");
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].index, static_cast<int>(i));
  const Trial& t = trials[10];  // resnet18/b/r2
  EXPECT_EQ(t.model, "resnet18");
  EXPECT_EQ(t.environment, "b");
  EXPECT_EQ(t.repetition, 2);
  EXPECT_EQ(t.seed, 101u);
  // The model's epochs override the study's; the environment adds threads; the seed follows the repetition.
  EXPECT_EQ(t.settings_text, "epochs: 5\nmodel: resnet18\nseed: 101\nthreads: 2\n");
  EXPECT_EQ(trials[0].settings_text, "epochs: 2\nmodel: cnn\nseed: 100\nthreads: 1\n");
  EXPECT_EQ(trials[1].settings_text, "epochs: 2\nmodel: cnn\nseed: 101\nthreads: 1\n");
  EXPECT_EQ(t.settings().at("seed").values.front(), "101");
  EXPECT_EQ(t.settings().at("epochs").values.front(), "5");
}

TEST(TrialsTest, ShuffledOrderDependsOnlyOnTheSeed) {
  const auto a = keys(expand_trials(spec_with("order-seed: 2022\n")));
  const auto b = keys(expand_trials(spec_with("order-seed: 2022\n")));
  const auto c = keys(expand_trials(spec_with("order-seed: 2023\n")));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()), std::set<std::string>(c.begin(), c.end()));
  // mt19937_64 and the Fisher-Yates walk are fully specified: this order, computed independently by
  // testdata/trial_order.py, holds on every platform.
  EXPECT_EQ(a, (std::vector<std::string>{"resnet18/b/r1", "resnet18/b/r3", "resnet18/b/r2", "cnn/b/r2", "cnn/a/r3",
                                         "cnn/a/r1", "cnn/a/r2", "cnn/b/r1", "resnet18/a/r2", "cnn/b/r3",
                                         "resnet18/a/r1", "resnet18/a/r3"}));
}

}  // namespace
}  // namespace wattlab
