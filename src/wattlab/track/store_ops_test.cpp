// The store operations behind MLflow's REST API: experiment and run
// lifecycles, renames, tags, write-once params, value limits, paged history,
// and the schema migrations (SQLite's search indexes; both back ends' move of
// metrics to series). Every test but the SQLite-only migration runs against
// each back end (store_test_backend.h).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "wattlab/track/postgres_store.h"
#include "wattlab/track/sqlite_store.h"
#include "wattlab/track/store_test_backend.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

// The first row of `sql`, its integer columns, read from the SQLite file at
// `path` behind the store's back; empty when the query fails or has no row.
std::vector<int> sqlite_row(const std::string& path, const char* sql) {
  std::vector<int> row;
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(sqlite3_column_int(stmt, i));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return row;
}

class StoreOpsTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = open_store();
    ASSERT_TRUE(store_);
  }
  std::string new_run(const std::string& experiment_id = "0") {
    auto run = store_->create_run(experiment_id, "r", kT0);
    EXPECT_TRUE(run.ok()) << run.status().to_string();
    return run.ok() ? run->run_id : "";
  }
  std::unique_ptr<Store> store_;
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreOpsTest, ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres),
                         store_backend_name);

TEST_P(StoreOpsTest, ExperimentsAreCreatedOnceAndFoundByName) {
  auto id = store_->create_experiment("green", "/data/green", {{"team", "vision"}});
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto again = store_->create_experiment("green", "", {});
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(store_->create_experiment("", "", {}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->create_experiment("x", "", {{"bad;key", "v"}}).status().code(), Status::Code::kInvalidArgument);
  auto e = store_->get_experiment_by_name("green");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->experiment_id, *id);
  EXPECT_EQ(e->artifact_location, "/data/green");
  EXPECT_EQ(e->tags.at("team"), "vision");
  EXPECT_EQ(store_->get_experiment_by_name("nope").status().code(), Status::Code::kNotFound);
}

TEST_P(StoreOpsTest, RenameKeepsNamesUnique) {
  auto a = store_->create_experiment("a", "", {});
  auto b = store_->create_experiment("b", "", {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(store_->rename_experiment(*a, "b").code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(store_->rename_experiment(*a, "a2").ok());
  EXPECT_EQ(store_->get_experiment(*a)->name, "a2");
  EXPECT_EQ(store_->rename_experiment("999", "z").code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->rename_experiment(*a, "").code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreOpsTest, DeletingAnExperimentDeletesItsRunsAndRestoringRestoresThem) {
  auto exp = store_->create_experiment("doomed", "", {});
  ASSERT_TRUE(exp.ok());
  std::string run = new_run(*exp);
  ASSERT_TRUE(store_->delete_experiment(*exp).ok());
  EXPECT_EQ(store_->get_experiment(*exp)->lifecycle_stage, "deleted");
  EXPECT_EQ(store_->get_run(run)->info.lifecycle_stage, "deleted");
  EXPECT_EQ(store_->delete_experiment(*exp).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->create_run(*exp, "x", kT0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->rename_experiment(*exp, "y").code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(store_->restore_experiment(*exp).ok());
  EXPECT_EQ(store_->get_run(run)->info.lifecycle_stage, "active");
  EXPECT_EQ(store_->restore_experiment(*exp).code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreOpsTest, ADeletedRunKeepsItsDataButTakesNoWrites) {
  std::string run = new_run();
  ASSERT_TRUE(store_->log_batch(run, {{"loss", 1.0, kT0, 0}}, {}, {}).ok());
  ASSERT_TRUE(store_->delete_run(run).ok());
  EXPECT_EQ(store_->log_batch(run, {{"loss", 0.5, kT0, 1}}, {}, {}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->update_run_info(run, {}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->get_run(run)->latest_metrics.at("loss").value, 1.0);
  ASSERT_TRUE(store_->restore_run(run).ok());
  EXPECT_TRUE(store_->log_batch(run, {{"loss", 0.5, kT0, 1}}, {}, {}).ok());
  EXPECT_EQ(store_->delete_run("0123456789abcdef0123456789abcdef").code(), Status::Code::kNotFound);
}

// claim_run: a compare-and-set on one tag (run leases, run_lease.h).
TEST_P(StoreOpsTest, ClaimRunSwapsATagOnlyIfItHoldsWhatWasRead) {
  std::string run = new_run();
  ASSERT_TRUE(store_->update_run(run, RunStatus::kFinished, kT0 + 100).ok());
  ASSERT_TRUE(store_->claim_run(run, "lease", std::nullopt, {{"lease", "a"}, {"beat", "1"}}).ok());
  auto claimed = store_->get_run(run);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->info.status, RunStatus::kRunning);
  EXPECT_FALSE(claimed->info.end_time_ms.has_value());
  EXPECT_EQ(claimed->tags.at("lease"), "a");
  EXPECT_EQ(claimed->tags.at("beat"), "1");
  ASSERT_TRUE(store_->update_run(run, RunStatus::kKilled, kT0 + 200).ok());
  // Expecting no tag, or another value: refused, nothing written.
  for (const std::optional<std::string>& stale : {std::optional<std::string>(), std::optional<std::string>("b")}) {
    Status refused = store_->claim_run(run, "lease", stale, {{"lease", "c"}, {"beat", "2"}});
    EXPECT_EQ(refused.code(), Status::Code::kAlreadyExists);
    EXPECT_NE(refused.message().find("run " + run + ": its lease tag changed"), std::string::npos) << refused.message();
  }
  auto untouched = store_->get_run(run);
  EXPECT_EQ(untouched->info.status, RunStatus::kKilled);
  EXPECT_EQ(untouched->info.end_time_ms, kT0 + 200);
  EXPECT_EQ(untouched->tags.at("lease"), "a");
  EXPECT_EQ(untouched->tags.at("beat"), "1");
  EXPECT_TRUE(store_->claim_run(run, "lease", "a", {{"lease", "c"}}).ok());
  EXPECT_EQ(store_->get_run(run)->tags.at("lease"), "c");
  EXPECT_EQ(store_->claim_run("ffffffffffffffffffffffffffffffff", "lease", std::nullopt, {}).code(),
            Status::Code::kNotFound);
  ASSERT_TRUE(store_->delete_run(run).ok());
  EXPECT_EQ(store_->claim_run(run, "lease", "c", {{"lease", "d"}}).code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreOpsTest, UpdateChangesOnlyWhatIsGivenAndRenamesTheTag) {
  std::string run = new_run();
  RunUpdate u;
  u.status = RunStatus::kFinished;
  u.end_time_ms = kT0 + 500;
  auto info = store_->update_run_info(run, u);
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->status, RunStatus::kFinished);
  EXPECT_EQ(info->end_time_ms, kT0 + 500);
  EXPECT_EQ(info->run_name, "r");
  RunUpdate rename;
  rename.run_name = "renamed";
  info = store_->update_run_info(run, rename);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, RunStatus::kFinished);
  EXPECT_EQ(info->end_time_ms, kT0 + 500);
  EXPECT_EQ(info->run_name, "renamed");
  EXPECT_EQ(store_->get_run(run)->tags.at("mlflow.runName"), "renamed");
  EXPECT_EQ(store_->update_run_info("ffffffffffffffffffffffffffffffff", u).status().code(), Status::Code::kNotFound);
}

TEST_P(StoreOpsTest, ParamsAreWriteOnceAndValuesAreBounded) {
  std::string run = new_run();
  ASSERT_TRUE(store_->log_batch(run, {}, {{"lr", "0.1"}}, {}).ok());
  EXPECT_TRUE(store_->log_batch(run, {}, {{"lr", "0.1"}}, {}).ok());
  Status changed = store_->log_batch(run, {{"m", 1, kT0, 0}}, {{"lr", "0.2"}}, {});
  EXPECT_EQ(changed.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(changed.message().find("write-once"), std::string::npos) << changed.message();
  EXPECT_EQ(store_->get_run(run)->latest_metrics.count("m"), 0u) << "a failed batch writes nothing";
  EXPECT_TRUE(store_->log_batch(run, {}, {{"p", std::string(6000, 'v')}}, {}).ok());
  EXPECT_EQ(store_->log_batch(run, {}, {{"q", std::string(6001, 'v')}}, {}).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(store_->log_batch(run, {}, {}, {{"t", std::string(5000, 'v')}}).ok());
  EXPECT_EQ(store_->log_batch(run, {}, {}, {{"u", std::string(5001, 'v')}}).code(), Status::Code::kInvalidArgument);
}

TEST(StoreLimits, BatchSizeLimitsAreMlflows) {
  EXPECT_TRUE(validate_batch_size(1000, 0, 0).ok());
  EXPECT_FALSE(validate_batch_size(1001, 0, 0).ok());
  EXPECT_TRUE(validate_batch_size(0, 100, 100).ok());
  EXPECT_FALSE(validate_batch_size(0, 101, 0).ok());
  EXPECT_FALSE(validate_batch_size(0, 0, 101).ok());
  EXPECT_TRUE(validate_batch_size(800, 100, 100).ok());
  EXPECT_FALSE(validate_batch_size(801, 100, 100).ok());
}

TEST_P(StoreOpsTest, DeleteTagRemovesOnlyThatTag) {
  std::string run = new_run();
  ASSERT_TRUE(store_->log_batch(run, {}, {}, {{"a", "1"}, {"b", "2"}}).ok());
  ASSERT_TRUE(store_->delete_tag(run, "a").ok());
  auto data = store_->get_run(run);
  EXPECT_EQ(data->tags.count("a"), 0u);
  EXPECT_EQ(data->tags.at("b"), "2");
  EXPECT_EQ(store_->delete_tag(run, "a").code(), Status::Code::kNotFound);
}

TEST_P(StoreOpsTest, MetricHistoryPagesInStepOrder) {
  std::string run = new_run();
  std::vector<Metric> points;
  for (int i = 9; i >= 0; --i) points.push_back({"loss", static_cast<double>(i), kT0 + i, i});
  ASSERT_TRUE(store_->log_batch(run, points, {}, {}).ok());
  std::vector<int64_t> steps;
  std::string token;
  int pages = 0;
  do {
    auto page = store_->get_metric_history_page(run, "loss", 4, token);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    for (const auto& m : page->metrics) steps.push_back(m.step);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(store_->get_metric_history_page(run, "loss", 0, "").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->get_metric_history_page(run, "loss", 4, "garbage").status().code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreOpsTest, SampledHistoryTakesTheFirstPointOfEachStepRange) {
  std::string run = new_run();
  std::vector<Metric> points;
  for (int step = 0; step < 100'000; ++step) points.push_back({"loss", 1.0 / (step + 1), kT0 + step, step});
  points.push_back({"loss", 42.0, kT0 + 50'000, 50'000});  // a second point at one step: the first logged is taken
  ASSERT_TRUE(store_->log_batch(run, points, {}, {}).ok());
  auto sampled = store_->get_metric_history_sampled(run, "loss", 100);
  ASSERT_TRUE(sampled.ok()) << sampled.status().to_string();
  ASSERT_EQ(sampled->size(), 100u);
  for (size_t r = 0; r < sampled->size(); ++r) {
    EXPECT_EQ((*sampled)[r].step, static_cast<int64_t>(r) * 1000);
    EXPECT_DOUBLE_EQ((*sampled)[r].value, 1.0 / ((*sampled)[r].step + 1));
    EXPECT_EQ((*sampled)[r].key, "loss");
  }
  // Empty ranges are skipped; steps 0 and 7 share the first of 1000 ranges.
  ASSERT_TRUE(store_->log_batch(run, {{"sparse", 1, kT0, 0}, {"sparse", 2, kT0, 7}, {"sparse", 3, kT0, 1'000'000}},
                                {}, {}).ok());
  auto sparse = store_->get_metric_history_sampled(run, "sparse", 1000);
  ASSERT_TRUE(sparse.ok());
  ASSERT_EQ(sparse->size(), 2u);
  EXPECT_EQ((*sparse)[0].step, 0);
  EXPECT_EQ((*sparse)[1].step, 1'000'000);
  // One point per step: max_points as large as the history returns all of it.
  auto all = store_->get_metric_history_sampled(run, "loss", 100'000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100'000u);
  EXPECT_TRUE(store_->get_metric_history_sampled(run, "never", 10)->empty());
  EXPECT_EQ(store_->get_metric_history_sampled(run, "loss", 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->get_metric_history_sampled("0123456789abcdef0123456789abcdef", "loss", 10).status().code(),
            Status::Code::kNotFound);
}

// Points logged out of order — into the middle of earlier batches, one at a
// time, tying earlier points, before the first and after the last — read
// back in (step, timestamp, logging order) order through every read: the full
// history, keyset pages, the sampled history and the latest value. (SQLite
// keeps points in chunks of up to 256: these batches land inside chunks and
// make them be rewritten.)
TEST_P(StoreOpsTest, OutOfOrderPointsReadBackInOrderEveryWay) {
  const std::string run = new_run();
  struct Logged {
    int64_t step, timestamp_ms;
    int order;  // logging order; also the value
  };
  std::vector<Logged> logged;
  auto log = [&](const std::vector<std::pair<int64_t, int64_t>>& steps_and_times) {
    std::vector<Metric> batch;
    for (const auto& [step, t] : steps_and_times) {
      const int order = static_cast<int>(logged.size());
      logged.push_back({step, t, order});
      batch.push_back({"loss", static_cast<double>(order), t, step});
    }
    const Status s = store_->log_batch(run, batch, {}, {});
    ASSERT_TRUE(s.ok()) << s.to_string();
  };
  std::vector<std::pair<int64_t, int64_t>> batch;
  for (int64_t step = 0; step < 2000; step += 2) batch.push_back({step, kT0 + step});
  log(batch);  // even steps 0..1998
  batch.clear();
  for (int64_t step = 1999; step > 1000; step -= 2) batch.push_back({step, kT0 + step});
  log(batch);  // odd steps 1999..1001, backwards, between the even ones
  uint32_t lcg = 12345;
  std::set<int64_t> odd_taken;
  while (odd_taken.size() < 60) {
    lcg = lcg * 1103515245u + 12345u;
    const int64_t step = 2 * static_cast<int64_t>((lcg >> 8) % 500) + 1;  // odd, 1..999
    if (odd_taken.insert(step).second) log({{step, kT0 + step}});
  }
  log({{500, kT0 + 500}, {500, kT0 + 500}, {500, kT0}});  // ties with step 500's point, and one before it
  log({{3000, kT0}, {3001, kT0}});                        // after the last point
  log({{-3, kT0}, {-1, kT0}, {-2, kT0}});                 // before the first
  ASSERT_FALSE(HasFailure());

  std::vector<Logged> expected = logged;
  std::stable_sort(expected.begin(), expected.end(), [](const Logged& a, const Logged& b) {
    return std::tie(a.step, a.timestamp_ms) < std::tie(b.step, b.timestamp_ms);
  });
  auto matches = [&](const std::vector<Metric>& got) {
    if (got.size() != expected.size()) return testing::AssertionFailure() << got.size() << " points";
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].step != expected[i].step || got[i].timestamp_ms != expected[i].timestamp_ms ||
          got[i].value != expected[i].order) {
        return testing::AssertionFailure() << "point " << i << " is step " << got[i].step << " value " << got[i].value
                                           << ", expected step " << expected[i].step << " value " << expected[i].order;
      }
    }
    return testing::AssertionSuccess();
  };
  auto history = store_->get_metric_history(run, "loss");
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  EXPECT_TRUE(matches(*history));

  std::vector<Metric> paged;
  std::string token;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = store_->get_metric_history_page(run, "loss", 37, token);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    paged.insert(paged.end(), page->metrics.begin(), page->metrics.end());
    token = page->next_page_token;
    if (token.empty()) break;
  }
  EXPECT_TRUE(matches(paged));

  // Sampled: one point per step range that has any (steps 2000..2999 have
  // none), increasing steps, each the first point of its step, from the very
  // first point on.
  auto sampled = store_->get_metric_history_sampled(run, "loss", 100);
  ASSERT_TRUE(sampled.ok()) << sampled.status().to_string();
  const int64_t span = expected.back().step - expected.front().step + 1;
  std::set<int64_t> ranges;
  for (const Logged& l : expected) ranges.insert((l.step - expected.front().step) * 100 / span);
  ASSERT_EQ(sampled->size(), ranges.size());
  EXPECT_EQ(sampled->front().value, expected.front().order);
  for (size_t i = 0; i < sampled->size(); ++i) {
    const Metric& m = (*sampled)[i];
    if (i > 0) {
      EXPECT_GT(m.step, (*sampled)[i - 1].step);
    }
    auto first_of_step = std::find_if(expected.begin(), expected.end(), [&](const Logged& l) { return l.step == m.step; });
    ASSERT_NE(first_of_step, expected.end());
    EXPECT_EQ(m.value, first_of_step->order) << "step " << m.step;
  }
  EXPECT_EQ(sampled->back().step, 3000);  // 3000 and 3001 share the last range
  auto data = store_->get_run(run);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->latest_metrics.at("loss").step, 3001);
  EXPECT_EQ(data->latest_metrics.at("loss").value, logged[logged.size() - 4].order);
}

TEST_P(StoreOpsTest, SearchExperimentsFiltersOrdersAndPages) {
  for (const char* name : {"b-exp", "a-exp", "c-other"}) {
    clock_.advance_ms(10);
    ASSERT_TRUE(store_->create_experiment(name, "", {}).ok());
  }
  SearchExperimentsOptions o;
  o.filter = "name LIKE '%-exp'";
  auto page = store_->search_experiments(o);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->experiments.size(), 2u);
  EXPECT_EQ(page->experiments[0].name, "a-exp");  // newest first
  o.filter = "";
  o.order_by = {"name ASC"};
  o.max_results = 2;
  page = store_->search_experiments(o);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->experiments[0].name, "Default");
  EXPECT_EQ(page->experiments[1].name, "a-exp");
  ASSERT_FALSE(page->next_page_token.empty());
  o.page_token = page->next_page_token;
  page = store_->search_experiments(o);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->experiments[0].name, "b-exp");
  o.order_by = {"metrics.x"};
  EXPECT_EQ(store_->search_experiments(o).status().code(), Status::Code::kInvalidArgument);
}

TEST(StoreMigration, AVersionOneSqliteStoreGainsTheSearchIndexes) {
  const fs::path dir = fs::temp_directory_path() / ("wattlab_migration_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "old.db").string();
  ASSERT_TRUE(SqliteStore::create_at_schema_version(path, 1).ok());
  EXPECT_EQ(SqliteStore::create_at_schema_version(path, 0).code(), Status::Code::kInvalidArgument);
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_EQ(*(*store)->schema_version(), SqliteStore::latest_schema_version());
  }
  EXPECT_EQ(sqlite_row(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                             "('metric_series_by_key_value', 'runs_by_lifecycle')"),
            std::vector<int>{2});
  fs::remove_all(dir);
}

// A SQLite store of schema 3 (a row of metric_points per point), filled
// behind the store's back: opening it packs every point into metric_chunks,
// keeping values bit for bit (NaN included), the order, the seqs that page
// tokens name, and the count; metric_points is gone and new points go after
// the old ones.
TEST(StoreMigration, ASchemaThreeSqliteStoreMovesItsPointsIntoChunks) {
  const fs::path dir = fs::temp_directory_path() / ("wattlab_migration3_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "old.db").string();
  ASSERT_TRUE(SqliteStore::create_at_schema_version(path, 3).ok());
  const std::string run(32, 'c');
  constexpr int64_t kT0 = 1'700'000'000'000;
  constexpr int kPoints = 600;  // more than two chunks' worth
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::string sql = "BEGIN; INSERT INTO runs (run_id, experiment_id, run_name, status, start_time_ms, "
                      "lifecycle_stage, artifact_uri) VALUES ('" + run + "', 0, 'old', 'FINISHED', 0, 'active', '/c');"
                      "INSERT INTO metric_series (series_id, run_id, key, value, timestamp_ms, step, points) VALUES "
                      "(7, '" + run + "', 'loss', 0.5, " + std::to_string(kT0) + ", " + std::to_string(kPoints - 1) +
                      ", " + std::to_string(kPoints) + "), (8, '" + run + "', 'acc', NULL, 5, 0, 1);"
                      "INSERT INTO metric_points (series_id, step, timestamp_ms, seq, value) VALUES (8, 0, 5, 0, NULL);";
    // Logged backwards: seq runs against the step order.
    for (int i = 0; i < kPoints; ++i) {
      sql += "INSERT INTO metric_points (series_id, step, timestamp_ms, seq, value) VALUES (7, " + std::to_string(i) +
             ", " + std::to_string(kT0) + ", " + std::to_string(kPoints - 1 - i) + ", " + std::to_string(i) + ".25);";
    }
    sql += "COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    EXPECT_EQ(*(*store)->schema_version(), SqliteStore::latest_schema_version());
    auto history = (*store)->get_metric_history(run, "loss");
    ASSERT_TRUE(history.ok()) << history.status().to_string();
    ASSERT_EQ(history->size(), static_cast<size_t>(kPoints));
    for (int i = 0; i < kPoints; ++i) {
      EXPECT_EQ((*history)[i].step, i);
      EXPECT_EQ((*history)[i].value, i + 0.25);
    }
    auto acc = (*store)->get_metric_history(run, "acc");
    ASSERT_TRUE(acc.ok());
    ASSERT_EQ(acc->size(), 1u);
    EXPECT_TRUE(std::isnan((*acc)[0].value));
    // A page token carries (step, timestamp, seq): the migrated seqs page on.
    auto page = (*store)->get_metric_history_page(run, "loss", 300, "");
    ASSERT_TRUE(page.ok());
    auto next = (*store)->get_metric_history_page(run, "loss", 300, page->next_page_token);
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    ASSERT_EQ(next->metrics.size(), 300u);
    EXPECT_EQ(next->metrics.front().step, 300);
    // A new point at an old step and timestamp has the highest seq: it goes last of its step.
    ASSERT_TRUE((*store)->log_batch(run, {{"loss", 9.0, kT0, 10}}, {}, {}).ok());
    auto after = (*store)->get_metric_history(run, "loss");
    ASSERT_TRUE(after.ok());
    ASSERT_EQ(after->size(), static_cast<size_t>(kPoints + 1));
    EXPECT_EQ((*after)[10].value, 10.25);
    EXPECT_EQ((*after)[11].value, 9.0);
    EXPECT_EQ((*after)[12].value, 11.25);
  }
  // metric_points is gone. 600 points went in as 256 + 256 + 88; the new
  // point landed in the first chunk, which split into two.
  EXPECT_EQ(sqlite_row(path, "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'metric_points'), "
                             "(SELECT count(*) FROM metric_chunks WHERE series_id = 7)"),
            (std::vector<int>{0, 4}));
  fs::remove_all(dir);
}

// A store written before metrics moved to metric_series / metric_points
// (SQLite schema 2, PostgreSQL schema 1), filled behind the store's back in
// that old layout: opening it converts every point, keeping the history order
// (a tie in step and timestamp stays in logging order), the latest values and
// what a metric filter finds; new points then go after the old ones.
class StoreMetricMigrationTest : public StoreBackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, StoreMetricMigrationTest,
                         ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres), store_backend_name);

TEST_P(StoreMetricMigrationTest, AnOldStoreKeepsEveryMetricPointInOrder) {
  const Status created = GetParam() == StoreBackend::kSqlite
                             ? SqliteStore::create_at_schema_version(location_->location(), 2)
                             : PostgresStore::create_at_schema_version(location_->location(), 1);
  ASSERT_TRUE(created.ok()) << created.to_string();
  const std::string a(32, 'a'), b(32, 'b');
  const std::string t0 = std::to_string(kT0);
  raw_sql("INSERT INTO runs (run_id, experiment_id, run_name, status, start_time_ms, lifecycle_stage, artifact_uri) "
          "VALUES ('" + a + "', 0, 'old', 'FINISHED', " + t0 + ", 'active', '/a'), ('" + b +
          "', 0, 'other', 'FINISHED', " + t0 + ", 'active', '/b')");
  raw_sql("INSERT INTO metrics (run_id, key, value, timestamp_ms, step) VALUES "
          "('" + a + "', 'loss', 0.9, " + t0 + " + 5, 1), ('" + a + "', 'loss', 0.5, " + t0 + " + 1, 0), "
          "('" + a + "', 'loss', 0.7, " + t0 + " + 5, 1), ('" + a + "', 'acc', 0.25, " + t0 + ", 0), "
          "('" + b + "', 'loss', 0.3, " + t0 + ", 0)");
  raw_sql("INSERT INTO latest_metrics (run_id, key, value, timestamp_ms, step) VALUES "
          "('" + a + "', 'loss', 0.7, " + t0 + " + 5, 1), ('" + a + "', 'acc', 0.25, " + t0 + ", 0), "
          "('" + b + "', 'loss', 0.3, " + t0 + ", 0)");

  auto store = open_store();
  ASSERT_TRUE(store);
  auto values = [&](const std::string& run_id, const std::string& key) {
    std::vector<double> out;
    auto history = store->get_metric_history(run_id, key);
    EXPECT_TRUE(history.ok()) << history.status().to_string();
    if (history.ok())
      for (const auto& m : *history) out.push_back(m.value);
    return out;
  };
  EXPECT_EQ(values(a, "loss"), (std::vector<double>{0.5, 0.9, 0.7}));
  EXPECT_EQ(values(a, "acc"), (std::vector<double>{0.25}));
  EXPECT_EQ(values(b, "loss"), (std::vector<double>{0.3}));
  auto run = store->get_run(a);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->latest_metrics.at("loss").value, 0.7);
  EXPECT_EQ(run->latest_metrics.at("loss").step, 1);
  EXPECT_EQ(run->latest_metrics.at("acc").value, 0.25);

  SearchRunsOptions search;
  search.filter = "metrics.loss < 0.6";
  auto found = store->search_runs(search);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  ASSERT_EQ(found->runs.size(), 1u);
  EXPECT_EQ(found->runs[0].info.run_id, b);

  // A point tying the old tie goes after it, and becomes the latest.
  ASSERT_TRUE(store->log_batch(a, {{"loss", 0.1, kT0 + 5, 1}}, {}, {}).ok());
  EXPECT_EQ(values(a, "loss"), (std::vector<double>{0.5, 0.9, 0.7, 0.1}));
  EXPECT_EQ(store->get_run(a)->latest_metrics.at("loss").value, 0.1);
  auto first = store->get_metric_history_page(a, "loss", 2, "");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_EQ(first->metrics.size(), 2u);
  auto second = store->get_metric_history_page(a, "loss", 2, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  ASSERT_EQ(second->metrics.size(), 2u);
  EXPECT_EQ(second->metrics[0].value, 0.7);
  EXPECT_EQ(second->metrics[1].value, 0.1);
}

}  // namespace
}  // namespace wattlab
