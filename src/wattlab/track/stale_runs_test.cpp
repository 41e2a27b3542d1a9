#include "wattlab/track/stale_runs.h"

#include <gtest/gtest.h>

#include "wattlab/track/client.h"
#include "wattlab/track/store_test_backend.h"

namespace wattlab {
namespace {

class StaleRunsTest : public StoreBackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, StaleRunsTest, ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres),
                         store_backend_name);

// Of four RUNNING runs, only the one whose heartbeat is older than the limit
// ends KILLED, at its last heartbeat, saying when it was last seen; a run
// without a heartbeat (an MLflow client's) and a finished one are left alone.
TEST_P(StaleRunsTest, OnlyRunsWithAnOldHeartbeatEndKilledAtTheirLastBeat) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto run = [&](const std::string& name, std::optional<int64_t> beat_ms) {
    auto created = store->create_run("0", name, kT0);
    EXPECT_TRUE(created.ok());
    if (beat_ms) {
      EXPECT_TRUE(store->log_batch(created->run_id, {}, {}, {{kHeartbeatTag, std::to_string(*beat_ms)}}).ok());
    }
    return created->run_id;
  };
  const int64_t now = kT0 + 3'600'000;
  const std::string lost = run("lost", now - 120'000);
  const std::string alive = run("alive", now - 5'000);
  const std::string mlflow = run("mlflow", std::nullopt);
  const std::string done = run("done", now - 500'000);
  ASSERT_TRUE(store->update_run(done, RunStatus::kFinished, now - 400'000).ok());

  auto ended = end_stale_runs(*store, now, 60'000, std::nullopt);
  ASSERT_TRUE(ended.ok()) << ended.status().to_string();
  ASSERT_EQ(ended->size(), 1u);
  EXPECT_EQ(ended->front().run_id, lost);

  auto data = store->get_run(lost);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->info.status, RunStatus::kKilled);
  EXPECT_EQ(data->info.end_time_ms, now - 120'000);
  EXPECT_NE(data->tags.at("wattlab.stop_reason").find("last seen 2023-11-14 23:11:20 UTC"), std::string::npos)
      << data->tags.at("wattlab.stop_reason");
  EXPECT_EQ(store->get_run(alive)->info.status, RunStatus::kRunning);
  EXPECT_EQ(store->get_run(mlflow)->info.status, RunStatus::kRunning);
  EXPECT_EQ(store->get_run(done)->info.status, RunStatus::kFinished);
  // A second sweep finds nothing more.
  EXPECT_TRUE(end_stale_runs(*store, now, 60'000, std::nullopt)->empty());
}

}  // namespace
}  // namespace wattlab
