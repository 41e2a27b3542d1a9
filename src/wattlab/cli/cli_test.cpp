// End-to-end tests of the `wattlab` binary: what a user types, what ends up
// in the store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/estimation_testing.h"
#include "wattlab/cli/cli_testing.h"
#include "wattlab/cli/server_process_testing.h"
#include "wattlab/track/store.h"

extern char** environ;

namespace wattlab {
namespace {

namespace fs = std::filesystem;

using testing::CliTest;
using testing::CommandResult;
using testing::count_lines;
using testing::slurp;
using testing::write_image_folder;

TEST_F(CliTest, VersionAndHelp) {
  auto v = wattlab("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("wattlab 0."), std::string::npos) << v.out;
  auto h = wattlab("--help");
  EXPECT_EQ(h.exit_code, 0);
  for (const char* command : {"quickstart", "train", "runs", "devices"})
    EXPECT_NE(h.out.find(command), std::string::npos) << command;
}

TEST_F(CliTest, DevicesExplainsEveryMeter) {
  auto r = wattlab("devices --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto probes = nlohmann::json::parse(r.out);
  ASSERT_EQ(probes.size(), 3u);
  for (const auto& p : probes) {
    if (!p["available"].get<bool>()) {
      EXPECT_FALSE(p["reason"].get<std::string>().empty()) << p.dump();
    }
  }
  EXPECT_EQ(probes[2]["meter"], "estimator");
  EXPECT_TRUE(probes[2]["available"].get<bool>());
  EXPECT_TRUE(probes[2]["estimated"].get<bool>());
}

TEST_F(CliTest, RunsLsOnAnEmptyStoreSaysHowToStart) {
  auto r = wattlab("runs ls --store " + store_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wattlab train"), std::string::npos) << r.out;
  auto show = wattlab("runs show abcdef123 --store " + store_);
  EXPECT_NE(show.exit_code, 0);
  EXPECT_EQ(count_lines(show.err), 1) << show.err;
}

// A one-socket powercap tree whose package counter starts at 1 J.
class MeasureTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    zone_ = dir_ / "sys/class/powercap/intel-rapl:0";
    fs::create_directories(zone_);
    std::ofstream(zone_ / "name") << "package-0\n";
    std::ofstream(zone_ / "max_energy_range_uj") << "262143328850\n";
    std::ofstream(zone_ / "energy_uj") << "1000000\n";
  }
  // `wattlab measure` on the fixture tree.
  CommandResult measure(const std::string& args) {
    return wattlab("measure --store " + store_ + " " + args, "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string());
  }
  fs::path zone_;
};

TEST_F(MeasureTest, MetersTheFixtureCountersAndRecordsPhasesAndExitCode) {
  std::string counter = (zone_ / "energy_uj").string();
  std::string seen_id = (dir_ / "run_id").string();
  // The command itself moves the package counter by 14 J, inside a phase.
  // Phase lines are read as they arrive, so the command leaves wattlab a
  // moment to read them before it moves the counter.
  auto r = measure("--format json -- sh -c 'echo \"begin load\" >&$WATTLAB_PHASE_FD; sleep 0.3; echo 15000000 > " +
                           counter + "; sleep 0.3; echo \"end load\" >&$WATTLAB_PHASE_FD; echo $WATTLAB_RUN_ID > " +
                           seen_id + "; exit 3'");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["exit_code"], 3);
  EXPECT_EQ(summary["status"], "FAILED");
  std::string run_id = summary["run_id"];
  EXPECT_EQ(slurp(seen_id), run_id + "\n") << "the command gets WATTLAB_RUN_ID";
  ASSERT_GE(summary["domains"].size(), 1u);
  EXPECT_EQ(summary["domains"][0]["name"], "package-0");
  EXPECT_DOUBLE_EQ(summary["domains"][0]["energy_j"].get<double>(), 14.0);
  EXPECT_FALSE(summary["domains"][0]["estimated"].get<bool>());
  EXPECT_GE(summary["duration_s"].get<double>(), 0.3);
  EXPECT_GE(summary["energy_j"].get<double>(), 14.0);
  EXPECT_NEAR(summary["co2e_g"].get<double>(), summary["energy_j"].get<double>() / 3.6e6 * 480.0, 1e-9);

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFailed);
  EXPECT_EQ(run->latest_metrics.at("exit_code").value, 3);
  EXPECT_DOUBLE_EQ(run->latest_metrics.at("energy_package-0_j").value, 14.0);
  std::map<std::string, EnergyWindow> windows;
  for (const auto& w : run->energy_windows) windows[w.name] = w;
  ASSERT_TRUE(windows.count("load")) << "the phase written to WATTLAB_PHASE_FD is an energy window";
  ASSERT_TRUE(windows.count("run"));
  EXPECT_DOUBLE_EQ(windows["load"].domains[0].energy_j, 14.0);
  EXPECT_NE(run->params.at("command").find("sh -c"), std::string::npos);
  // The command's share of the package energy, by its share of CPU time.
  double share = summary["cpu_share"].get<double>();
  EXPECT_GE(share, 0.0);
  EXPECT_LE(share, 1.0);
  EXPECT_NEAR(summary["cpu_energy_attributed_j"].get<double>(), 14.0 * share, 1e-9);
}

TEST_F(MeasureTest, LogsThroughATrackingServerAndHandsItsRunToTheCommand) {
  const std::string server_store = (dir_ / "server.db").string();
  std::string run_id;
  {
    testing::ServerProcess server(dir_, server_store);
    ASSERT_FALSE(server.uri().empty()) << server.output();
    // The command logs its own metric into the run with nothing but MLflow's
    // variables and MLflow's REST API, as mlflow.log_metric() would.
    std::ofstream(dir_ / "child.py") << R"(import json, os, urllib.request
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "child_loss", "value": 0.25, "timestamp": 1, "step": 7}
request = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
assert os.environ["WATTLAB_RUN_ID"] == os.environ["MLFLOW_RUN_ID"]
)";
    auto r = wattlab("measure --format json --tracking-uri " + server.uri() + " -- /usr/bin/python3 " +
                         (dir_ / "child.py").string(),
                     "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    run_id = nlohmann::json::parse(r.out)["run_id"];
  }
  // Everything went to the server's store, nothing to --store.
  EXPECT_FALSE(fs::exists(store_));
  auto store = Store::open(server_store);
  ASSERT_TRUE(store.ok());
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  EXPECT_EQ(run->latest_metrics.at("child_loss").value, 0.25);
  EXPECT_EQ(run->latest_metrics.at("child_loss").step, 7);
  EXPECT_EQ(run->latest_metrics.at("exit_code").value, 0);
  EXPECT_TRUE(run->params.count("command"));
  ASSERT_EQ(run->energy_windows.size(), 1u);
  EXPECT_EQ(run->energy_windows[0].name, "run");
  EXPECT_EQ(run->energy_windows[0].domains[0].name, "package-0");
  EXPECT_FALSE(run->environment.empty());
  auto timeline = (*store)->get_power_samples(run_id);
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->domains.front(), "package-0");
}

TEST_F(MeasureTest, RunsLsFiltersAndOrdersWithMlflowSyntax) {
  for (int code : {0, 3, 5}) {
    auto r = measure("--run-name exit" + std::to_string(code) + " -- sh -c 'exit " + std::to_string(code) + "'");
    ASSERT_EQ(r.exit_code, code) << r.err;
  }
  auto failed = wattlab("runs ls --format json --store " + store_ +
                        " --filter \"metrics.exit_code > 0 AND attributes.status = 'FAILED'\" --order-by "
                        "\"metrics.exit_code DESC\"");
  ASSERT_EQ(failed.exit_code, 0) << failed.err;
  auto runs = nlohmann::json::parse(failed.out);
  ASSERT_EQ(runs.size(), 2u) << failed.out;
  EXPECT_EQ(runs[0]["run_name"], "exit5");
  EXPECT_EQ(runs[1]["run_name"], "exit3");
  auto none = wattlab("runs ls --store " + store_ + " --filter \"params.meter = 'rapl'\"");
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.out.find("No runs match"), std::string::npos) << none.out;
  auto bad = wattlab("runs ls --store " + store_ + " --filter \"metrics.exit_code >> 1\"");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
  EXPECT_NE(bad.err.find("character"), std::string::npos) << bad.err;
}

TEST_F(MeasureTest, UnreachableTrackingServerIsOneClearError) {
  auto r = measure("--tracking-uri http://127.0.0.1:1 -- true");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot reach the tracking server at http://127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(store_));
  auto bad = measure("--tracking-uri ftp://x -- true");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("ftp://x"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("http://host:port"), std::string::npos) << bad.err;
  // MLflow's own settings left in the environment do not become a file here.
  auto mlflow_setting = wattlab("measure --store " + store_ + " -- true", "MLFLOW_TRACKING_URI=./mlruns");
  EXPECT_EQ(mlflow_setting.exit_code, 1);
  EXPECT_NE(mlflow_setting.err.find("MLFLOW_TRACKING_URI"), std::string::npos) << mlflow_setting.err;
  EXPECT_FALSE(fs::exists("./mlruns"));
}

TEST_F(MeasureTest, GpuEnergyFromNvmlBesideRapl) {
  // Two GPUs through the fake NVML: one with an energy counter the command
  // moves by 50 J, one with power only (sampled and integrated).
  std::string config = (dir_ / "nvml.conf").string();
  std::ofstream(config) << "gpu name=Fake_A100 energy_mj=1000 power_mw=50000 limit_mw=400000 temp_c=40\n"
                           "gpu name=Fake_T4 has_energy_counter=0 power_mw=20000\n";
  std::string env = "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string() +
                    " WATTLAB_NVML_LIBRARY=" WATTLAB_FAKE_NVML_PATH " FAKE_NVML_CONFIG=" + config;
  auto devices = wattlab("devices --format json", env);
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  auto probes = nlohmann::json::parse(devices.out);
  EXPECT_TRUE(probes[0]["available"].get<bool>()) << probes[0].dump();  // rapl, from the fixture
  ASSERT_TRUE(probes[1]["available"].get<bool>()) << probes[1].dump();  // nvml
  ASSERT_EQ(probes[1]["gpus"].size(), 2u);
  EXPECT_EQ(probes[1]["gpus"][0]["name"], "Fake A100");
  EXPECT_TRUE(probes[1]["gpus"][0]["energy_counter"].get<bool>());
  EXPECT_FALSE(probes[1]["gpus"][1]["energy_counter"].get<bool>());
  EXPECT_DOUBLE_EQ(probes[1]["gpus"][0]["power_limit_w"].get<double>(), 400.0);

  std::string moved = "gpu name=Fake_A100 energy_mj=51000 power_mw=50000\\ngpu name=Fake_T4 has_energy_counter=0 power_mw=20000";
  auto r = wattlab("measure --store " + store_ + " --format json -- sh -c 'sleep 0.5; printf \"" + moved + "\\n\" > " +
                       config + "; sleep 0.5'",
                   env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> domains;
  for (const auto& d : summary["domains"]) domains[d["name"]] = d;
  ASSERT_TRUE(domains.count("gpu-0") && domains.count("gpu-1")) << summary.dump();
  EXPECT_DOUBLE_EQ(domains["gpu-0"]["energy_j"].get<double>(), 50.0);
  EXPECT_FALSE(domains["gpu-0"]["estimated"].get<bool>());
  // 20 W for the command's duration, integrated from power samples.
  double duration_s = summary["duration_s"].get<double>();
  EXPECT_NEAR(domains["gpu-1"]["energy_j"].get<double>(), 20.0 * duration_s, 20.0 * duration_s * 0.005);
  // The peak comes from the power timeline, whose intervals the monitor times
  // around each read while NVML's integration times the read itself: a few
  // percent of jitter (more under sanitizers), never another power level.
  EXPECT_NEAR(domains["gpu-1"]["peak_power_w"].get<double>(), 20.0, 1.0);
}

TEST_F(MeasureTest, CarbonOfAGivenCountry) {
  auto r = measure("--carbon FRA --pue 1.5 --format json -- true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["status"], "FINISHED");
  EXPECT_NEAR(summary["carbon_intensity_g_per_kwh"].get<double>(), 56.039, 1e-9);
  EXPECT_NEAR(summary["co2e_g"].get<double>(), summary["energy_j"].get<double>() / 3.6e6 * 56.039 * 1.5, 1e-12);
}

TEST_F(MeasureTest, TermIsPassedToTheCommandAndTheRunEndsKilled) {
  std::string binary = WATTLAB_BINARY;
  std::string sysfs = "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string();
  std::vector<std::string> args = {binary, "measure", "--store", store_, "--format", "json", "--", "sleep", "30"};
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.push_back(sysfs);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
  // Wait for the run to exist (the command is started right after).
  bool started = false;
  for (int i = 0; i < 100 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto store = Store::open(store_);
    auto runs = store.ok() ? (*store)->list_runs({}) : Result<std::vector<RunInfo>>(Status::not_found(""));
    started = runs.ok() && !runs->empty();
  }
  ASSERT_TRUE(started);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto begin = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10)) << "sleep 30 was not stopped";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, RunStatus::kKilled);
}

TEST_F(MeasureTest, BadInputIsRejectedBeforeAnythingIsStored) {
  for (const std::string& args : {std::string("-- wattlab-no-such-program"), std::string("--carbon XYZ -- true"),
                                  std::string("--interval-ms 0 -- true"), std::string("--meter gpu -- true"),
                                  std::string("--idle-baseline soon -- true")}) {
    auto r = measure(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(store_)) << args;
  }
}

#ifdef WATTLAB_HAVE_TORCH

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

TEST_F(CliTest, OneEpochOnTwoThousandImagesLeavesAFinishedRun) {
  auto r = wattlab("train --model cnn --subset 2000 --test-subset 500 --epochs 1 --quiet --store " + store_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("FINISHED"), std::string::npos) << r.out;

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  auto run = (*store)->get_run((*runs)[0].run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  ASSERT_TRUE(run->info.end_time_ms.has_value());
  EXPECT_EQ(run->params.at("model"), "cnn");
  EXPECT_EQ(run->params.at("train_images"), "2000");
  double accuracy = run->latest_metrics.at("accuracy").value;
  EXPECT_GT(accuracy, 0.5);  // 10 classes: chance is 0.1
  EXPECT_LE(accuracy, 1.0);
  EXPECT_EQ(run->latest_metrics.at("accuracy").step, 1);
  for (const char* key : {"train_loss", "test_loss", "precision_macro", "recall_macro", "f1_macro", "energy_j",
                          "energy_per_image_j", "train_energy_j"})
    EXPECT_TRUE(run->latest_metrics.count(key)) << key;

  std::map<std::string, EnergyWindow> windows;
  for (const auto& w : run->energy_windows) windows[w.name] = w;
  ASSERT_TRUE(windows.count("epoch-1/train"));
  ASSERT_TRUE(windows.count("epoch-1/eval"));
  ASSERT_TRUE(windows.count("run"));
  EXPECT_GT(windows["epoch-1/train"].energy_j(), 0);
  EXPECT_GT(windows["epoch-1/eval"].energy_j(), 0);
  // The whole run contains both phases.
  EXPECT_GE(windows["run"].energy_j(), windows["epoch-1/train"].energy_j() + windows["epoch-1/eval"].energy_j());
  EXPECT_NEAR(run->latest_metrics.at("energy_j").value, windows["run"].energy_j(), 1e-6);
  // No RAPL or NVML here: every figure must say it is estimated, and the tag agrees.
  bool estimated = windows["run"].estimated();
  EXPECT_EQ(run->tags.at("wattlab.energy_estimated"), estimated ? "true" : "false");

  EXPECT_EQ(run->environment.at("seed"), "42");
  EXPECT_FALSE(run->environment.at("libtorch_version").empty());
  EXPECT_NE(run->environment.at("command_line").find("train"), std::string::npos);
  // The kernels each layer ran, per shape and pass, measured here (--kernels auto, the default).
  EXPECT_EQ(run->params.at("kernels"), "auto");
  EXPECT_NE(run->environment.at("kernel_choices").find(" forward="), std::string::npos);
  EXPECT_NE(run->environment.at("kernel_choices").find(" weight_grad="), std::string::npos);
  EXPECT_GT(std::stod(run->environment.at("kernel_measure_s")), 0);
  auto timeline = (*store)->get_power_samples(run->info.run_id);
  ASSERT_TRUE(timeline.ok());
  EXPECT_FALSE(timeline->samples.empty());

  auto ls = wattlab("runs ls --format json --store " + store_);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  auto listed = nlohmann::json::parse(ls.out);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["status"], "FINISHED");
  EXPECT_NEAR(listed[0]["accuracy"].get<double>(), accuracy, 1e-12);
  EXPECT_GT(listed[0]["energy_per_image_j"].get<double>(), 0);

  auto show = wattlab("runs show " + run->info.run_id.substr(0, 8) + " --store " + store_);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(run->info.run_id), std::string::npos);
  EXPECT_NE(show.out.find("epoch-1/train"), std::string::npos);
}

TEST_F(CliTest, ImageFolderWithValidationSplitLeavesAFinishedRun) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 16, 4);
  auto r = wattlab("train --dataset folder --data " + data.string() +
                   " --resize 16 --val-split 0.25 --augment crop,flip --optimizer adamw --schedule cosine"
                   " --early-stopping 3 --epochs 1 --batch-size 8 --quiet --store " + store_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("FINISHED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("completed 1 epochs"), std::string::npos) << r.out;

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  auto run = (*store)->get_run((*runs)[0].run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  EXPECT_EQ(run->params.at("dataset"), "folder");
  EXPECT_EQ(run->params.at("train_images"), "24");
  EXPECT_EQ(run->params.at("val_images"), "8");
  EXPECT_EQ(run->params.at("test_images"), "8");
  EXPECT_EQ(run->params.at("num_classes"), "2");
  EXPECT_EQ(run->params.at("channels"), "3");
  EXPECT_EQ(run->params.at("image_size"), "16x16");
  EXPECT_EQ(run->params.at("augment"), "crop,flip");
  EXPECT_EQ(run->params.at("optimizer"), "adamw");
  EXPECT_EQ(run->params.at("weight_decay"), "0.01");
  EXPECT_EQ(run->params.at("schedule"), "cosine");
  EXPECT_EQ(run->tags.at("wattlab.stop_reason"), "completed 1 epochs");
  for (const char* key : {"val_loss", "val_accuracy", "accuracy", "learning_rate"})
    EXPECT_TRUE(run->latest_metrics.count(key)) << key;
  EXPECT_FALSE(run->latest_metrics.count("top5_accuracy")) << "2 classes: no top-5";
  bool has_validate_window = false;
  for (const auto& w : run->energy_windows) has_validate_window |= w.name == "epoch-1/validate";
  EXPECT_TRUE(has_validate_window);
}

TEST_F(CliTest, TrainLogsStepsProjectionFromTheFirstStableEpoch) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 8, 2);
  // A RAPL counter that never moves: every epoch takes 0 J, so the run is stable from epoch 1 and projected
  // from epoch 2 (STEP needs two agreeing epochs) on.
  const fs::path zone = dir_ / "sys/class/powercap/intel-rapl:0";
  fs::create_directories(zone);
  std::ofstream(zone / "name") << "package-0\n";
  std::ofstream(zone / "max_energy_range_uj") << "262143328850\n";
  std::ofstream(zone / "energy_uj") << "1000000\n";
  auto r = wattlab("train --data " + data.string() + " --meter rapl --epochs 3 --batch-size 8 --store " + store_,
                   "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("epoch 2/3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("projected 0.0 J"), std::string::npos) << r.err;
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok() && runs->size() == 1u);
  const std::string id = (*runs)[0].run_id;
  auto projected = (*store)->get_metric_history(id, "projected_energy_j");
  ASSERT_TRUE(projected.ok());
  ASSERT_EQ(projected->size(), 2u);
  EXPECT_EQ((*projected)[0].step, 2);
  EXPECT_EQ((*projected)[1].step, 3);
  EXPECT_EQ((*projected)[1].value, 0);
  auto remaining = (*store)->get_metric_history(id, "projected_remaining_s");
  ASSERT_TRUE(remaining.ok() && remaining->size() == 2u);
  EXPECT_GT((*remaining)[0].value, 0);   // after epoch 2: one epoch to go
  EXPECT_EQ((*remaining)[1].value, 0);   // after the last: none
}

TEST_F(CliTest, EarlyStoppingEndsTheRunAndSaysWhy) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 8, 2);
  // No improvement can beat a min_delta of 100: the second epoch stops the run.
  auto r = wattlab("train --data " + data.string() +
                   " --early-stopping 1 --min-delta 100 --epochs 5 --batch-size 8 --quiet --store " + store_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok() && runs->size() == 1u);
  auto run = (*store)->get_run((*runs)[0].run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  EXPECT_EQ(run->tags.at("wattlab.stop_reason").rfind("early_stopping at epoch 2 (test_loss best ", 0), 0u)
      << run->tags.at("wattlab.stop_reason");
  EXPECT_EQ(run->latest_metrics.at("accuracy").step, 2);
}

TEST_F(CliTest, InterruptedRunEndsKilledWithItsMetricsFlushed) {
  std::string binary = WATTLAB_BINARY;
  std::vector<std::string> args = {binary,  "train",         "--model", "cnn",   "--subset", "1000", "--test-subset",
                                   "200",   "--epochs",      "1000",    "--quiet", "--store", store_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ), 0);

  // Wait until epoch 2's accuracy is in the store: the client flushes while training runs.
  bool logged = false;
  for (int i = 0; i < 1200 && !logged; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto store = Store::open(store_);
    if (!store.ok()) continue;
    auto runs = (*store)->list_runs({});
    if (!runs.ok() || runs->empty()) continue;
    auto history = (*store)->get_metric_history((*runs)[0].run_id, "accuracy");
    logged = history.ok() && history->size() >= 2;
  }
  ASSERT_TRUE(logged) << "no epoch finished within 120 s";
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->list_runs({});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  auto run = (*store)->get_run((*runs)[0].run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->info.status, RunStatus::kKilled);
  EXPECT_TRUE(run->info.end_time_ms.has_value());
  auto history = (*store)->get_metric_history(run->info.run_id, "accuracy");
  ASSERT_TRUE(history.ok());
  EXPECT_GE(history->size(), 2u);
  bool has_run_window = false;
  for (const auto& w : run->energy_windows) has_run_window |= w.name == "run";
  EXPECT_TRUE(has_run_window) << "the whole-run energy window is stored even when interrupted";
}

// Each bad input: one line on stderr naming the input, non-zero exit, no store written.
class BadInputTest : public CliTest {
 protected:
  void expect_rejected(const std::string& args, const std::string& named) {
    auto r = wattlab(args + " --quiet --store " + store_);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(named), std::string::npos) << args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(store_)) << args << ": the store was written";
  }
  // A copy of Fashion-MNIST's files in dir_/data for tampering.
  fs::path copy_dataset() {
    fs::path data = dir_ / "data";
    fs::create_directories(data);
    for (const auto& e : fs::directory_iterator(kFashionMnist)) fs::copy_file(e.path(), data / e.path().filename());
    return data;
  }
};

TEST_F(BadInputTest, UnknownModel) { expect_rejected("train --model resnet9000", "--model"); }

TEST_F(BadInputTest, ZeroThreads) { expect_rejected("train --threads 0", "--threads"); }

TEST_F(BadInputTest, MissingDataDirectory) {
  expect_rejected("train --data-dir " + (dir_ / "nowhere").string(), (dir_ / "nowhere").string());
}

TEST_F(BadInputTest, TruncatedImageFile) {
  fs::path data = copy_dataset();
  fs::path images = data / "t10k-images-idx3-ubyte.gz";
  fs::resize_file(images, fs::file_size(images) / 2);
  expect_rejected("train --subset 100 --data-dir " + data.string(), "t10k-images-idx3-ubyte.gz");
}

TEST_F(BadInputTest, WrongMagicNumber) {
  fs::path data = copy_dataset();
  fs::remove(data / "train-labels-idx1-ubyte.gz");
  std::ofstream(data / "train-labels-idx1-ubyte", std::ios::binary) << std::string("\x00\x00\x08\x03\x00\x00\x00\x01\x05", 9);
  expect_rejected("train --data-dir " + data.string(), "train-labels-idx1-ubyte");
}

TEST_F(BadInputTest, NonImageFileInAnImageFolder) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 2, 1);
  std::ofstream(data / "train" / "dark" / "notes.txt") << "not an image";
  expect_rejected("train --data " + data.string(), (data / "train" / "dark" / "notes.txt").string());
}

TEST_F(BadInputTest, BadTrainingRecipe) {
  expect_rejected("train --optimizer rmsprop", "--optimizer");
  expect_rejected("train --schedule exponential", "--schedule");
  expect_rejected("train --val-split 2", "--val-split");
  expect_rejected("train --augment rotate", "--augment");
  expect_rejected("train --subset 100 --mean 0.1,0.2,0.3", "--mean");
}

// Debian's LibTorch has no CUDA; with a CUDA one, device 99 is still out of range.
TEST_F(BadInputTest, DeviceThisLibTorchLacks) {
  expect_rejected("train --device cuda:99", "--device cuda:99: ");
  expect_rejected("train --device cuda:99", "torch::cuda::device_count() is ");
  expect_rejected("train --device gpu", "--device must be cpu, cuda or cuda:N");
}

TEST_F(BadInputTest, UnwritableStore) {
  auto r = wattlab("train --subset 100 --quiet --store /proc/wattlab-test.db");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/proc/wattlab-test.db"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--store"), std::string::npos) << "the message says how to fix it: " << r.err;
}

// The id of the one run in `store` whose name is `name`.
std::string run_named(Store& store, const std::string& name) {
  auto runs = store.list_runs({});
  EXPECT_TRUE(runs.ok());
  for (const auto& r : *runs)
    if (r.run_name == name) return r.run_id;
  ADD_FAILURE() << "no run " << name;
  return "";
}

TEST_F(CliTest, ConfigFileAndResumeGiveTheUninterruptedResult) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 16, 4);
  const fs::path config = dir_ / "study.yaml";
  std::ofstream(config) << "# the settings of both runs\n"
                           "dataset: folder\n"
                           "data: " << data.string() << "\n"
                           "resize: 16\n"
                           "augment: crop,flip\n"
                           "batch-size: 8\n"
                           "seed: 3\n"
                           "epochs: 7\n"
                           "quiet: true\n";
  const std::string common = "--config " + config.string() + " --store " + store_;
  // Uninterrupted: 3 epochs (the command line wins over the file's 7).
  auto whole = wattlab("train " + common + " --epochs 3 --run-name whole");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  // One epoch, then resumed to 3 (the schedule is constant, so --epochs changes nothing else).
  auto first = wattlab("train " + common + " --epochs 1 --run-name parted");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string parted_id;
  {
    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    parted_id = run_named(**store, "parted");
  }
  auto resumed = wattlab("train --resume " + parted_id.substr(0, 8) + " --epochs 3 --store " + store_);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("run " + parted_id + " FINISHED"), std::string::npos) << resumed.out;

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  const std::string whole_id = run_named(**store, "whole");
  auto parted = (*store)->get_run(parted_id);
  ASSERT_TRUE(parted.ok());
  EXPECT_EQ(parted->info.status, RunStatus::kFinished);
  EXPECT_EQ(parted->params.at("batch_size"), "8");  // from the file
  EXPECT_EQ(parted->params.at("seed"), "3");
  // Params are write-once: epochs stays the first session's; the tag follows the resumption.
  EXPECT_EQ(parted->params.at("epochs"), "1");
  EXPECT_EQ(parted->tags.at("wattlab.epochs"), "3");
  // Energy figures are totals of both sessions, energy per image included: every
  // training pass's energy over the images of the 3 epochs.
  double train_energy_j = 0;
  int train_windows = 0;
  for (const auto& w : parted->energy_windows) {
    if (w.name.size() > 6 && w.name.ends_with("/train")) {
      train_energy_j += w.energy_j();
      ++train_windows;
    }
  }
  EXPECT_EQ(train_windows, 3);
  const double train_images = 3.0 * std::stod(parted->params.at("train_images"));
  EXPECT_NEAR(parted->latest_metrics.at("energy_per_image_j").value, train_energy_j / train_images,
              1e-9 * train_energy_j / train_images);
  for (const char* key : {"train_loss", "test_loss", "accuracy", "f1_macro", "learning_rate"}) {
    SCOPED_TRACE(key);
    auto a = (*store)->get_metric_history(whole_id, key);
    auto b = (*store)->get_metric_history(parted_id, key);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), 3u);
    ASSERT_EQ(b->size(), 3u);  // each epoch once
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ((*b)[i].step, static_cast<int64_t>(i + 1));
      EXPECT_EQ((*a)[i].value, (*b)[i].value) << "epoch " << i + 1;  // bit-identical
    }
  }
  // The resolved configuration is stored with the run, its hash in the environment.
  const fs::path artifacts = parted->info.artifact_uri;
  EXPECT_TRUE(fs::exists(artifacts / "checkpoint.pt"));
  const std::string stored = slurp(artifacts / "config.yaml");
  EXPECT_NE(stored.find("\nepochs: 3\n"), std::string::npos) << stored;
  EXPECT_NE(stored.find("\nbatch-size: 8\n"), std::string::npos) << stored;
  EXPECT_NE(stored.find("\nseed: 3\n"), std::string::npos) << stored;
  EXPECT_EQ(stored.find("config"), std::string::npos) << stored;
  EXPECT_EQ(parted->environment.at("config_hash").size(), 16u);
  auto whole_run = (*store)->get_run(whole_id);
  ASSERT_TRUE(whole_run.ok());
  EXPECT_NE(whole_run->environment.at("config_hash"), parted->environment.at("config_hash"));  // run names differ

  // The saved model, evaluated by `wattlab infer`, classifies the test split as the last epoch did.
  auto infer = wattlab("infer --run " + parted_id + " --format json --store " + store_);
  ASSERT_EQ(infer.exit_code, 0) << infer.err;
  auto inferred = nlohmann::json::parse(infer.out);
  EXPECT_EQ(inferred["images"], 8);
  EXPECT_EQ(inferred["accuracy"].get<double>(), parted->latest_metrics.at("accuracy").value);
  EXPECT_GT(inferred["images_per_s"].get<double>(), 0);
  auto no_model = wattlab("infer --run 0123456789abcdef --store " + store_);
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_NE(no_model.err.find("--run: no run '0123456789abcdef'"), std::string::npos) << no_model.err;

  // Resuming with another model, an unknown run, a corrupt checkpoint.
  auto other = wattlab("train --resume " + parted_id + " --model resnet18 --store " + store_);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("trained with --model cnn, but resnet18 was asked for"), std::string::npos) << other.err;
  auto unknown = wattlab("train --resume 0123456789abcdef --store " + store_);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("--resume: no run '0123456789abcdef'"), std::string::npos) << unknown.err;
  std::ofstream(artifacts / "checkpoint.pt", std::ios::trunc) << "garbage";
  auto corrupt = wattlab("train --resume " + parted_id + " --epochs 4 --store " + store_);
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.err.find("checkpoint " + (artifacts / "checkpoint.pt").string() + " is corrupt"),
            std::string::npos)
      << corrupt.err;
}

TEST_F(CliTest, DeviceAndChannelsLastAreRecorded) {
  const fs::path data = dir_ / "images";
  write_image_folder(data, 16, 4);
  const std::string common = "train --dataset folder --data " + data.string() +
                             " --resize 16 --epochs 2 --batch-size 8 --quiet --store " + store_;
  auto by_default = wattlab(common + " --run-name default");
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  const fs::path config = dir_ / "cpu.yaml";
  std::ofstream(config) << "device: cpu\n";
  auto on_cpu = wattlab(common + " --config " + config.string() + " --run-name cpu");
  ASSERT_EQ(on_cpu.exit_code, 0) << on_cpu.err;
  auto nhwc = wattlab(common + " --channels-last --run-name nhwc");
  ASSERT_EQ(nhwc.exit_code, 0) << nhwc.err;

  auto store = Store::open(store_);
  ASSERT_TRUE(store.ok());
  auto a = (*store)->get_run(run_named(**store, "default"));
  auto b = (*store)->get_run(run_named(**store, "cpu"));
  auto c = (*store)->get_run(run_named(**store, "nhwc"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (const auto* run : {&*a, &*b, &*c}) {
    EXPECT_EQ(run->params.at("device"), "cpu");
    EXPECT_EQ(run->environment.at("device"), "cpu");
  }
  EXPECT_EQ(a->params.at("channels_last"), "false");
  EXPECT_EQ(c->params.at("channels_last"), "true");
  EXPECT_NE(slurp(fs::path(b->info.artifact_uri) / "config.yaml").find("\ndevice: cpu\n"), std::string::npos);
  EXPECT_NE(slurp(fs::path(c->info.artifact_uri) / "config.yaml").find("\nchannels-last: true\n"), std::string::npos);
  // --device cpu (from the file) is the default: the same bits.
  for (const char* key : {"train_loss", "test_loss", "accuracy"}) {
    auto x = (*store)->get_metric_history(a->info.run_id, key);
    auto y = (*store)->get_metric_history(b->info.run_id, key);
    ASSERT_TRUE(x.ok() && y.ok());
    ASSERT_EQ(x->size(), 2u);
    ASSERT_EQ(y->size(), 2u);
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ((*x)[i].value, (*y)[i].value) << key << " epoch " << i + 1;
  }

  // The saved model runs with infer --device cpu; a device LibTorch lacks fails first, naming the flag.
  auto infer = wattlab("infer --run " + c->info.run_id + " --device cpu --format json --store " + store_);
  ASSERT_EQ(infer.exit_code, 0) << infer.err;
  auto inferred = nlohmann::json::parse(infer.out);
  EXPECT_EQ(inferred["device"], "cpu");
  EXPECT_EQ(inferred["accuracy"].get<double>(), c->latest_metrics.at("accuracy").value);
  auto no_gpu = wattlab("infer --run " + c->info.run_id + " --device cuda:99 --store " + store_);
  EXPECT_EQ(no_gpu.exit_code, 1);
  EXPECT_EQ(no_gpu.err.rfind("wattlab: error: --device cuda:99: ", 0), 0u) << no_gpu.err;
  EXPECT_NE(no_gpu.err.find("-DTorch_DIR="), std::string::npos) << no_gpu.err;
}

TEST_F(CliTest, ConfigFileErrorsNameTheLine) {
  const fs::path config = dir_ / "f.yaml";
  std::ofstream(config) << "model: cnn\nbatch-size: abc\n";
  auto r = wattlab("train --config " + config.string() + " --store " + store_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "wattlab: error: " + config.string() + ":2: batch-size must be an integer (got 'abc')\n");
  std::ofstream(config, std::ios::trunc) << "model: cnn\n\nthreads: 0\n";
  r = wattlab("train --config " + config.string() + " --store " + store_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "wattlab: error: " + config.string() + ":3: threads must be at least 1 (got 0)\n");
  std::ofstream(config, std::ios::trunc) << "model: cnn\ndevice: cuda:99\n";
  r = wattlab("train --config " + config.string() + " --store " + store_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("wattlab: error: " + config.string() + ":2: device cuda:99: ", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(store_));
}

// models info --kernels: the kernel each convolution runs per pass for one
// training step here, as `wattlab train --kernels MODE` would choose it.
TEST_F(CliTest, ModelsInfoPrintsTheKernelsOfATrainingStep) {
  auto r = wattlab("models info cnn --input 1x28x28 --classes 10 --kernels libtorch --batch-size 4 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> passes;  // "conv2 input_grad" -> "libtorch (mode)"
  const nlohmann::json info = nlohmann::json::parse(r.out);
  for (const auto& k : info.at("kernels")) {
    EXPECT_EQ(k.at("shape").get<std::string>().rfind("conv ", 0), 0u) << k.dump();
    passes[k.at("layer").get<std::string>() + " " + k.at("pass").get<std::string>()] =
        k.at("implementation").get<std::string>() + " (" + k.at("source").get<std::string>() + ")";
  }
  // The first convolution's input needs no gradient; the second's does.
  const std::map<std::string, std::string> expected = {{"conv1 forward", "libtorch (mode)"},
                                                       {"conv1 weight_grad", "libtorch (mode)"},
                                                       {"conv2 forward", "libtorch (mode)"},
                                                       {"conv2 input_grad", "libtorch (mode)"},
                                                       {"conv2 weight_grad", "libtorch (mode)"}};
  EXPECT_EQ(passes, expected);
  auto rejected = wattlab("models info cnn --input 1x28x28 --kernels fastest");
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_NE(rejected.err.find("--kernels"), std::string::npos) << rejected.err;
}

TEST_F(CliTest, EstimateOnAnEmptyStoreGivesTheLabelledBaseline) {
  auto r = wattlab("--store " + store_ + " estimate --model cnn --subset 500 --test-subset 200 --epochs 3 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["epochs"], 3);
  ASSERT_EQ(j["estimates"].size(), 1u);
  const auto& e = j["estimates"][0];
  EXPECT_EQ(e["method"], "green-algorithms-baseline");
  EXPECT_EQ(e["method_text"].get<std::string>().rfind("Green Algorithms baseline (TDP-based, not fitted to any run)", 0), 0u);
  EXPECT_EQ(e["environment"]["threads"], 1);
  EXPECT_GT(e["energy_j"].get<double>(), 0);
  EXPECT_LT(e["energy_low_j"].get<double>(), e["energy_j"].get<double>());
  EXPECT_TRUE(e["cv_mape"].is_null());
  auto table = wattlab("--store " + store_ + " estimate --model cnn --subset 500 --test-subset 200 --epochs 3");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("Green Algorithms baseline"), std::string::npos) << table.out;
  auto compare = wattlab("--store " + store_ + " estimate --model cnn --compare-environments");
  EXPECT_EQ(compare.exit_code, 1);
  EXPECT_NE(compare.err.find("no finished training run"), std::string::npos) << compare.err;
}

TEST_F(CliTest, EstimateCountsAModelWithLibTorchOnceThenReadsItsCache) {
  auto info = wattlab("models info resnet18 --input 1x28x28 --classes 10 --format json");
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto counted = nlohmann::json::parse(info.out);
  const std::string estimate = "--store " + store_ + " estimate --model resnet18 --subset 500 --test-subset 200 "
                               "--epochs 2 --format json";
  auto first = wattlab(estimate);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(nlohmann::json::parse(first.out)["parameters"], counted["params"]);
  EXPECT_EQ(nlohmann::json::parse(first.out)["macs_per_image"], counted["macs"]);
  const auto cache = dir_ / "cache" / "wattlab" / "model_costs.tsv";
  const std::string line = "\tresnet18 x1 1x28x28 10 classes\t" + counted["params"].dump() + "\t" +
                           counted["macs"].dump() + "\n";
  EXPECT_EQ(slurp(cache), "0.1.0" + line);
  // The next answer reads the cache rather than counting again: a planted figure shows through.
  { std::ofstream(cache) << "junk line\n0.1.0\tresnet18 x1 1x28x28 10 classes\t12345\t678\n"; }
  auto second = wattlab(estimate);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["parameters"], 12345);
  // Another version's line is not trusted: counted again and added.
  { std::ofstream(cache) << "0.0.9\tresnet18 x1 1x28x28 10 classes\t12345\t678\n"; }
  auto third = wattlab(estimate);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(nlohmann::json::parse(third.out)["parameters"], counted["params"]);
  EXPECT_EQ(slurp(cache), "0.0.9\tresnet18 x1 1x28x28 10 classes\t12345\t678\n0.1.0" + line);
  // A shape the model cannot take: models info's reason.
  auto tiny = wattlab("--store " + store_ + " estimate --model lenet5 --resize 4 --subset 500 --epochs 1");
  EXPECT_EQ(tiny.exit_code, 1);
  EXPECT_NE(tiny.err.find("model lenet5 cannot take 1x4x4 images"), std::string::npos) << tiny.err;
}

TEST_F(CliTest, WattlabLinksNoLibTorchAndHandsTorchCommandsToWattlabTorch) {
  // LibTorch's start-up is most of a second; `wattlab` must not pay it.
  const auto front = slurp(WATTLAB_BINARY);
  const auto torch = slurp(std::filesystem::path(WATTLAB_BINARY).parent_path() / "wattlab-torch");
  ASSERT_FALSE(torch.empty());
  EXPECT_EQ(front.find("libc10.so"), std::string::npos);
  EXPECT_NE(torch.find("libc10.so"), std::string::npos);
  // Options before the command, and --store's value, do not confuse the hand-over.
  auto help = wattlab("--store train study run --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("The study spec (YAML"), std::string::npos) << help.out;
  auto zoo = wattlab("models info cnn --format json");
  ASSERT_EQ(zoo.exit_code, 0) << zoo.err;
  EXPECT_EQ(nlohmann::json::parse(zoo.out)["name"], "cnn");
}

TEST_F(CliTest, EstimateRanksTheStoresEnvironmentsByPreAndRunsShowAdvises) {
  std::string run_id;
  {
    auto store = Store::open(store_);
    ASSERT_TRUE(store.ok());
    int64_t end = 1'700'000'000'000;
    for (const char* model : {"cnn", "lenet5", "resnet18"}) {
      for (int threads : {1, 2}) {
        for (int rep = 0; rep < 3; ++rep) {
          testing::SyntheticTraining t;
          t.model = model;
          t.threads = threads;
          t.noise = 0.01 * (rep - 1);
          t.study = "green-cv";
          t.study_environment = std::to_string(threads) + "-threads";
          t.f1_by_epoch = {0.6, 0.8, 0.85, 0.8502};
          t.end_time_ms = end += 60'000;
          const std::string id = testing::add_synthetic_training(**store, t);
          if (run_id.empty()) run_id = id;  // a cnn run: 1.7 kJ an epoch
        }
      }
    }
  }
  auto r = wattlab("--store " + store_ +
                   " estimate --model cnn --subset 2000 --test-subset 1000 --epochs 4 --compare-environments --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["estimates"].size(), 2u);
  for (const auto& e : j["estimates"]) {
    EXPECT_EQ(e["method"], "pre") << e["method_text"];
    EXPECT_EQ(e["training_runs"], 18);
  }
  EXPECT_EQ(j["estimates"][0]["environment"]["name"], "2-threads");  // the law makes 2 threads cheaper
  EXPECT_LT(j["estimates"][0]["energy_j"].get<double>(), j["estimates"][1]["energy_j"].get<double>());
  EXPECT_EQ(j["advice"]["stop_epoch"], 3);
  // This machine is not the runs' Xeon: the plain estimate says so and falls back.
  auto here = wattlab("--store " + store_ + " estimate --model cnn --subset 2000 --epochs 4 --format json");
  ASSERT_EQ(here.exit_code, 0) << here.err;
  EXPECT_EQ(nlohmann::json::parse(here.out)["estimates"][0]["method"], "green-algorithms-baseline");
  auto show = wattlab("--store " + store_ + " runs show " + run_id);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("Advice\nStopping after epoch 3 of 4"), std::string::npos) << show.out;
}

#else

TEST_F(CliTest, TrainExplainsThatThisBuildHasNoLibTorch) {
  auto r = wattlab("train --model cnn");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("WATTLAB_WITH_TORCH=ON"), std::string::npos) << r.err;
}

TEST_F(CliTest, EstimateSaysCountingTheModelNeedsLibTorch) {
  auto r = wattlab("--store " + store_ + " estimate --model cnn --subset 500 --epochs 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("counting cnn's parameters and MACs needs LibTorch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("WATTLAB_WITH_TORCH=ON"), std::string::npos) << r.err;
}

#endif

}  // namespace
}  // namespace wattlab
