#include "wattlab/study/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "wattlab/study/study_testing.h"
#include "wattlab/track/client.h"

namespace wattlab {
namespace {

const std::string kBase =
    "name: s\nepochs: 2\nmodels:\n  - model: cnn\n  - model: resnet18\n"
    "environments:\n  - {name: a, threads: 1}\n  - {name: b, threads: 2}\norder: grouped\n";

class ExecutorTest : public ::testing::Test {
 protected:
  StudySpec spec(const std::string& text) {
    TestFlagChecker checker;
    auto spec = parse_study_spec("s.yaml", text, checker);
    EXPECT_TRUE(spec.ok()) << spec.status().to_string();
    return spec.ok() ? *spec : StudySpec{};
  }
  Result<StudyRunResult> run(const StudySpec& s, StudyRunOptions options = {}) {
    return run_study(temp_.store(), s, backend_, options);
  }
  // The study's trial runs, by key.
  std::map<std::string, RunData> trial_runs(const StudySpec& s) {
    auto trials = expand_trials(s);
    auto state = load_study_state(temp_.store(), s, trials, backend_.now_ms(), kDefaultStaleAfterMs, false);
    EXPECT_TRUE(state.ok());
    std::map<std::string, RunData> out;
    for (const auto& r : state->trials) {
      if (r.run) out[r.trial->key] = *r.run;
    }
    return out;
  }

  TempStore temp_;
  FakeBackend backend_{temp_.store()};
};

TEST_F(ExecutorTest, RunsEveryTrialOnceTaggedThenRerunsNothing) {
  const StudySpec s = spec(kBase + "repetitions: 2\n");
  auto result = run(s);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->ran, 8);
  EXPECT_EQ(result->finished, 8);
  EXPECT_EQ(result->summary.finished, 8);
  EXPECT_EQ(result->summary.energy_j, 8 * 20);
  EXPECT_EQ(backend_.trained.front(), "cnn-a-r1");
  auto runs = trial_runs(s);
  ASSERT_EQ(runs.size(), 8u);
  const RunData& r = runs.at("resnet18/b/r2");
  EXPECT_EQ(r.tags.at("wattlab.study"), "s");
  EXPECT_EQ(r.tags.at("wattlab.study.role"), "trial");
  EXPECT_EQ(r.tags.at("wattlab.study.model"), "resnet18");
  EXPECT_EQ(r.tags.at("wattlab.study.environment"), "b");
  EXPECT_EQ(r.tags.at("wattlab.study.repetition"), "2");
  EXPECT_EQ(r.tags.at("wattlab.study.trial"), "7");
  EXPECT_EQ(r.tags.at("wattlab.study.spec_hash"), s.hash);
  EXPECT_EQ(r.info.run_name, "resnet18-b-r2");
  // The spec is stored with the study.
  EXPECT_EQ(*recorded_study_spec(temp_.store(), "s"), s.text);
  auto studies = list_studies(temp_.store());
  ASSERT_EQ(studies->size(), 1u);
  EXPECT_EQ(studies->front().spec_hash, s.hash);

  backend_.trained.clear();
  auto again = run(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ran, 0);
  EXPECT_TRUE(backend_.trained.empty());
  EXPECT_EQ(trial_runs(s).size(), 8u);
}

// A trial whose process was killed (-9) leaves a RUNNING run: once its
// heartbeat is stale, the next study run marks it KILLED and resumes it from
// its checkpoint, in the same run; a killed trial without a checkpoint is run
// anew and its first run stays, marked superseded. No trial is duplicated.
TEST_F(ExecutorTest, KilledTrialsResumeFromTheirCheckpointOrRunAnew) {
  const StudySpec s = spec(kBase);
  // A kill -9 ends the study's process too.
  backend_.end_next("cnn-b-r1", RunStatus::kKilled, /*checkpoint=*/true);
  auto first = run(s);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->interrupted);
  EXPECT_EQ(first->ran, 2);
  const std::string killed_with_checkpoint = trial_runs(s).at("cnn/b/r1").info.run_id;
  EXPECT_EQ(trial_runs(s).at("cnn/b/r1").info.status, RunStatus::kRunning);

  // Within the heartbeat limit that trial counts as running elsewhere: the next run skips it.
  backend_.trained.clear();
  backend_.end_next("resnet18-a-r1", RunStatus::kKilled, /*checkpoint=*/false);
  ASSERT_EQ(run(s)->ran, 1);
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"resnet18-a-r1"}));
  const std::string killed_without = trial_runs(s).at("resnet18/a/r1").info.run_id;

  backend_.now_ms_ += kDefaultStaleAfterMs + 1000;
  backend_.trained.clear();
  auto result = run(s);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->ran, 3);
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"resumed cnn-b-r1", "resnet18-a-r1", "resnet18-b-r1"}));
  auto runs = trial_runs(s);
  EXPECT_EQ(runs.at("cnn/b/r1").info.run_id, killed_with_checkpoint);
  EXPECT_EQ(runs.at("cnn/b/r1").info.status, RunStatus::kFinished);
  EXPECT_NE(runs.at("resnet18/a/r1").info.run_id, killed_without);
  EXPECT_EQ(result->summary.finished, 4);
  auto old = temp_.store().get_run(killed_without);
  EXPECT_EQ(old->info.status, RunStatus::kKilled);
  EXPECT_EQ(old->tags.at("wattlab.study.role"), "superseded");
  EXPECT_NE(old->tags.at("wattlab.stop_reason").find("stopped sending heartbeats"), std::string::npos);
}

TEST_F(ExecutorTest, FailedTrialsAreCountedAndRetriedNextTime) {
  const StudySpec s = spec(kBase);
  backend_.end_next("resnet18-a-r1", RunStatus::kFailed);
  auto first = run(s);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->ran, 4);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(first->summary.failed, 1);
  auto second = run(s);
  EXPECT_EQ(second->ran, 1);
  EXPECT_EQ(second->summary.finished, 4);
}

TEST_F(ExecutorTest, ChangingFinishedTrialsIsRefusedAddingIsNot) {
  ASSERT_TRUE(run(spec(kBase)).ok());
  auto changed = run(spec(kBase + "train: {batch-size: 128}\n"));
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().message(),
            "s.yaml: this spec changes 4 finished trial(s) of study s:\n"
            "  cnn/a/r1: batch-size now 128\n  cnn/b/r1: batch-size now 128\n"
            "  resnet18/a/r1: batch-size now 128\n  resnet18/b/r1: batch-size now 128\n"
            "finished trials must keep their settings (adding models, environments or repetitions is fine); to run "
            "the changed settings, give the study a new name");
  auto edited = run(spec("name: s\nepochs: 3\nmodels:\n  - model: cnn\n  - model: resnet18\n"
                         "environments:\n  - {name: a, threads: 1}\n  - {name: b, threads: 2}\norder: grouped\n"));
  ASSERT_FALSE(edited.ok());
  EXPECT_NE(edited.status().message().find("cnn/a/r1: epochs 2 -> 3"), std::string::npos) << edited.status().message();

  backend_.trained.clear();
  auto grown = run(spec(kBase + "repetitions: 2\n"));
  ASSERT_TRUE(grown.ok()) << grown.status().to_string();
  EXPECT_EQ(grown->ran, 4);
  EXPECT_EQ(backend_.trained,
            (std::vector<std::string>{"cnn-a-r2", "cnn-b-r2", "resnet18-a-r2", "resnet18-b-r2"}));
}

TEST_F(ExecutorTest, AnIndexRunsOneTrialAndAFinishedIndexNothing) {
  const StudySpec s = spec(kBase);
  StudyRunOptions options;
  options.index = 2;
  auto one = run(s, options);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"resnet18-a-r1"}));
  EXPECT_EQ(run(s, options)->ran, 0);
  options.index = 4;
  EXPECT_EQ(run(s, options).status().message(), "--index 4 is out of range: study s has trials 0 to 3");
}

TEST_F(ExecutorTest, IdleBaselineWarmupAndCooldownsComeInOrderAndAreNotTrials) {
  const StudySpec s = spec(kBase + "idle-baseline: 10s\nwarmup: {steps: 20, model: resnet18}\n"
                                   "cooldown: {until-idle-within: 10%, max: 30s}\n");
  backend_.idle_w = 20;
  // After the warm-up: 30 W, then 21.5 W (within 10 % of 20 W). Later cool-downs read idle power at once.
  backend_.power_readings_w = {30, 21.5};
  auto result = run(s);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"idle-baseline", "warmup-resnet18", "cnn-a-r1", "cnn-b-r1",
                                                       "resnet18-a-r1", "resnet18-b-r1"}));
  EXPECT_TRUE(backend_.power_readings_w.empty());
  EXPECT_EQ(result->summary.total, 4);
  EXPECT_EQ(result->summary.finished, 4);
  auto trials = expand_trials(s);
  auto state = load_study_state(temp_.store(), s, trials, backend_.now_ms(), kDefaultStaleAfterMs, false);
  ASSERT_EQ(state->other_runs.size(), 2u);
  EXPECT_EQ(state->other_runs[0].tags.at("wattlab.study.role"), "idle-baseline");
  EXPECT_EQ(state->other_runs[1].tags.at("wattlab.study.role"), "warmup");
}

TEST_F(ExecutorTest, TimedCooldownWaitsWhatIsLeftSinceTheLastTrial) {
  const StudySpec s = spec(kBase + "cooldown: {duration: 5s}\n");
  ASSERT_TRUE(run(s).ok());
  // No wait before the first trial; 5 s before each later one (the fake's trials end as they start).
  EXPECT_EQ(backend_.waits_s, (std::vector<double>{5, 5, 5}));
}

TEST_F(ExecutorTest, AStopRequestEndsTheStudyAfterTheCurrentTrial) {
  const StudySpec s = spec(kBase + "cooldown: {duration: 5s}\n");
  backend_.stop_ = false;
  StudyRunOptions options;
  backend_.end_next("cnn-b-r1", RunStatus::kKilled);
  auto result = run(s, options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->interrupted);
  EXPECT_EQ(result->ran, 2);
}

// Slurm tasks on one node share a node-state file: the idle baseline and the
// warm-up happen once, and each task cools down from the previous one's end.
TEST_F(ExecutorTest, TasksSharingANodeStateFilePrepareTheMachineOnce) {
  const StudySpec s = spec(kBase + "idle-baseline: 10s\nwarmup: {steps: 5}\ncooldown: {duration: 5s}\n");
  StudyRunOptions options;
  options.node_state_path = (temp_.dir() / "node.json").string();
  options.index = 0;
  ASSERT_TRUE(run(s, options).ok());
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"idle-baseline", "warmup-cnn", "cnn-a-r1"}));
  EXPECT_EQ(backend_.waits_s, (std::vector<double>{5}));  // after the warm-up
  backend_.trained.clear();
  backend_.waits_s.clear();
  options.index = 1;
  ASSERT_TRUE(run(s, options).ok());
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"cnn-b-r1"}));
  EXPECT_EQ(backend_.waits_s, (std::vector<double>{5}));
  // A torn or foreign file counts as nothing known yet.
  std::ofstream(options.node_state_path) << "{\"idle_power_w\": null, \"warmed_up\": \"yes\"";
  backend_.trained.clear();
  options.index = 2;
  ASSERT_TRUE(run(s, options).ok());
  EXPECT_EQ(backend_.trained, (std::vector<std::string>{"idle-baseline", "warmup-cnn", "resnet18-a-r1"}));
}

}  // namespace
}  // namespace wattlab
