// End-to-end tests of the commands that read and manage runs (`runs`,
// `experiments`): every format, and the same answers from a local store, a
// `wattlab server` over it, and a plain MLflow server.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "wattlab/cli/cli_testing.h"
#include "wattlab/cli/server_process_testing.h"
#include "wattlab/server/fake_mlflow_server_testing.h"
#include "wattlab/track/store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::count_lines;

struct SeededRuns {
  std::string a, b, c;  // wattlab runs: 0.1, 0.3 and 0.2 accuracy per kJ
  std::string mlflow;   // a run of the plain MLflow client: no energy data
};

// Runs as `wattlab train` and the MLflow client leave them, in experiment "study".
SeededRuns seed(const std::string& store_path) {
  auto store = std::move(Store::open(store_path)).value();
  const std::string experiment = *store->get_or_create_experiment("study");
  int64_t start_ms = 1'700'000'000'000;
  auto train_run = [&](const std::string& name, double accuracy, double energy_j, bool estimated) {
    start_ms += 60'000;
    RunInfo run = *store->create_run(experiment, name, start_ms);
    std::vector<Metric> metrics;
    for (int epoch = 1; epoch <= 3; ++epoch) metrics.push_back({"accuracy", accuracy - 0.1 * (3 - epoch), start_ms + epoch, epoch});
    for (const auto& [key, value] : std::map<std::string, double>{{"energy_j", energy_j},
                                                                  {"co2e_g", energy_j / 3.6e6 * 480},
                                                                  {"energy_per_image_j", energy_j / 1000},
                                                                  {"f1_macro", accuracy - 0.05},
                                                                  {"parameter_count", 421642}}) {
      metrics.push_back({key, value, start_ms + 9, 0});
    }
    EXPECT_TRUE(store->log_batch(run.run_id, metrics,
                                 {{"model", "cnn"}, {"threads", "2"}, {"device", "cpu"}, {"pue", "1"},
                                  {"carbon_source", "FRA (France, 2023; OWID via CodeCarbon)"}},
                                 {{"wattlab.energy_estimated", estimated ? "true" : "false"}, {"mlflow.runName", name}})
                    .ok());
    EXPECT_TRUE(store->log_energy_windows(run.run_id, {{"run", start_ms, start_ms + 10'000, 10.0,
                                                        {{"package-0", energy_j * 0.9, false, true},
                                                         {"ram-estimated", energy_j * 0.1, true, true}}}})
                    .ok());
    EXPECT_TRUE(store->log_power_samples(run.run_id, {"package-0", "ram-estimated"},
                                         {{start_ms + 100, {80.5, 9.0}}, {start_ms + 200, {95.25, 9.0}}})
                    .ok());
    EXPECT_TRUE(store->set_environment(run.run_id, {{"cpu_model", "AMD EPYC"}, {"cpu_count", "2"}}).ok());
    EXPECT_TRUE(store->update_run(run.run_id, RunStatus::kFinished, start_ms + 10'000).ok());
    return run.run_id;
  };
  SeededRuns out;
  out.a = train_run("a", 0.9, 9000, true);
  out.b = train_run("b", 0.6, 2000, false);
  out.c = train_run("c", 0.7, 3500, false);
  RunInfo plain = *store->create_run(experiment, "mlflow-client", start_ms + 60'000);
  EXPECT_TRUE(store->log_batch(plain.run_id, {{"loss", 0.5, start_ms, 0}}, {}, {}).ok());
  EXPECT_TRUE(store->update_run(plain.run_id, RunStatus::kFinished, start_ms + 70'000).ok());
  out.mlflow = plain.run_id;
  return out;
}

class RunsCliTest : public testing::CliTest {
 protected:
  // `wattlab ARGS` on the local store; fails the test unless it succeeds.
  std::string local(const std::string& args) {
    auto r = wattlab(args + " --store " + store_);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return r.out;
  }
  std::string remote(const std::string& args, const std::string& uri) {
    auto r = wattlab(args + " --tracking-uri " + uri);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return r.out;
  }
};

TEST_F(RunsCliTest, EveryReadingCommandAnswersTheSameThroughAWattlabServer) {
  const SeededRuns runs = seed(store_);
  testing::ServerProcess server(dir_, store_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  const std::string a = runs.a.substr(0, 8);
  for (const std::string& args :
       {std::string("runs ls"), std::string("runs ls --format json"), std::string("runs ls --format csv"),
        std::string("runs ls --experiment study --order-by 'accuracy_per_kj DESC' --format csv"),
        std::string("runs ls --filter \"params.model = 'cnn'\" --limit 2"), "runs show " + a,
        "runs metrics " + a + " accuracy", "runs metrics " + a + " accuracy --format json",
        "runs metrics " + a + " accuracy --format csv", "runs power " + a, "runs power " + a + " --format json",
        "runs power " + a + " --format table", std::string("runs emissions"), std::string("experiments ls --format csv")}) {
    SCOPED_TRACE(args);
    std::string here = local(args), there = remote(args, server.uri());
    if (args.rfind("experiments", 0) == 0) {
      // The server reports its proxied artifact locations (mlflow-artifacts:/1), the store its folders.
      EXPECT_NE(there.find("mlflow-artifacts:/"), std::string::npos) << there;
      continue;
    }
    EXPECT_FALSE(here.empty());
    EXPECT_EQ(here, there);
  }
  // runs show --format json: the same but the artifact location.
  json here = json::parse(local("runs show " + a + " --format json"));
  json there = json::parse(remote("runs show " + a + " --format json", server.uri()));
  EXPECT_EQ(there["artifact_uri"], "mlflow-artifacts:/1/" + runs.a + "/artifacts");
  here.erase("artifact_uri");
  there.erase("artifact_uri");
  EXPECT_EQ(here, there);
  EXPECT_EQ(there["energy_windows"][0]["name"], "run");
  EXPECT_EQ(there["environment"]["cpu_model"], "AMD EPYC");
  // Experiments through the server, in JSON.
  json experiments = json::parse(remote("experiments ls --format json", server.uri()));
  ASSERT_EQ(experiments.size(), 2u);
  std::set<std::string> names = {experiments[0]["name"], experiments[1]["name"]};
  EXPECT_EQ(names, (std::set<std::string>{"Default", "study"}));
}

TEST_F(RunsCliTest, ListingsCarryEveryFigureWithItsUnitAndOrderByDerivedColumns) {
  const SeededRuns runs = seed(store_);
  json listed = json::parse(local("runs ls --format json --order-by 'accuracy_per_kj DESC'"));
  ASSERT_EQ(listed.size(), 4u);
  EXPECT_EQ(listed[0]["run_id"], runs.b);  // 0.3 per kJ
  EXPECT_EQ(listed[1]["run_id"], runs.c);  // 0.2
  EXPECT_EQ(listed[2]["run_id"], runs.a);  // 0.1
  EXPECT_EQ(listed[3]["run_id"], runs.mlflow) << "no energy: last";
  EXPECT_DOUBLE_EQ(listed[0]["accuracy_per_kj"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(listed[0]["co2e_g"].get<double>(), 2000 / 3.6e6 * 480);
  EXPECT_EQ(listed[0]["threads"], "2");
  EXPECT_EQ(listed[0]["device"], "cpu");
  EXPECT_EQ(listed[0]["energy"], "measured");
  EXPECT_EQ(listed[0]["energy_estimated"], false);
  EXPECT_EQ(listed[2]["energy"], "estimated");
  // The plain MLflow client's run has no energy data: neither measured nor estimated.
  EXPECT_EQ(listed[3]["energy"], "none");
  EXPECT_TRUE(listed[3]["energy_estimated"].is_null());
  EXPECT_TRUE(listed[3]["energy_j"].is_null());
  // --limit applies after a derived order.
  EXPECT_EQ(json::parse(local("runs ls --format json --order-by 'accuracy_per_kj ASC' --limit 1"))[0]["run_id"], runs.a);

  const std::string table = local("runs ls --order-by 'accuracy_per_kj DESC'");
  EXPECT_NE(table.find("accuracy_per_kj"), std::string::npos) << "the derived column is shown: " << table;
  EXPECT_NE(table.find("no energy data"), std::string::npos) << table;
  EXPECT_LT(table.find(runs.b.substr(0, 8)), table.find(runs.a.substr(0, 8))) << table;

  const std::string csv = local("runs ls --format csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "run_id,run_name,experiment_id,status,lifecycle_stage,model,threads,device,start_time_ms,duration_s,"
            "elapsed_s,accuracy,f1_macro,energy_j,attributed_energy_j,energy_per_image_j,co2e_g,energy,energy_estimated,accuracy_per_kj,f1_per_kj,"
            "co2e_per_image_g");
  EXPECT_EQ(count_lines(csv), 5);

  // runs show: integers as integers, no energy data as such, derived figures.
  const std::string shown = local("runs show " + runs.b);
  EXPECT_NE(shown.find(" 421642 "), std::string::npos) << shown;
  EXPECT_EQ(shown.find("421642.0"), std::string::npos) << shown;
  EXPECT_NE(shown.find("accuracy_per_kj (derived)"), std::string::npos) << shown;
  EXPECT_NE(local("runs show " + runs.mlflow).find("energy      no energy data\n"), std::string::npos);
  json plain = json::parse(local("runs show " + runs.mlflow + " --format json"));
  EXPECT_EQ(plain["energy"], "none");
  EXPECT_TRUE(plain["energy_estimated"].is_null());

  auto unknown = wattlab("runs ls --order-by 'joules_per_dollar DESC' --store " + store_);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(count_lines(unknown.err), 1) << unknown.err;
}

TEST_F(RunsCliTest, MetricHistoriesAndPowerTimelinesInEveryFormat) {
  const SeededRuns runs = seed(store_);
  const std::string a = runs.a.substr(0, 8);
  const std::string csv = local("runs metrics " + a + " accuracy --format csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "step,value,timestamp_ms,time");
  EXPECT_EQ(count_lines(csv), 4);
  json history = json::parse(local("runs metrics " + a + " accuracy --format json"));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2]["step"], 3);
  EXPECT_DOUBLE_EQ(history[2]["value"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(history[0]["value"].get<double>(), 0.9 - 0.2);
  EXPECT_NE(local("runs metrics " + a + " accuracy").find("0.9000"), std::string::npos);
  auto missing = wattlab("runs metrics " + a + " nope --store " + store_);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("its metrics: accuracy, co2e_g"), std::string::npos) << missing.err;

  EXPECT_EQ(local("runs power " + a), "timestamp_ms,package-0_w,ram-estimated_w\n1700000060100,80.5,9.0\n"
                                      "1700000060200,95.25,9.0\n");
  json power = json::parse(local("runs power " + a + " --format json"));
  EXPECT_EQ(power["domains"], json({"package-0", "ram-estimated"}));
  EXPECT_EQ(power["samples"][1]["power_w"][0], 95.25);
  EXPECT_NE(local("runs power " + a + " --format table").find("package-0 W"), std::string::npos);
  auto no_timeline = wattlab("runs power " + runs.mlflow + " --store " + store_);
  EXPECT_EQ(no_timeline.exit_code, 1);
  EXPECT_NE(no_timeline.err.find("no power timeline"), std::string::npos) << no_timeline.err;
}

TEST_F(RunsCliTest, EmissionsCsvHasCodeCarbonsColumns) {
  const SeededRuns runs = seed(store_);
  auto r = wattlab("runs emissions --experiment study --out " + (dir_ / "emissions.csv").string() + " --store " + store_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string csv = testing::slurp(dir_ / "emissions.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
            "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,"
            "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,"
            "longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue");
  EXPECT_EQ(count_lines(csv), 5);
  // Oldest first, as CodeCarbon appends: run a's row is the first.
  const std::string first = csv.substr(csv.find('\n') + 1);
  EXPECT_EQ(first.find(",study,"), 19u) << first;
  EXPECT_NE(first.find(",0.0025,"), std::string::npos) << "9000 J = 0.0025 kWh: " << first;
  EXPECT_NE(first.find(",France,FRA,"), std::string::npos) << first;
}

TEST_F(RunsCliTest, DeleteRestoreAndExperimentsThroughEveryWayOfNamingAServer) {
  const SeededRuns runs = seed(store_);
  testing::ServerProcess server(dir_, store_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  const std::string env = "MLFLOW_TRACKING_URI=" + server.uri();
  auto rm = wattlab("runs rm " + runs.a.substr(0, 8) + " --tracking-uri " + server.uri());
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(rm.out.find("wattlab runs restore"), std::string::npos);
  // MLFLOW_TRACKING_URI alone is honoured by the reading commands.
  auto active = wattlab("runs ls --format json", env);
  ASSERT_EQ(active.exit_code, 0) << active.err;
  EXPECT_EQ(json::parse(active.out).size(), 3u);
  auto deleted = wattlab("runs ls --deleted --format json", env);
  ASSERT_EQ(json::parse(deleted.out).size(), 1u);
  EXPECT_EQ(json::parse(deleted.out)[0]["lifecycle_stage"], "deleted");
  auto shown = wattlab("runs show " + runs.a, env);
  EXPECT_NE(shown.out.find("DELETED (wattlab runs restore"), std::string::npos) << shown.out;
  EXPECT_EQ(json::parse(wattlab("runs show " + runs.a + " --format json", env).out)["deleted"], true);
  // --store may name the server too.
  auto restored = wattlab("runs restore " + runs.a + " --store " + server.uri());
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(json::parse(wattlab("runs ls --format json", env).out).size(), 4u);

  ASSERT_EQ(wattlab("experiments create baseline", env).exit_code, 0);
  ASSERT_EQ(wattlab("experiments rename baseline reference", env).exit_code, 0);
  ASSERT_EQ(wattlab("experiments rm study", env).exit_code, 0);
  EXPECT_EQ(json::parse(wattlab("runs ls --format json", env).out).size(), 0u) << "its runs went with it";
  ASSERT_EQ(wattlab("experiments restore study", env).exit_code, 0);
  auto store = std::move(Store::open(store_)).value();
  EXPECT_EQ(store->get_experiment_by_name("reference")->lifecycle_stage, kLifecycleActive);
  EXPECT_EQ(store->get_experiment_by_name("study")->lifecycle_stage, kLifecycleActive);
  EXPECT_EQ(store->get_run(runs.b)->info.lifecycle_stage, kLifecycleActive);
  auto taken = wattlab("experiments create study", env);
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_EQ(count_lines(taken.err), 1) << taken.err;
  auto table = wattlab("experiments ls", env);
  EXPECT_EQ(table.out.rfind("id  name", 0), 0u) << table.out;
  EXPECT_NE(table.out.find(" reference "), std::string::npos) << table.out;
  auto csv = wattlab("experiments ls --all --format csv", env);
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')), "experiment_id,name,lifecycle_stage,creation_time_ms,created,artifact_location");
}

TEST_F(RunsCliTest, BadLocationsAreOneClearLine) {
  auto down = wattlab("runs ls --tracking-uri http://127.0.0.1:1");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot reach the tracking server at http://127.0.0.1:1"), std::string::npos) << down.err;
  auto mlruns = wattlab("runs ls --store " + store_, "MLFLOW_TRACKING_URI=./mlruns");
  EXPECT_EQ(mlruns.exit_code, 1);
  EXPECT_NE(mlruns.err.find("MLFLOW_TRACKING_URI"), std::string::npos) << mlruns.err;
  auto serve = wattlab("server --store http://127.0.0.1:5000");
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_NE(serve.err.find("is a tracking server"), std::string::npos) << serve.err;
  EXPECT_EQ(count_lines(serve.err), 1);
}

// A one-socket powercap tree for `measure`: the counter starts at 1 J.
void powercap_fixture(const fs::path& sys) {
  const fs::path zone = sys / "class/powercap/intel-rapl:0";
  fs::create_directories(zone);
  std::ofstream(zone / "name") << "package-0\n";
  std::ofstream(zone / "max_energy_range_uj") << "262143328850\n";
  std::ofstream(zone / "energy_uj") << "1000000\n";
}

TEST_F(RunsCliTest, MeasureLogsIntoAPlainMlflowServerAndTheRunReadsBack) {
  testing::FakeMlflowServer mlflow;
  powercap_fixture(dir_ / "sys");
  const std::string counter = (dir_ / "sys/class/powercap/intel-rapl:0/energy_uj").string();
  auto r = wattlab("measure --format json --tracking-uri " + mlflow.uri() + " -- sh -c 'sleep 0.3; echo 15000000 > " +
                       counter + "; sleep 0.3'",
                   "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t note = r.err.find("is an MLflow server without wattlab's endpoints");
  ASSERT_NE(note, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("is an MLflow server", note + 1), std::string::npos) << "said once: " << r.err;
  const std::string run_id = json::parse(r.out)["run_id"];

  // In MLflow's own terms: a finished run, system metrics, energy metrics, tags, artifacts.
  json run = mlflow.run(run_id);
  EXPECT_EQ(run["info"]["status"], "FINISHED");
  EXPECT_FALSE(mlflow.history(run_id, "system/package_0_power_watts").empty());
  auto energy = mlflow.history(run_id, "energy/run/package_0_j");
  ASSERT_EQ(energy.size(), 1u);
  EXPECT_DOUBLE_EQ(energy[0]["value"].get<double>(), 14.0);
  std::map<std::string, std::string> tags;
  for (const auto& t : run["data"]["tags"]) tags[t["key"]] = t["value"];
  EXPECT_TRUE(tags.count("wattlab.env.hostname"));
  EXPECT_TRUE(tags.count("wattlab.env.estimator_ram_w")) << "the RAM estimate's assumption travels with the run";
  const std::string artifacts = run["info"]["experiment_id"].get<std::string>() + "/" + run_id + "/artifacts/";
  EXPECT_NE(mlflow.artifact(artifacts + "wattlab/energy_windows.json").find("\"package-0\""), std::string::npos);

  // wattlab reads it back from MLflow whole.
  json shown = json::parse(remote("runs show " + run_id.substr(0, 8) + " --format json", mlflow.uri()));
  EXPECT_EQ(shown["status"], "FINISHED");
  EXPECT_EQ(shown["energy"], "estimated") << "RAM is estimated beside the measured package";
  ASSERT_EQ(shown["energy_windows"].size(), 1u);
  EXPECT_EQ(shown["energy_windows"][0]["name"], "run");
  EXPECT_TRUE(shown["environment"].contains("estimator_ram_w"));
  const std::string power = remote("runs power " + run_id, mlflow.uri());
  EXPECT_EQ(power.substr(0, power.find('\n')).find("timestamp_ms,"), 0u) << power;
  EXPECT_NE(power.find("package-0_w"), std::string::npos) << power;
  EXPECT_EQ(json::parse(remote("runs ls --format json", mlflow.uri())).size(), 1u);
}

}  // namespace
}  // namespace wattlab
