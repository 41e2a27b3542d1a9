// wattlab against a plain MLflow server (FakeMlflowServer, answering as
// MLflow 2.9 does): the logger notices that wattlab's endpoints are missing
// and writes the same facts through MLflow's API; the catalog reads them
// back; artifacts move both ways.
#include "wattlab/server/mlflow_native.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "wattlab/server/fake_mlflow_server_testing.h"
#include "wattlab/server/remote_artifacts.h"
#include "wattlab/server/rest_run_catalog.h"
#include "wattlab/server/rest_run_logger.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/track/client.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(MlflowNativeTest, NamesFollowMlflowsRules) {
  EXPECT_EQ(power_metric_name("gpu-0"), "system/gpu_0_power_usage_watts");  // MLflow's own system metric
  EXPECT_EQ(power_metric_name("gpu-12"), "system/gpu_12_power_usage_watts");
  EXPECT_EQ(power_metric_name("package-0"), "system/package_0_power_watts");
  EXPECT_EQ(power_metric_name("package-0/core"), "system/package_0_core_power_watts");
  EXPECT_EQ(power_metric_name("cpu-estimated"), "system/cpu_estimated_power_watts");
  EXPECT_EQ(mlflow_metric_key("epoch-1/train"), "epoch-1/train");
  EXPECT_EQ(mlflow_metric_key("/a//b:c/"), "a/b_c");
  EnergyWindow w{"epoch-2/eval", 1000, 3000, 2.0, {{"package-0", 40.0, false, true}, {"gpu-0", 10.0, false, true}}};
  auto metrics = energy_window_metrics(w);
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(metrics[0].key, "energy/epoch-2/eval/energy_j");
  EXPECT_DOUBLE_EQ(metrics[0].value, 50.0);
  EXPECT_EQ(metrics[0].timestamp_ms, 3000);
  EXPECT_EQ(metrics[1].key, "energy/epoch-2/eval/duration_s");
  EXPECT_EQ(metrics[2].key, "energy/epoch-2/eval/package_0_j");
  EXPECT_EQ(metrics[3].key, "energy/epoch-2/eval/gpu_0_j");
  auto samples = power_sample_metrics({"gpu-0", "ram-estimated"}, {{10, {200.0, NAN}}, {20, {210.0, 3.0}}}, 5);
  ASSERT_EQ(samples.size(), 3u) << "NaN power is left out";
  EXPECT_EQ(samples[0].step, 5);
  EXPECT_EQ(samples[2].key, "system/ram_estimated_power_watts");
  EXPECT_EQ(samples[2].step, 6);
  EXPECT_EQ(samples[2].timestamp_ms, 20);
}

class MlflowServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<RestRunLogger> logger() {
    auto l = RestRunLogger::connect(mlflow_.uri());
    EXPECT_TRUE(l.ok());
    return std::move(l).value();
  }
  testing::FakeMlflowServer mlflow_;
};

TEST_F(MlflowServerTest, WattlabsFactsGoThroughMlflowsApiAndComeBack) {
  auto log = logger();
  ASSERT_TRUE(log->check_reachable().ok());
  ASSERT_EQ(*log->server_kind(), ServerKind::kMlflow);
  auto client = TrackingClient::start_run(log.get(), "energy", "r1");
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  const std::string run_id = (*client)->run_id();
  EnergyWindow window{"epoch-1/train", 1000, 3000, 2.0,
                      {{"package-0", 40.0, false, true}, {"gpu-0", 100.0, false, true}}};
  ASSERT_TRUE((*client)->log_param("model", "cnn").ok());
  ASSERT_TRUE((*client)->log_metric("accuracy", 0.75, 1).ok());
  ASSERT_TRUE((*client)->set_environment({{"cpu_model", "Xeon"}, {"threads", "2"}}).ok());
  ASSERT_TRUE((*client)->log_energy_window(window).ok());
  ASSERT_TRUE((*client)->flush().ok());
  ASSERT_TRUE((*client)->log_power_samples({"package-0", "gpu-0"}, {{1500, {20.0, 50.0}}, {2500, {22.0, 55.0}}}).ok());
  ASSERT_TRUE((*client)->log_power_samples({"package-0", "gpu-0"}, {{3500, {21.0, 60.0}}}).ok());
  ASSERT_TRUE((*client)->set_environment({{"device", "cpu"}}).ok());
  ASSERT_TRUE((*client)->end_run(RunStatus::kFinished).ok()) << "no wattlab endpoint is needed";

  // What MLflow holds, as its UI and clients see it.
  json run = mlflow_.run(run_id);
  EXPECT_EQ(run["info"]["status"], "FINISHED");
  std::map<std::string, std::string> tags;
  for (const auto& t : run["data"]["tags"]) tags[t["key"]] = t["value"];
  EXPECT_EQ(tags.at("wattlab.env.cpu_model"), "Xeon");
  EXPECT_EQ(tags.at("wattlab.env.device"), "cpu");
  EXPECT_EQ(mlflow_.history(run_id, "energy/epoch-1/train/energy_j").at(0)["value"], 140.0);
  EXPECT_EQ(mlflow_.history(run_id, "energy/epoch-1/train/gpu_0_j").at(0)["value"], 100.0);
  auto gpu = mlflow_.history(run_id, "system/gpu_0_power_usage_watts");
  ASSERT_EQ(gpu.size(), 3u);
  EXPECT_EQ(gpu[2]["step"], 2) << "steps continue across calls";
  EXPECT_EQ(gpu[2]["value"], 60.0);
  EXPECT_EQ(gpu[2]["timestamp"], 3500);
  const std::string artifacts = run["info"]["experiment_id"].get<std::string>() + "/" + run_id + "/artifacts/";
  auto environment = json::parse(mlflow_.artifact(artifacts + kEnvironmentArtifact));
  EXPECT_EQ(environment, json({{"cpu_model", "Xeon"}, {"threads", "2"}, {"device", "cpu"}})) << "merged, whole";
  auto windows = parse_energy_windows_json(mlflow_.artifact(artifacts + kEnergyWindowsArtifact));
  ASSERT_TRUE(windows.ok()) << windows.status().to_string();
  ASSERT_EQ(windows->size(), 1u);
  EXPECT_DOUBLE_EQ((*windows)[0].energy_j(), 140.0);
  // wattlab's endpoints were asked once, to tell the servers apart.
  int wattlab_calls = 0;
  for (const auto& r : mlflow_.requests()) wattlab_calls += r.path.rfind("/api/2.0/wattlab/", 0) == 0;
  EXPECT_EQ(wattlab_calls, 1);

  // The catalog reads the same run back whole.
  auto catalog = RestRunCatalog::connect(mlflow_.uri());
  ASSERT_TRUE(catalog.ok());
  auto back = (*catalog)->get_run(run_id.substr(0, 10));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->info.run_id, run_id);
  EXPECT_EQ(back->info.status, RunStatus::kFinished);
  EXPECT_EQ(back->params.at("model"), "cnn");
  EXPECT_EQ(back->environment.at("threads"), "2");
  ASSERT_EQ(back->energy_windows.size(), 1u);
  EXPECT_EQ(back->energy_windows[0].name, "epoch-1/train");
  EXPECT_DOUBLE_EQ(back->energy_windows[0].domains[1].energy_j, 100.0);
  auto timeline = (*catalog)->get_power_samples(run_id);
  ASSERT_TRUE(timeline.ok()) << timeline.status().to_string();
  ASSERT_EQ(timeline->samples.size(), 3u);
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < timeline->domains.size(); ++i) column[timeline->domains[i]] = i;
  ASSERT_TRUE(column.count("gpu-0") && column.count("package-0"));
  EXPECT_EQ(timeline->samples[1].timestamp_ms, 2500);
  EXPECT_DOUBLE_EQ(timeline->samples[1].power_w[column["gpu-0"]], 55.0);
  EXPECT_DOUBLE_EQ(timeline->samples[2].power_w[column["package-0"]], 21.0);
  auto history = (*catalog)->get_metric_history(run_id, "accuracy");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].step, 1);

  // A later session of the run (a resumed training) adds to the artifacts and steps.
  auto again = logger();
  ASSERT_TRUE(again->log_energy_windows(run_id, {{"epoch-2/train", 4000, 5000, 1.0, {{"package-0", 5.0, false, true}}}}).ok());
  ASSERT_TRUE(again->log_power_samples(run_id, {"package-0", "gpu-0"}, {{5500, {1.0, 2.0}}}).ok());
  windows = parse_energy_windows_json(mlflow_.artifact(artifacts + kEnergyWindowsArtifact));
  ASSERT_TRUE(windows.ok());
  EXPECT_EQ(windows->size(), 2u);
  EXPECT_EQ(mlflow_.history(run_id, "system/gpu_0_power_usage_watts").back()["step"], 3);
}

TEST_F(MlflowServerTest, TheCatalogManagesRunsAndExperiments) {
  auto log = logger();
  auto experiment = log->get_or_create_experiment("study");
  ASSERT_TRUE(experiment.ok()) << experiment.status().to_string();
  auto run = log->create_run(*experiment, "x", 1000);
  ASSERT_TRUE(run.ok());
  auto catalog = std::move(RestRunCatalog::connect(mlflow_.uri())).value();
  SearchRunsOptions search;
  auto page = catalog->search_runs(search);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->runs.size(), 1u) << "every experiment is searched when none is named";
  ASSERT_TRUE(catalog->delete_run(run->run_id).ok());
  EXPECT_TRUE(catalog->search_runs(search)->runs.empty());
  search.view_type = ViewType::kDeletedOnly;
  EXPECT_EQ(catalog->search_runs(search)->runs.size(), 1u);
  EXPECT_EQ(catalog->get_run(run->run_id)->info.lifecycle_stage, kLifecycleDeleted);
  EXPECT_EQ(catalog->get_run("0123456789").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(catalog->get_experiment_by_name("study")->experiment_id, *experiment);
  EXPECT_EQ(catalog->get_experiment_by_name("nope").status().code(), Status::Code::kNotFound);
}

// Folders of files up and down, against both kinds of server.
void check_artifact_round_trip(RestClient& client, const std::string& artifact_uri) {
  const fs::path dir = fs::temp_directory_path() / ("wattlab_artifacts_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "up" / "sub");
  std::string big(300 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  std::ofstream(dir / "up" / "model.pt", std::ios::binary) << big;
  std::ofstream(dir / "up" / "sub" / "model.json") << "{\"model\": \"cnn\"}";
  ASSERT_TRUE(upload_artifact_dir(client, artifact_uri, (dir / "up").string(), "model").ok());
  ASSERT_TRUE(download_artifact_dir(client, artifact_uri, "model", (dir / "down").string()).ok());
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(dir / "down" / "model.pt"), big);
  EXPECT_EQ(read(dir / "down" / "sub" / "model.json"), "{\"model\": \"cnn\"}");
  EXPECT_EQ(download_artifact_dir(client, artifact_uri, "nothing", (dir / "none").string()).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(client.download_file(artifact_uri, "model/absent.pt", (dir / "x").string()).code(), Status::Code::kNotFound);
  EXPECT_EQ(upload_artifact_dir(client, "/local/folder", (dir / "up").string()).code(), Status::Code::kUnavailable);
  fs::remove_all(dir);
}

TEST_F(MlflowServerTest, ArtifactFoldersMoveBothWays) {
  auto client = std::move(RestClient::connect(mlflow_.uri())).value();
  check_artifact_round_trip(*client, "mlflow-artifacts:/0/0123/artifacts");
}

TEST(WattlabServerArtifactsTest, ArtifactFoldersMoveBothWays) {
  const fs::path root = fs::temp_directory_path() / ("wattlab_server_artifacts_" + std::to_string(getpid()));
  auto store = std::move(SqliteStore::open(":memory:")).value();
  ServerOptions options;
  options.port = 0;
  options.artifacts_dir = root.string();
  auto server = std::move(TrackingServer::bind(store.get(), options)).value();
  server->start_background();
  auto client = std::move(RestClient::connect("http://127.0.0.1:" + std::to_string(server->port()))).value();
  EXPECT_EQ(*client->server_kind(), ServerKind::kWattlab);
  check_artifact_round_trip(*client, "mlflow-artifacts://127.0.0.1:5000/0/0123/artifacts");
  EXPECT_TRUE(fs::exists(root / "0/0123/artifacts/model/model.pt")) << "in the server's artifact folder";
  server->stop();
  fs::remove_all(root);
}

}  // namespace
}  // namespace wattlab
