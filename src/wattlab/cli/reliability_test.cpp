// Reliability of the store under many writers and a crashing server: the
// guarantees a team relies on when 16 training processes log at once.
//   - 16 processes logging 10,000 points each through one `wattlab server`:
//     every point lands, no client sees a lock error;
//   - 16 processes writing the same SQLite file directly: the same;
//   - `kill -9` of the server during ingest: the file passes PRAGMA
//     integrity_check and holds every batch the server acknowledged;
//   - ten of them in a row, each while 8 clients log, every client resuming
//     after the last point the store holds (issue 21).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "wattlab/cli/server_process_testing.h"
#include "wattlab/server/rest_run_logger.h"
#include "wattlab/track/store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int kProcesses = 16;
constexpr int kPointsPerProcess = 10'000;
constexpr int kPointsPerBatch = 500;

// Logs kPointsPerProcess points of metric "loss" into a new run of
// experiment "load" in batches; returns 0 on success, 1 on the first error
// (printed).
int log_points(RunLogger& logger) {
  auto experiment = logger.get_or_create_experiment("load");
  if (!experiment.ok()) return std::fprintf(stderr, "%s\n", experiment.status().to_string().c_str()), 1;
  auto run = logger.create_run(*experiment, "pid" + std::to_string(getpid()), 1);
  if (!run.ok()) return std::fprintf(stderr, "%s\n", run.status().to_string().c_str()), 1;
  for (int start = 0; start < kPointsPerProcess; start += kPointsPerBatch) {
    std::vector<Metric> batch;
    for (int step = start; step < start + kPointsPerBatch; ++step) batch.push_back({"loss", 1.0 / (step + 1), 1000 + step, step});
    Status s = logger.log_batch(run->run_id, batch, {}, {});
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  }
  return logger.update_run(run->run_id, RunStatus::kFinished, 2).ok() ? 0 : 1;
}

// Runs `body` in kProcesses forked processes at once; their exit codes.
template <typename Body>
std::vector<int> in_processes(Body body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(body());
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

class ReliabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_reliability_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    store_path_ = (dir_ / "runs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Every run of experiment "load" holds all kPointsPerProcess points, in order.
  void expect_every_point(int runs_expected) {
    auto store = Store::open(store_path_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto runs = (*store)->list_runs({.experiment_name = "load", .limit = 0});
    ASSERT_TRUE(runs.ok()) << runs.status().to_string();
    ASSERT_EQ(static_cast<int>(runs->size()), runs_expected);
    for (const auto& info : *runs) {
      EXPECT_EQ(info.status, RunStatus::kFinished) << info.run_id;
      auto history = (*store)->get_metric_history(info.run_id, "loss");
      ASSERT_TRUE(history.ok());
      ASSERT_EQ(static_cast<int>(history->size()), kPointsPerProcess) << info.run_id;
      for (int step = 0; step < kPointsPerProcess; ++step) ASSERT_EQ((*history)[step].step, step);
    }
  }

  fs::path dir_;
  std::string store_path_;
};

TEST_F(ReliabilityTest, SixteenProcessesLogThroughOneServer) {
  testing::ServerProcess server(dir_, store_path_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  auto codes = in_processes([&] {
    auto logger = RestRunLogger::connect(server.uri());
    return logger.ok() ? log_points(**logger) : 1;
  });
  for (int code : codes) EXPECT_EQ(code, 0) << "a client saw an error (printed above)";
  server.stop(SIGTERM);
  expect_every_point(kProcesses);
}

TEST_F(ReliabilityTest, SixteenProcessesWriteTheSameFileDirectly) {
  { ASSERT_TRUE(Store::open(store_path_).ok()); }  // created once, as a user's first command would
  auto codes = in_processes([&] {
    auto store = Store::open(store_path_);
    return store.ok() ? log_points(**store) : 1;
  });
  for (int code : codes) EXPECT_EQ(code, 0) << "a writer saw an error (printed above)";
  expect_every_point(kProcesses);
}

TEST_F(ReliabilityTest, KillNineDuringIngestKeepsEveryAcknowledgedBatch) {
  std::string run_id;
  std::atomic<int> acknowledged{0};
  {
    testing::ServerProcess server(dir_, store_path_);
    ASSERT_FALSE(server.uri().empty()) << server.output();
    auto logger = RestRunLogger::connect(server.uri());
    ASSERT_TRUE(logger.ok());
    auto experiment = (*logger)->get_or_create_experiment("crash");
    ASSERT_TRUE(experiment.ok());
    auto run = (*logger)->create_run(*experiment, "victim", 1);
    ASSERT_TRUE(run.ok());
    run_id = run->run_id;
    std::thread writer([&] {
      for (int batch = 0;; ++batch) {
        std::vector<Metric> points;
        for (int k = 0; k < kPointsPerBatch; ++k) {
          const int step = batch * kPointsPerBatch + k;
          points.push_back({"loss", static_cast<double>(step), step, step});
        }
        if (!(*logger)->log_batch(run_id, points, {}, {}).ok()) return;  // the server is gone
        acknowledged = batch + 1;
      }
    });
    while (acknowledged < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop(SIGKILL);  // mid-ingest: a batch is almost always in flight
    writer.join();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(store_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close(db);

  auto store = Store::open(store_path_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto history = (*store)->get_metric_history(run_id, "loss");
  ASSERT_TRUE(history.ok());
  const int acked_points = acknowledged * kPointsPerBatch;
  ASSERT_GE(static_cast<int>(history->size()), acked_points);
  // Batches are atomic: whatever landed is whole batches, in order.
  EXPECT_EQ(history->size() % kPointsPerBatch, 0u);
  for (int step = 0; step < static_cast<int>(history->size()); ++step) ASSERT_EQ((*history)[step].step, step);
}

// PRAGMA integrity_check of the store file: "ok", or what it found.
std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open " + path;
  }
  sqlite3_stmt* check = nullptr;
  std::string result = "cannot run integrity_check";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr) == SQLITE_OK &&
      sqlite3_step(check) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
  }
  sqlite3_finalize(check);
  sqlite3_close(db);
  return result;
}

TEST_F(ReliabilityTest, TenKillNinesDuringIngestFromEightClientsLoseNoAcknowledgedPoint) {
  constexpr int kKills = 10;
  constexpr int kClients = 8;
  constexpr int kBatch = 200;
  std::vector<std::string> runs(kClients);
  std::vector<int> stored(kClients, 0);  // points of each client's run in the store after the last kill
  for (int kill = 1; kill <= kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill));
    std::vector<int> acknowledged = stored;
    {
      testing::ServerProcess server(dir_, store_path_);
      ASSERT_FALSE(server.uri().empty()) << server.output();
      if (kill == 1) {
        auto logger = RestRunLogger::connect(server.uri());
        ASSERT_TRUE(logger.ok());
        auto experiment = (*logger)->get_or_create_experiment("kill-nine");
        ASSERT_TRUE(experiment.ok());
        for (int c = 0; c < kClients; ++c) {
          auto run = (*logger)->create_run(*experiment, "client" + std::to_string(c), 1);
          ASSERT_TRUE(run.ok()) << run.status().to_string();
          runs[c] = run->run_id;
        }
      }
      std::atomic<int> batches{0};
      std::vector<std::thread> clients;
      for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&, c] {
          auto logger = RestRunLogger::connect(server.uri());
          if (!logger.ok()) return;
          for (;;) {
            std::vector<Metric> points;
            for (int k = 0; k < kBatch; ++k) {
              const int step = acknowledged[c] + k;
              points.push_back({"loss", 1.0 / (step + 1), step, step});
            }
            if (!(*logger)->log_batch(runs[c], points, {}, {}).ok()) return;  // the server is gone
            acknowledged[c] += kBatch;
            ++batches;
          }
        });
      }
      // Kill after a few batches of every client, at a moment that varies.
      for (int i = 0; i < 1000 && batches < 3 * kClients; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::this_thread::sleep_for(std::chrono::milliseconds(7 * kill % 40));
      server.stop(SIGKILL);
      for (auto& t : clients) t.join();
      ASSERT_GE(batches.load(), 3 * kClients) << "too little ingest before the kill";
    }
    ASSERT_EQ(integrity_check(store_path_), "ok");
    auto store = Store::open(store_path_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int c = 0; c < kClients; ++c) {
      auto history = (*store)->get_metric_history(runs[c], "loss");
      ASSERT_TRUE(history.ok());
      const int have = static_cast<int>(history->size());
      // Every acknowledged point, each once and in order; at most the batch
      // in flight beyond them, and only whole.
      ASSERT_GE(have, acknowledged[c]) << "client " << c << " lost acknowledged points";
      ASSERT_LE(have, acknowledged[c] + kBatch) << "client " << c;
      ASSERT_EQ(have % kBatch, 0) << "client " << c << ": a batch landed in part";
      for (int step = 0; step < have; ++step) ASSERT_EQ((*history)[step].step, step) << "client " << c;
      stored[c] = have;  // the client resumes after what the store holds
    }
  }
}

}  // namespace
}  // namespace wattlab
