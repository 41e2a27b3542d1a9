// RestRunLogger against a live in-process server: what TrackingClient sends
// through it lands in the server's store exactly as a local store would hold it.
#include "wattlab/server/rest_run_logger.h"

#include <gtest/gtest.h>

#include <cmath>

#include "wattlab/server/tracking_server.h"
#include "wattlab/track/client.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

class RestRunLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ServerOptions options;
    options.port = 0;
    options.token = "s3cret-s3cret-s3cret";
    auto server = TrackingServer::bind(store_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
    server_->start_background();
    uri_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  std::unique_ptr<RestRunLogger> connect(const std::string& token = "s3cret-s3cret-s3cret") {
    auto logger = RestRunLogger::connect(uri_ + "/", token);
    EXPECT_TRUE(logger.ok()) << logger.status().to_string();
    return logger.ok() ? std::move(logger).value() : nullptr;
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<TrackingServer> server_;
  std::string uri_;
};

TEST_F(RestRunLoggerTest, ATrackedRunLandsWholeOnTheServer) {
  auto logger = connect();
  ASSERT_NE(logger, nullptr);
  EXPECT_EQ(logger->uri(), uri_);
  EXPECT_TRUE(logger->check_reachable().ok());
  auto client = TrackingClient::start_run(logger.get(), "remote", "r1");
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  const std::string run_id = (*client)->run_id();
  // More than one log-batch request's worth of each kind.
  for (int step = 0; step < 2500; ++step) ASSERT_TRUE((*client)->log_metric("loss", 1.0 / (step + 1), step).ok());
  ASSERT_TRUE((*client)->log_metric("nan_metric", std::nan(""), 0).ok());
  for (int k = 0; k < 150; ++k) ASSERT_TRUE((*client)->log_param("p" + std::to_string(k), std::to_string(k)).ok());
  EnergyWindow window{"epoch 1", 1000, 3000, 2.0, {{"package-0", 40.0, false, true}, {"ram-estimated", 2.5, true, true}}};
  ASSERT_TRUE((*client)->log_energy_window(window).ok());
  ASSERT_TRUE((*client)->log_power_samples({"package-0", "ram-estimated"}, {{1100, {20.0, 1.25}}, {1200, {22.0, 1.25}}}).ok());
  ASSERT_TRUE((*client)->set_environment({{"cpu_model", "Xeon"}}).ok());
  ASSERT_TRUE((*client)->end_run(RunStatus::kFinished).ok());

  auto run = store_->get_run(run_id);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->info.run_name, "r1");
  EXPECT_EQ(run->info.status, RunStatus::kFinished);
  EXPECT_TRUE(run->info.end_time_ms.has_value());
  EXPECT_EQ(run->params.size(), 150u);
  EXPECT_EQ(run->params.at("p149"), "149");
  EXPECT_TRUE(std::isnan(run->latest_metrics.at("nan_metric").value));
  auto history = store_->get_metric_history(run_id, "loss");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2500u);
  EXPECT_EQ(history->back().step, 2499);
  ASSERT_EQ(run->energy_windows.size(), 1u);
  EXPECT_EQ(run->energy_windows[0].name, "epoch 1");
  EXPECT_DOUBLE_EQ(run->energy_windows[0].energy_j(), 42.5);
  EXPECT_TRUE(run->energy_windows[0].domains[1].estimated);
  EXPECT_EQ(run->environment.at("cpu_model"), "Xeon");
  auto timeline = store_->get_power_samples(run_id);
  ASSERT_TRUE(timeline.ok());
  ASSERT_EQ(timeline->samples.size(), 2u);
  EXPECT_DOUBLE_EQ(timeline->samples[1].power_w[0], 22.0);
}

TEST_F(RestRunLoggerTest, TheServersErrorsComeBackAsStatusCodes) {
  auto logger = connect();
  ASSERT_NE(logger, nullptr);
  auto experiment = logger->get_or_create_experiment("errors");
  ASSERT_TRUE(experiment.ok()) << experiment.status().to_string();
  EXPECT_EQ(*logger->get_or_create_experiment("errors"), *experiment) << "found, not created twice";
  auto run = logger->create_run(*experiment, "r", 1000);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(logger->log_batch(run->run_id, {}, {{"lr", "0.1"}}, {}).ok());
  Status conflict = logger->log_batch(run->run_id, {}, {{"lr", "0.2"}}, {});
  EXPECT_EQ(conflict.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(conflict.message().find("lr"), std::string::npos) << conflict.message();
  EXPECT_EQ(logger->update_run("0123456789abcdef0123456789abcdef", RunStatus::kFinished, 5).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(logger->create_run("999", "r", 1000).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(logger->log_power_samples(run->run_id, {"a", "b"}, {{1, {1.0}}}).code(), Status::Code::kInvalidArgument);
}

TEST_F(RestRunLoggerTest, WrongTokenAndUnreachableServerAreExplained) {
  auto wrong = connect("nope");
  ASSERT_NE(wrong, nullptr);
  Status denied = wrong->get_or_create_experiment("x").status();
  EXPECT_EQ(denied.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(denied.message().find("WATTLAB_TOKEN"), std::string::npos) << denied.message();

  server_->stop();
  Status down = connect()->check_reachable();
  EXPECT_EQ(down.code(), Status::Code::kUnavailable);
  EXPECT_NE(down.message().find(uri_), std::string::npos) << down.message();

  EXPECT_EQ(RestRunLogger::connect("https://example.org").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(RestRunLogger::connect("http://host:5000/mlflow").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(RestRunLogger::connect("localhost:5000").status().code(), Status::Code::kInvalidArgument);
  for (const char* bad : {"http://h:99999", "http://h:5x", "http://h:", "http://:5000"}) {
    EXPECT_EQ(RestRunLogger::connect(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(is_http_tracking_uri("http://h:1"));
  EXPECT_FALSE(is_http_tracking_uri("sqlite:///x.db"));
}

}  // namespace
}  // namespace wattlab
