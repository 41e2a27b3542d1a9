// End-to-end tests of one tracked training run (`wattlab train`, run/): a
// refused resume leaves the run untouched, energy attributed to the run
// beside the machine's, summaries that say what each figure covers, a budget
// checked within the epoch, one trainer per run, the totals of a run whose
// session was killed, and a trainer killed five times mid-epoch.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/cli/cli_testing.h"
#include "wattlab/track/store.h"

extern char** environ;

namespace wattlab {
namespace {

namespace fs = std::filesystem;

using testing::CliTest;
using testing::count_lines;
using testing::slurp;
using testing::write_image_folder;

// Every row of every table of the SQLite file at `path`, as text, sorted per
// table: what "the run's rows" are, byte for byte.
std::map<std::string, std::vector<std::string>> dump_tables(const std::string& path) {
  std::map<std::string, std::vector<std::string>> tables;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return tables;
  }
  std::vector<std::string> names;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  for (const std::string& name : names) {
    std::vector<std::string>& rows = tables[name];
    sqlite3_prepare_v2(db, ("SELECT * FROM \"" + name + "\"").c_str(), -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, c));
        row += std::to_string(sqlite3_column_type(stmt, c)) + ":" +
               std::string(bytes ? bytes : "", static_cast<size_t>(sqlite3_column_bytes(stmt, c))) + "|";
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    std::sort(rows.begin(), rows.end());
  }
  sqlite3_close(db);
  return tables;
}

// Every file under `dir`, by relative path, with its bytes.
std::map<std::string, std::string> dump_files(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
  }
  return files;
}

// A child process running `args` (args[0] a path), stdout and stderr to
// DIR/child.out, for the tests that stop or race a training.
class Child {
 public:
  Child(const fs::path& dir, std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir / "child.out").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    EXPECT_EQ(posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits: the exit status as waitpid gives it.
  int stop(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }

 private:
  pid_t pid_ = 0;
};

// Polls the store until the only run has at least `epochs` accuracy points (120 s at most); its id, or "".
std::string wait_for_epochs(const std::string& store_path, size_t epochs) {
  for (int i = 0; i < 1200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto store = Store::open(store_path);
    if (!store.ok()) continue;
    auto runs = (*store)->list_runs({});
    if (!runs.ok() || runs->empty()) continue;
    auto history = (*store)->get_metric_history((*runs)[0].run_id, "accuracy");
    if (history.ok() && history->size() >= epochs) return (*runs)[0].run_id;
  }
  return "";
}

double latest(const RunData& run, const std::string& key) {
  auto it = run.latest_metrics.find(key);
  EXPECT_NE(it, run.latest_metrics.end()) << key;
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

// A resume that is refused (another model, a setting the checkpoint does
// not share, a FINISHED run with no epoch left) changes nothing of the run:
// not its rows in the store, not its files. A plain resume then needs no
// flag the stored configuration already fixes.
TEST_F(CliTest, ARefusedResumeLeavesTheRunByteForByte) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 8, 2);
  auto first = wattlab("train --dataset folder --data " + data.string() +
                       " --resize 16 --model cnn --epochs 1 --batch-size 8 --quiet --store " + store_);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string run_id;
  fs::path artifacts;
  {
    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    auto runs = (*store)->list_runs({});
    ASSERT_TRUE(runs.ok() && runs->size() == 1u);
    run_id = (*runs)[0].run_id;
    artifacts = (*runs)[0].artifact_uri;
  }
  const auto rows = dump_tables(store_);
  const auto files = dump_files(artifacts);
  ASSERT_TRUE(files.count("checkpoint.pt") && files.count("config.yaml") && files.count("model.pt"));
  ASSERT_FALSE(rows.at("runs").empty());

  const std::pair<std::string, std::string> refusals[] = {
      {"--epochs 3 --model resnet18", "trained with --model cnn, but resnet18 was asked for"},
      {"--epochs 3 --batch-size 4", "trained with --batch-size 8, but 4 was asked for"},
      {"--epochs 1", "has FINISHED 1 epochs, so there is nothing to resume"},
  };
  for (const auto& [flags, message] : refusals) {
    SCOPED_TRACE(flags);
    auto refused = wattlab("train --resume " + run_id + " " + flags + " --quiet --store " + store_);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_EQ(count_lines(refused.err), 1) << refused.err;
    EXPECT_NE(refused.err.find(message), std::string::npos) << refused.err;
    EXPECT_EQ(dump_tables(store_), rows) << "the store changed";
    EXPECT_EQ(dump_files(artifacts), files) << "the run's files changed";
  }

  auto resumed = wattlab("train --resume " + run_id + " --epochs 2 --quiet --store " + store_);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("run " + run_id + " FINISHED"), std::string::npos) << resumed.out;
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->params.at("model"), "cnn");
  EXPECT_EQ(run->latest_metrics.at("accuracy").step, 2);
}

// The machine's energy and the run's attributed share are both recorded,
// with the method; with a CPU-bound neighbour the run is flagged, its share
// is below the machine's figure, and the summary says so.
TEST_F(CliTest, EnergyAttributedToTheRunBesideTheMachinesWithABusyNeighbourFlagged) {
  Child hog(dir_, {"/bin/sh", "-c", "while :; do :; done"});  // one CPU kept busy
  auto r = wattlab("train --model cnn --subset 1200 --epochs 1 --meter estimate --store " + store_);
  hog.stop(SIGKILL);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok() && runs->size() == 1u);
  auto run = (*store)->get_run((*runs)[0].run_id);
  ASSERT_TRUE(run.ok());

  const double machine_j = latest(*run, "energy_j");
  const double attributed_j = latest(*run, "attributed_energy_j");
  EXPECT_GT(attributed_j, 0);
  EXPECT_LT(attributed_j, machine_j);
  const double busy_share = latest(*run, "cpu_busy_share");
  EXPECT_GT(busy_share, 0.0);
  EXPECT_LT(busy_share, 0.95) << "the neighbour used CPU time too";
  EXPECT_GT(latest(*run, "other_cpu_share"), 0.10);
  EXPECT_GT(latest(*run, "resident_memory_gib"), 0.01);
  EXPECT_NEAR(latest(*run, "attributed_energy_per_image_j"),
              latest(*run, "energy_per_image_j") * attributed_j / machine_j, 1e-12);
  EXPECT_NE(run->tags.at("wattlab.attribution").find("share of the CPU time"), std::string::npos);
  EXPECT_NE(run->tags.at("wattlab.busy_machine").find("other processes used "), std::string::npos);
  EXPECT_NE(r.out.find("warning: other processes used "), std::string::npos) << r.out;

  // Each figure of the summary says what it covers; --subset took the same share of the test split.
  EXPECT_NE(r.out.find("accuracy "), std::string::npos);
  EXPECT_NE(r.out.find(" on 200 test images"), std::string::npos) << r.out;  // 1200 of 60000 -> 200 of 10000
  EXPECT_EQ(run->params.at("test_images"), "200");
  EXPECT_NE(r.out.find("in all (training, evaluation and set-up)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" of it training ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" per image trained); attributed to this run: "), std::string::npos) << r.out;

  auto ls = wattlab("runs ls --format json --store " + store_);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto listed = nlohmann::json::parse(ls.out);
  EXPECT_EQ(listed[0]["attributed_energy_j"].get<double>(), attributed_j);
}

// A budget is checked before every batch: a run whose epoch would overrun it
// stops inside that epoch, within a batch's energy of the budget, and says
// so; it ends FINISHED with the budget as its stop reason.
TEST_F(CliTest, EnergyBudgetStopsWithinAnEpochBeforeItIsExceeded) {
  const std::string common = "train --model cnn --subset 2000 --test-subset 500 --meter estimate --quiet ";
  auto free_run = wattlab(common + "--epochs 1 --run-name free --store " + store_);
  ASSERT_EQ(free_run.exit_code, 0) << free_run.err;
  double epoch_j = 0;
  {
    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    epoch_j = latest(*(*store)->get_run((*(*store)->list_runs({}))[0].run_id), "energy_j");
  }
  // A third of an epoch: the estimate follows the whole machine's load, which
  // may differ by a factor of two between the runs on a shared machine, so
  // the budget may be reached in the second epoch or the third.
  const double budget_j = epoch_j / 3;
  auto r = wattlab(common + "--epochs 6 --run-name budget --carbon FRA --energy-budget " + std::to_string(budget_j) +
                   "J --store " + store_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "energy budget in epoch K (...": cut short inside epoch K, which counts
  // for nothing; "energy budget at epoch K: ...": stopped after epoch K by the
  // next epoch's projection.
  const std::string reason_prefix = "energy budget ";
  const size_t said = r.out.find(reason_prefix);
  ASSERT_NE(said, std::string::npos) << r.out;
  const bool within_epoch = r.out.compare(said + reason_prefix.size(), 3, "in ") == 0;
  const int stop_epoch = std::stoi(r.out.substr(said + reason_prefix.size() + 9));
  EXPECT_LE(stop_epoch, 3) << r.out;
  const size_t completed_epochs = static_cast<size_t>(within_epoch ? stop_epoch - 1 : stop_epoch);
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok());
  std::optional<RunData> run;
  for (const auto& info : *runs)
    if (info.run_name == "budget") run = *(*store)->get_run(info.run_id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  EXPECT_EQ(run->tags.at("wattlab.stop_reason").rfind(r.out.substr(said, reason_prefix.size() + 9), 0), 0u)
      << run->tags.at("wattlab.stop_reason");
  EXPECT_NE(run->tags.at("wattlab.stop_reason").find(" budget"), std::string::npos);
  EXPECT_EQ(run->tags.at("wattlab.stopped_by"), "budget");
  EXPECT_EQ((*store)->get_metric_history(run->info.run_id, "accuracy")->size(), completed_epochs)
      << "an epoch cut short counts for nothing";
  const double used_j = latest(*run, "energy_j");
  EXPECT_LT(used_j, budget_j * 1.15) << "within about a batch of the budget (the free epoch took " << epoch_j << " J)";
  EXPECT_GT(used_j, budget_j * 0.5);
  // co2e_g at France's intensity, which the run records.
  const double intensity = std::stod(run->params.at("carbon_intensity_g_per_kwh"));
  EXPECT_LT(intensity, 480.0);
  EXPECT_NEAR(latest(*run, "co2e_g"), used_j / 3.6e6 * intensity, 1e-9);

  for (const char* bad : {"--energy-budget 5furlongs", "--carbon-budget -3g", "--carbon XXX", "--pue 0.5"}) {
    auto rejected = wattlab("train " + std::string(bad) + " --store " + (dir_ / "x.db").string());
    EXPECT_EQ(rejected.exit_code, 1) << bad;
    EXPECT_EQ(count_lines(rejected.err), 1) << bad << ": " << rejected.err;
    EXPECT_FALSE(fs::exists(dir_ / "x.db")) << bad;
  }
}

// One trainer per run: `--resume` of a run another process is training is
// refused, naming that process, and the run keeps one series of epochs.
TEST_F(CliTest, ASecondTrainerOfARunningRunIsRefused) {
  Child trainer(dir_, {WATTLAB_BINARY, "train", "--model", "cnn", "--subset", "1000", "--test-subset", "200",
                       "--epochs", "1000", "--quiet", "--store", store_});
  const std::string run_id = wait_for_epochs(store_, 1);
  ASSERT_FALSE(run_id.empty()) << "no epoch finished within 120 s: " << slurp(dir_ / "child.out");
  auto second = wattlab("train --resume " + run_id + " --epochs 2 --quiet --store " + store_);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_EQ(count_lines(second.err), 1) << second.err;
  EXPECT_NE(second.err.find("run " + run_id + " is being trained by process " + std::to_string(trainer.pid())),
            std::string::npos)
      << second.err;
  const int status = trainer.stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130);

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto history = (*store)->get_metric_history(run_id, "accuracy");
  ASSERT_TRUE(history.ok());
  for (size_t i = 0; i < history->size(); ++i) EXPECT_EQ((*history)[i].step, static_cast<int64_t>(i + 1));
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(std::count_if(run->energy_windows.begin(), run->energy_windows.end(),
                          [](const EnergyWindow& w) { return w.name == "run"; }),
            1);
  EXPECT_EQ(run->info.status, RunStatus::kKilled);
}

// After kill -9 and --resume (at once: the killed holder is gone from this
// machine), the killed session's energy counts in energy_j, and duration_s
// means one thing in the metric and in `runs ls`.
TEST_F(CliTest, AKilledSessionCountsInItsResumedRunsTotals) {
  std::string run_id;
  {
    Child trainer(dir_, {WATTLAB_BINARY, "train", "--model", "cnn", "--subset", "1000", "--test-subset", "200",
                         "--epochs", "1000", "--quiet", "--store", store_});
    run_id = wait_for_epochs(store_, 2);
    ASSERT_FALSE(run_id.empty()) << "no 2 epochs within 120 s: " << slurp(dir_ / "child.out");
    trainer.stop(SIGKILL);
  }
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto killed = (*store)->get_run(run_id);
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->info.status, RunStatus::kRunning);
  double killed_j = 0, killed_s = 0;
  for (const auto& w : killed->energy_windows) {
    killed_j += w.energy_j();
    killed_s += w.duration_s;
  }
  ASSERT_GT(killed_j, 0);
  const size_t epochs_logged = (*store)->get_metric_history(run_id, "accuracy")->size();

  auto resumed = wattlab("train --resume " + run_id + " --epochs " + std::to_string(epochs_logged + 2) +
                         " --quiet --store " + store_);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  double resumed_j = 0, resumed_s = 0;
  for (const auto& w : run->energy_windows) {
    if (w.name == "run") {
      resumed_j += w.energy_j();
      resumed_s += w.duration_s;
    }
  }
  ASSERT_GT(resumed_j, 0);
  // Every phase the killed session finished, and the whole resumed session.
  EXPECT_GE(latest(*run, "energy_j"), (killed_j + resumed_j) * (1 - 1e-9));
  EXPECT_GE(latest(*run, "duration_s"), (killed_s + resumed_s) * (1 - 1e-9));
  const double span_s = static_cast<double>(*run->info.end_time_ms - run->info.start_time_ms) / 1000.0;
  EXPECT_LE(latest(*run, "duration_s"), span_s);

  auto ls = wattlab("runs ls --format json --store " + store_);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto listed = nlohmann::json::parse(ls.out);
  EXPECT_EQ(listed[0]["duration_s"].get<double>(), latest(*run, "duration_s"));
  EXPECT_NEAR(listed[0]["elapsed_s"].get<double>(), span_s, 1e-9);
  auto show = wattlab("runs show " + run_id + " --format json --store " + store_);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out)["duration_s"].get<double>(), latest(*run, "duration_s"));
}

// The reliability drill of issue 21 for the trainer: kill -9 five times in
// the middle of an epoch, each time followed by `--resume`, then a resume to
// the end. Every accuracy point the store held at a kill is still there with
// its value, no epoch is logged twice, the run's totals cover every session,
// and the file passes SQLite's integrity check.
TEST_F(CliTest, ATrainerKilledFiveTimesMidEpochResumesWithNothingLost) {
  constexpr int kKills = 5;
  std::string run_id;
  std::map<int64_t, double> acknowledged;  // accuracy by epoch, as the store held it at the kills
  double killed_j = 0;                     // energy of the phases the killed sessions closed
  for (int kill = 1; kill <= kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    std::vector<std::string> args = {WATTLAB_BINARY, "train", "--quiet", "--store", store_};
    if (run_id.empty()) {
      for (const char* a : {"--model", "cnn", "--subset", "1000", "--test-subset", "200", "--epochs", "1000"})
        args.push_back(a);
    } else {
      args.insert(args.end(), {"--resume", run_id, "--epochs", "1000"});
    }
    Child trainer(dir_, args);
    // One more epoch than the store held, then a little into the next one.
    run_id = wait_for_epochs(store_, acknowledged.size() + 1);
    ASSERT_FALSE(run_id.empty()) << "no new epoch within 120 s: " << slurp(dir_ / "child.out");
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 100 * kill));
    trainer.stop(SIGKILL);

    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    auto history = (*store)->get_metric_history(run_id, "accuracy");
    ASSERT_TRUE(history.ok());
    for (const auto& point : *history) acknowledged[point.step] = point.value;
    ASSERT_EQ(acknowledged.size(), history->size()) << "an epoch logged twice";
  }
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto before = (*store)->get_run(run_id);
  ASSERT_TRUE(before.ok());
  for (const auto& w : before->energy_windows) killed_j += w.energy_j();

  auto finished = wattlab("train --resume " + run_id + " --epochs " + std::to_string(acknowledged.size() + 1) +
                          " --quiet --store " + store_);
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  auto history = (*store)->get_metric_history(run_id, "accuracy");
  ASSERT_TRUE(history.ok());
  std::map<int64_t, double> final_points;
  for (const auto& point : *history) final_points[point.step] = point.value;
  EXPECT_EQ(final_points.size(), history->size()) << "an epoch logged twice";
  EXPECT_EQ(final_points.size(), acknowledged.size() + 1) << finished.out << finished.err;
  for (const auto& [step, value] : acknowledged) {
    auto it = final_points.find(step);
    ASSERT_NE(it, final_points.end()) << "epoch " << step << " lost";
    EXPECT_EQ(it->second, value) << "epoch " << step;
  }
  double all_windows_j = 0;
  for (const auto& w : run->energy_windows) all_windows_j += w.energy_j();
  EXPECT_GT(all_windows_j, killed_j);
  // The total covers the five killed sessions' closed phases and the last session.
  double last_session_j = 0;
  for (const auto& w : run->energy_windows)
    if (w.name == "run") last_session_j += w.energy_j();
  EXPECT_GE(latest(*run, "energy_j"), (killed_j + last_session_j) * (1 - 1e-9));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(store_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace wattlab
