#include "wattlab/track/client.h"
#include "wattlab/track/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;

class TrackingClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("wattlab_client_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = Store::open((dir_ / "wattlab.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  TrackingClientOptions options() {
    TrackingClientOptions o;
    o.clock = &clock_;
    return o;
  }

  fs::path dir_;
  FakeClock clock_{0, kT0};
  std::unique_ptr<Store> store_;
};

TEST_F(TrackingClientTest, TenThousandMetricsFromFourThreadsAllLandInStepOrder) {
  auto client = TrackingClient::start_run(store_.get(), "concurrency", "r", options());
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int step = 0; step < kPerThread; ++step) {
        // Every thread also writes to one shared key, so batches interleave.
        std::string key = step % 2 == 0 ? "loss/" + std::to_string(t) : "shared";
        ASSERT_TRUE((*client)->log_metric(key, t * 100000.0 + step + 0.5, t * kPerThread + step).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*client)->flush().ok());

  const std::string run_id = (*client)->run_id();
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    auto history = store_->get_metric_history(run_id, "loss/" + std::to_string(t));
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), static_cast<size_t>(kPerThread / 2));
    for (size_t i = 0; i < history->size(); ++i) {
      int step = static_cast<int>(2 * i);
      EXPECT_EQ((*history)[i].step, t * kPerThread + step);
      EXPECT_EQ((*history)[i].value, t * 100000.0 + step + 0.5);
    }
    total += history->size();
  }
  auto shared = store_->get_metric_history(run_id, "shared");
  ASSERT_TRUE(shared.ok());
  ASSERT_EQ(shared->size(), static_cast<size_t>(kThreads * kPerThread / 2));
  for (size_t i = 1; i < shared->size(); ++i) ASSERT_LT((*shared)[i - 1].step, (*shared)[i].step);
  total += shared->size();
  EXPECT_EQ(total, 10000u);

  auto data = store_->get_run(run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->latest_metrics.at("shared").step, kThreads * kPerThread - 1);
  EXPECT_EQ(data->latest_metrics.at("shared").value, 3 * 100000.0 + 2499 + 0.5);
}

TEST_F(TrackingClientTest, EndRunRecordsStatusAndEndTimeThenRefusesMoreLogs) {
  auto client = TrackingClient::start_run(store_.get(), "lifecycle", "short run", options());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->log_param("epochs", "3").ok());
  ASSERT_TRUE((*client)->log_metric("acc", 0.75, 1).ok());
  clock_.advance_ms(5000);
  ASSERT_TRUE((*client)->end_run(RunStatus::kFailed).ok());

  auto data = store_->get_run((*client)->run_id());
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->info.run_name, "short run");
  EXPECT_EQ(data->info.status, RunStatus::kFailed);
  EXPECT_EQ(data->info.start_time_ms, kT0);
  ASSERT_TRUE(data->info.end_time_ms.has_value());
  EXPECT_EQ(*data->info.end_time_ms, kT0 + 5000);
  EXPECT_EQ(data->params.at("epochs"), "3");
  EXPECT_EQ(data->latest_metrics.at("acc").value, 0.75);
  EXPECT_EQ(data->latest_metrics.at("acc").timestamp_ms, kT0);

  Status late = (*client)->log_metric("acc", 0.8, 2);
  EXPECT_EQ(late.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(late.message().find("ended"), std::string::npos);
}

TEST_F(TrackingClientTest, EnergyPowerEnvironmentAndTagsGoThroughTheWriter) {
  auto client = TrackingClient::start_run(store_.get(), "energy", "r", options());
  ASSERT_TRUE(client.ok());
  TrackingClient& c = **client;
  ASSERT_TRUE(c.set_tag("phase", "train").ok());
  ASSERT_TRUE(c.log_energy_window({"epoch 1", kT0, kT0 + 2000, 2.0, {{"package-0", 88.5, false}}}).ok());
  ASSERT_TRUE(c.log_power_samples({"package-0"}, {{kT0 + 100, {44.0}}, {kT0 + 200, {45.5}}}).ok());
  ASSERT_TRUE(c.set_environment({{"cpu_model", "Test CPU"}}).ok());
  EXPECT_EQ(c.log_power_samples({"a", "b"}, {{kT0, {1.0}}}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.set_tag("bad\nkey", "x").code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(c.flush().ok());

  auto data = store_->get_run(c.run_id());
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->tags.at("phase"), "train");
  EXPECT_EQ(data->environment.at("cpu_model"), "Test CPU");
  ASSERT_EQ(data->energy_windows.size(), 1u);
  EXPECT_EQ(data->energy_windows[0].name, "epoch 1");
  EXPECT_EQ(data->energy_windows[0].energy_j(), 88.5);
  auto power = store_->get_power_samples(c.run_id());
  ASSERT_TRUE(power.ok());
  ASSERT_EQ(power->samples.size(), 2u);
  EXPECT_EQ(power->samples[1].timestamp_ms, kT0 + 200);
  EXPECT_EQ(power->samples[1].power_w[0], 45.5);
}

TEST_F(TrackingClientTest, ParamConflictsAreReportedWithoutLosingMetrics) {
  auto exp = store_->get_or_create_experiment("params");
  ASSERT_TRUE(exp.ok());
  auto run = store_->create_run(*exp, "r", kT0);
  ASSERT_TRUE(run.ok());
  // Another writer fixed lr first.
  ASSERT_TRUE(store_->log_batch(run->run_id, {}, {{"lr", "0.1"}}, {}).ok());

  TrackingClient client(store_.get(), run->run_id, options());
  ASSERT_TRUE(client.log_param("batch_size", "32").ok());
  ASSERT_TRUE(client.log_param("batch_size", "32").ok());
  Status local = client.log_param("batch_size", "64");
  EXPECT_EQ(local.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(local.message().find("batch_size"), std::string::npos);

  ASSERT_TRUE(client.log_param("lr", "0.5").ok());  // the conflict is only found by the writer
  ASSERT_TRUE(client.log_metric("loss", 1.5, 0).ok());
  Status flushed = client.flush();
  EXPECT_EQ(flushed.code(), Status::Code::kInvalidArgument) << flushed.to_string();
  EXPECT_NE(flushed.message().find("'lr'"), std::string::npos) << flushed.message();
  EXPECT_TRUE(client.flush().ok()) << "each failure is reported once";

  auto data = store_->get_run(run->run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->params, (std::map<std::string, std::string>{{"lr", "0.1"}, {"batch_size", "32"}}));
  EXPECT_EQ(data->latest_metrics.at("loss").value, 1.5);
}

TEST_F(TrackingClientTest, DestructorFlushesAndTheWriterRunsWithoutFlush) {
  std::string run_id;
  {
    auto client = TrackingClient::start_run(store_.get(), "dtor", "r", options());
    ASSERT_TRUE(client.ok());
    run_id = (*client)->run_id();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*client)->log_metric("x", i, i).ok());
    // The writer writes on its own within flush_interval_ms.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    size_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      auto h = store_->get_metric_history(run_id, "x");
      ASSERT_TRUE(h.ok());
      seen = h->size();
      if (seen == 10) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(seen, 10u);
    for (int i = 10; i < 20; ++i) ASSERT_TRUE((*client)->log_metric("x", i, i).ok());
  }
  auto history = store_->get_metric_history(run_id, "x");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 20u);
  EXPECT_EQ(history->back().value, 19.0);
  auto data = store_->get_run(run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->info.status, RunStatus::kRunning) << "destruction flushes but does not end the run";
}

// A client with a heartbeat stamps the run's kHeartbeatTag at the start and
// again once the interval has passed on its clock; without one, never.
TEST_F(TrackingClientTest, HeartbeatTagFollowsTheClock) {
  auto run = store_->create_run("0", "beating", kT0);
  ASSERT_TRUE(run.ok());
  TrackingClientOptions o = options();
  o.flush_interval_ms = 5;
  o.heartbeat_interval_ms = 10000;
  {
    TrackingClient client(store_.get(), run->run_id, o);
    auto beat = [&] {
      EXPECT_TRUE(client.flush().ok());
      auto data = store_->get_run(run->run_id);
      return data.ok() && data->tags.count(kHeartbeatTag) ? data->tags.at(kHeartbeatTag) : std::string();
    };
    for (int i = 0; i < 400 && beat().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(beat(), std::to_string(kT0));
    clock_.advance_ms(9000);  // within the interval: no new beat
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(beat(), std::to_string(kT0));
    clock_.advance_ms(2000);
    for (int i = 0; i < 400 && beat() == std::to_string(kT0); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(beat(), std::to_string(kT0 + 11000));
    ASSERT_TRUE(client.end_run().ok());
  }
  auto quiet = store_->create_run("0", "quiet", kT0);
  ASSERT_TRUE(quiet.ok());
  {
    TrackingClient client(store_.get(), quiet->run_id, options());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(client.end_run().ok());
  }
  EXPECT_EQ(store_->get_run(quiet->run_id)->tags.count(kHeartbeatTag), 0u);
}

}  // namespace
}  // namespace wattlab
