// Server behaviour the conformance files cannot express: binding rules, the
// wattlab endpoints over data only the store can write, graceful stop, and
// concurrent clients.
#include "wattlab/server/tracking_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "wattlab/server/http_client.h"
#include "wattlab/server/mlflow_api.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;

class TrackingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open(":memory:", &clock_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  std::unique_ptr<TrackingServer> start(ServerOptions options = {}) {
    options.port = 0;
    auto server = TrackingServer::bind(store_.get(), options, &clock_);
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    if (!server.ok()) return nullptr;
    (*server)->start_background();
    return std::move(server).value();
  }

  FakeClock clock_{0, kT0};
  std::unique_ptr<SqliteStore> store_;
};

TEST(LoopbackHost, RecognisesLoopbackOnly) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.10"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("127example.com"));
  // A name is judged by the addresses it resolves to, not by how it starts.
  EXPECT_FALSE(is_loopback_host("127.evil.invalid"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.invalid"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
}

TEST_F(TrackingServerTest, ATokenMustBeLongAndPrintable) {
  ServerOptions options;
  options.port = 0;
  for (const char* token : {" ", "x", "fifteen-chars-x", "sixteen chars ok", "tab\there-0123456"}) {
    options.token = token;
    auto server = TrackingServer::bind(store_.get(), options, &clock_);
    ASSERT_FALSE(server.ok()) << "accepted '" << token << "'";
    EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(server.status().message().find("openssl rand"), std::string::npos) << server.status().message();
  }
  options.token = "sixteen-chars-ok";
  EXPECT_TRUE(TrackingServer::bind(store_.get(), options, &clock_).ok());
  // A host named like loopback but not resolving to it needs a token.
  options.token.clear();
  options.host = "127.evil.invalid";
  auto named = TrackingServer::bind(store_.get(), options, &clock_);
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("without a token"), std::string::npos) << named.status().message();
}

TEST_F(TrackingServerTest, RefusesToListenBeyondLoopbackWithoutAToken) {
  ServerOptions options;
  options.host = "0.0.0.0";
  options.port = 0;
  auto server = TrackingServer::bind(store_.get(), options, &clock_);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(server.status().message().find("WATTLAB_TOKEN"), std::string::npos) << server.status().message();

  options.token = "a-token-of-24-characters";
  auto with_token = TrackingServer::bind(store_.get(), options, &clock_);
  EXPECT_TRUE(with_token.ok()) << with_token.status().to_string();
}

TEST_F(TrackingServerTest, ABusyPortIsReportedNotThrown) {
  auto first = start();
  ASSERT_TRUE(first);
  ServerOptions options;
  options.port = first->port();
  auto second = TrackingServer::bind(store_.get(), options, &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
}

TEST_F(TrackingServerTest, WattlabEndpointsServeWindowsEnvironmentAndDownsampledPower) {
  auto run = store_->create_run("0", "metered", kT0);
  ASSERT_TRUE(run.ok());
  const std::string id = run->run_id;
  ASSERT_TRUE(store_
                  ->log_energy_windows(id, {{"epoch 1", kT0, kT0 + 60'000, 60.0, {{"package-0", 1200.0, false}, {"gpu-0", 3000.0, false}}},
                                            {"eval", kT0 + 60'000, kT0 + 65'000, 5.0, {{"cpu-estimated", 40.0, true}}}})
                  .ok());
  ASSERT_TRUE(store_->set_environment(id, {{"gpu", "RTX 3090"}, {"seed", "42"}}).ok());
  std::vector<PowerSample> samples;
  for (int i = 0; i < 10; ++i) samples.push_back({kT0 + i * 100, {10.0 + i, 100.0}});
  ASSERT_TRUE(store_->log_power_samples(id, {"package-0", "gpu-0"}, samples).ok());

  auto server = start();
  ASSERT_TRUE(server);
  HttpClient client("127.0.0.1", server->port());

  auto windows = client.get("/api/2.0/wattlab/runs/energy-windows?run_id=" + id);
  ASSERT_TRUE(windows.ok()) << windows.status().to_string();
  ASSERT_EQ(windows->status, 200) << windows->body;
  json w = json::parse(windows->body);
  ASSERT_EQ(w["energy_windows"].size(), 2u);
  EXPECT_EQ(w["energy_windows"][0]["name"], "epoch 1");
  EXPECT_DOUBLE_EQ(w["energy_windows"][0]["energy_j"].get<double>(), 4200.0);
  EXPECT_EQ(w["energy_windows"][0]["estimated"], false);
  EXPECT_EQ(w["energy_windows"][1]["estimated"], true);
  EXPECT_EQ(w["energy_windows"][1]["domains"][0]["name"], "cpu-estimated");

  auto env = client.get("/api/2.0/wattlab/runs/environment?run_id=" + id);
  ASSERT_TRUE(env.ok()) << env.status().to_string();
  EXPECT_EQ(json::parse(env->body)["environment"], (json{{"gpu", "RTX 3090"}, {"seed", "42"}}));

  auto power = client.get("/api/2.0/wattlab/runs/power?run_id=" + id + "&max_points=5");
  ASSERT_TRUE(power.ok()) << power.status().to_string();
  ASSERT_EQ(power->status, 200) << power->body;
  json p = json::parse(power->body);
  EXPECT_EQ(p["domains"], (json{"package-0", "gpu-0"}));
  EXPECT_EQ(p["total_samples"], 10);
  ASSERT_EQ(p["samples"].size(), 5u);
  // Buckets of two: means of 10,11 / 12,13 / ... and the first timestamp.
  EXPECT_EQ(p["samples"][0]["timestamp_ms"], kT0);
  EXPECT_DOUBLE_EQ(p["samples"][0]["power_w"][0].get<double>(), 10.5);
  EXPECT_EQ(p["samples"][4]["timestamp_ms"], kT0 + 800);
  EXPECT_DOUBLE_EQ(p["samples"][4]["power_w"][0].get<double>(), 18.5);
  EXPECT_DOUBLE_EQ(p["samples"][4]["power_w"][1].get<double>(), 100.0);

  auto all = client.get("/api/2.0/wattlab/runs/power?run_id=" + id + "&max_points=1000");
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(json::parse(all->body)["samples"].size(), 10u);
}

TEST_F(TrackingServerTest, ConcurrentClientsLoseNoPoint) {
  auto run = store_->create_run("0", "shared", kT0);
  ASSERT_TRUE(run.ok());
  auto server = start();
  ASSERT_TRUE(server);
  constexpr int kClients = 8;
  constexpr int kBatches = 20;
  constexpr int kPointsPerBatch = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client("127.0.0.1", server->port());
      for (int b = 0; b < kBatches; ++b) {
        json metrics = json::array();
        for (int i = 0; i < kPointsPerBatch; ++i)
          metrics.push_back({{"key", "client" + std::to_string(c)}, {"value", i}, {"timestamp", kT0 + i}, {"step", b * kPointsPerBatch + i}});
        auto res = client.post("/api/2.0/mlflow/runs/log-batch", json{{"run_id", run->run_id}, {"metrics", metrics}}.dump());
        if (!res.ok() || res->status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int c = 0; c < kClients; ++c) {
    auto history = store_->get_metric_history(run->run_id, "client" + std::to_string(c));
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(history->size(), static_cast<size_t>(kBatches * kPointsPerBatch));
  }
}

TEST_F(TrackingServerTest, StopEndsServeAndAcknowledgedWritesAreStored) {
  ServerOptions options;
  options.port = 0;
  auto bound = TrackingServer::bind(store_.get(), options, &clock_);
  ASSERT_TRUE(bound.ok());
  TrackingServer* server = bound->get();
  std::atomic<bool> returned{false};
  std::thread serving([&] {
    EXPECT_TRUE(server->serve().ok());
    returned = true;
  });
  HttpClient client("127.0.0.1", server->port());
  std::string run_id;
  for (int attempt = 0; attempt < 200 && run_id.empty(); ++attempt) {
    auto res = client.post("/api/2.0/mlflow/runs/create", "{}");
    if (res.ok() && res->status == 200) run_id = json::parse(res->body)["run"]["info"]["run_id"];
    else std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(run_id.empty());
  auto logged = client.post("/api/2.0/mlflow/runs/log-metric",
                            json{{"run_id", run_id}, {"key", "loss"}, {"value", 0.25}, {"timestamp", kT0}}.dump());
  ASSERT_TRUE(logged.ok()) << logged.status().to_string();
  ASSERT_EQ(logged->status, 200);
  server->stop();
  serving.join();
  EXPECT_TRUE(returned);
  auto run = store_->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_DOUBLE_EQ(run->latest_metrics.at("loss").value, 0.25);
}

// A client that sends part of an upload and hangs up: nothing of it may
// remain, and the server goes on serving.
TEST_F(TrackingServerTest, AnInterruptedUploadLeavesNothingBehind) {
  const fs::path root = fs::temp_directory_path() / ("wattlab-interrupted-" + std::to_string(getpid()));
  fs::remove_all(root);
  ServerOptions options;
  options.artifacts_dir = root.string();
  auto server = start(options);
  ASSERT_TRUE(server);

  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string head =
      "PUT /api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts/model.bin HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nContent-Length: 1000000\r\nContent-Type: application/octet-stream\r\n\r\n";
  const std::string part(300000, 'w');
  ASSERT_EQ(send(sock, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  ASSERT_EQ(send(sock, part.data(), part.size(), 0), static_cast<ssize_t>(part.size()));
  // Wait until the server has started writing, then hang up.
  const fs::path folder = root / "0" / "abc" / "artifacts";
  for (int i = 0; i < 500 && !fs::exists(folder); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  close(sock);

  HttpClient client("127.0.0.1", server->port());
  bool empty = false;
  for (int i = 0; i < 500 && !empty; ++i) {
    empty = fs::exists(folder) && fs::is_empty(folder);
    if (!empty) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(empty) << "a partial upload was left in " << folder;
  auto get = client.get("/api/2.0/mlflow-artifacts/artifacts/0/abc/artifacts/model.bin");
  ASSERT_TRUE(get.ok()) << get.status().to_string();
  EXPECT_EQ(get->status, 404);
  fs::remove_all(root);
}

// Large artifacts stream both ways byte for byte.
TEST_F(TrackingServerTest, ALargeArtifactRoundTrips) {
  const fs::path root = fs::temp_directory_path() / ("wattlab-large-" + std::to_string(getpid()));
  fs::remove_all(root);
  ServerOptions options;
  options.artifacts_dir = root.string();
  options.max_body_bytes = 1024;  // the JSON limit does not apply to artifacts
  auto server = start(options);
  ASSERT_TRUE(server);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng() & 0xff);
  HttpClient client("127.0.0.1", server->port());
  auto put = client.put("/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/big.bin", data, "application/octet-stream");
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  ASSERT_EQ(put->status, 200) << put->body;
  auto get = client.get("/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/big.bin");
  ASSERT_TRUE(get.ok()) << get.status().to_string();
  ASSERT_EQ(get->status, 200);
  EXPECT_EQ(get->header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(get->body.size(), data.size());
  EXPECT_TRUE(get->body == data);
  fs::remove_all(root);
}

TEST(MlflowApiErrors, StatusCodesFollowMlflow) {
  EXPECT_EQ(http_status_of("INVALID_PARAMETER_VALUE"), 400);
  EXPECT_EQ(http_status_of("RESOURCE_ALREADY_EXISTS"), 400);
  EXPECT_EQ(http_status_of("BAD_REQUEST"), 400);
  EXPECT_EQ(http_status_of("RESOURCE_DOES_NOT_EXIST"), 404);
  EXPECT_EQ(http_status_of("ENDPOINT_NOT_FOUND"), 404);
  EXPECT_EQ(http_status_of("INTERNAL_ERROR"), 500);
  EXPECT_EQ(api_error(Status::not_found("x")).body["error_code"], "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(api_error(Status::already_exists("x")).http_status, 400);
  EXPECT_EQ(api_error(Status::io_error("disk")).http_status, 500);
}

}  // namespace
}  // namespace wattlab
