// `wattlab study` end to end, with real training on a few hundred
// Fashion-MNIST images: a trial killed with SIGKILL mid-training is found
// lost, marked KILLED, and completed from its checkpoint by the next run;
// status, ls and spec errors as a user sees them.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "wattlab/core/subprocess.h"
#include "wattlab/study/study_state.h"
#include "wattlab/track/store.h"

extern char** environ;

namespace wattlab {
namespace {

namespace fs = std::filesystem;

class StudyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_study_cli_test_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    store_ = (dir_ / "runs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_spec(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // `wattlab --store STORE ARGS...`, its output captured.
  CapturedOutput wattlab(std::vector<std::string> args) {
    args.insert(args.begin(), {WATTLAB_BINARY, "--store", store_});
    auto out = run_and_capture(args);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : CapturedOutput{};
  }

  fs::path dir_;
  std::string store_;
};

const char* kSpec = R"(name: tiny
dataset: {subset: 500, test-subset: 100}
epochs: 6
models:
  - model: cnn
environments:
  - {name: one-thread, threads: 1, batch-size: 50}
repetitions: 2
order: grouped
)";

TEST_F(StudyCliTest, ATrialKilledMidTrainingCompletesFromItsCheckpointOnTheNextRun) {
  const std::string spec = write_spec("tiny.yaml", kSpec);
  std::string binary = WATTLAB_BINARY;
  std::vector<std::string> args = {binary, "--store", store_, "study", "run", spec, "--quiet"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ), 0);

  // Kill -9 once the first trial has finished an epoch (so it has a checkpoint) and not all six.
  std::string victim;
  for (int i = 0; i < 1200 && victim.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto store = Store::open(store_);
    if (!store.ok()) continue;
    auto runs = (*store)->list_runs({});
    if (!runs.ok() || runs->empty()) continue;
    auto history = (*store)->get_metric_history(runs->back().run_id, "accuracy");
    if (history.ok() && !history->empty()) victim = runs->back().run_id;
  }
  ASSERT_FALSE(victim.empty()) << "no epoch finished within 60 s";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  {
    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    auto run = (*store)->get_run(victim);
    ASSERT_TRUE(run.ok());
    ASSERT_EQ(run->info.status, RunStatus::kRunning) << "a SIGKILLed trial cannot end its own run";
    EXPECT_LT((*store)->get_metric_history(victim, "accuracy")->size(), 6u) << "killed too late to test a resume";
  }

  // Its heartbeat stops: after --stale-after, status calls it lost.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto lost = wattlab({"study", "status", "tiny", "--stale-after", "1s", "--format", "json"});
  ASSERT_EQ(lost.exit_code, 0) << lost.stderr_text;
  auto lost_json = nlohmann::json::parse(lost.stdout_text);
  EXPECT_EQ(lost_json["trials_lost"], 1);
  EXPECT_EQ(lost_json["trials_pending"], 1);

  auto rerun = wattlab({"study", "run", spec, "--stale-after", "1s"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.stderr_text;
  EXPECT_NE(rerun.stderr_text.find("had stopped sending heartbeats: marked KILLED"), std::string::npos)
      << rerun.stderr_text;
  EXPECT_NE(rerun.stderr_text.find("(resuming its run)"), std::string::npos) << rerun.stderr_text;
  EXPECT_NE(rerun.stdout_text.find("study tiny: 2 of 2 trials finished"), std::string::npos) << rerun.stdout_text;

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto resumed = (*store)->get_run(victim);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->info.status, RunStatus::kFinished);
  EXPECT_EQ(resumed->tags.at(kStudyTrialKeyTag), "cnn/one-thread/r1");
  // Six epochs in all: those before the kill, then the rest from the checkpoint.
  auto accuracy = (*store)->get_metric_history(victim, "accuracy");
  ASSERT_TRUE(accuracy.ok());
  EXPECT_EQ(accuracy->back().step, 6);
  auto runs = (*store)->list_runs({});
  ASSERT_EQ(runs->size(), 2u) << "one run per trial, none duplicated";

  auto json = nlohmann::json::parse(wattlab({"study", "status", "tiny", "--format", "json"}).stdout_text);
  EXPECT_EQ(json["trials_finished"], 2);
  EXPECT_EQ(json["trials"][0]["state"], "finished");
  EXPECT_GT(json["energy_j"].get<double>(), 0);
  auto ls = wattlab({"study", "ls"});
  EXPECT_NE(ls.stdout_text.find("tiny"), std::string::npos) << ls.stdout_text;
  // Nothing is left to do.
  auto again = wattlab({"study", "run", spec, "--quiet"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ((*store)->list_runs({})->size(), 2u);
}

// Spec mistakes are caught before anything runs, located in the file, with
// train's own checks on its flags.
TEST_F(StudyCliTest, SpecMistakesNameTheLineBeforeAnythingRuns) {
  auto typo = wattlab({"study", "run",
                       write_spec("a.yaml", "name: a\nmodels: [{model: cnn}]\nenvironments:\n  - name: e\n    thread: 2\n")});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.stderr_text.find("a.yaml:5: unknown key 'thread' in environments[0] (did you mean 'threads'?)"),
            std::string::npos)
      << typo.stderr_text;
  auto type = wattlab({"study", "run", write_spec("b.yaml", "name: b\nmodels: [{model: cnn}]\nenvironments:\n"
                                                           "  - {name: e, batch-size: many}\n")});
  EXPECT_NE(type.stderr_text.find("b.yaml:4: environments[0].batch-size must be an integer (got 'many')"),
            std::string::npos)
      << type.stderr_text;
  auto rule = wattlab({"study", "run", write_spec("c.yaml", "name: c\nmodels: [{model: cnn}]\nenvironments:\n"
                                                           "  - {name: ok, threads: 1}\n  - {name: bad, threads: 0}\n")});
  EXPECT_EQ(rule.exit_code, 1);
  EXPECT_NE(rule.stderr_text.find("model cnn in environment bad: " + (dir_ / "c.yaml").string() + ":5: threads must be at least 1 (got 0)"),
            std::string::npos)
      << rule.stderr_text;
  auto model = wattlab({"study", "run", write_spec("d.yaml", "name: d\nmodels: [{model: resnet9000}]\n"
                                                            "environments: [{name: e}]\n")});
  EXPECT_NE(model.stderr_text.find("d.yaml:2: model: unknown model \"resnet9000\""), std::string::npos)
      << model.stderr_text;
  EXPECT_FALSE(fs::exists(store_)) << "no store was written, let alone a run";
  auto example = wattlab({"study", "example"});
  EXPECT_EQ(example.exit_code, 0);
  EXPECT_NE(example.stdout_text.find("name: quickstart"), std::string::npos);
}

}  // namespace
}  // namespace wattlab
