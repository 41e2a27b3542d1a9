// The Store contract, run against every back end (SQLite, and PostgreSQL
// when WATTLAB_TEST_POSTGRES_URI names a server: scripts/with_postgres.sh).
// Back-end-specific behaviour (files, WAL, URIs, connections) is tested in
// sqlite_store_test.cpp and postgres_store_test.cpp.
#include "wattlab/track/store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <thread>

#include "wattlab/track/postgres_store.h"
#include "wattlab/track/sqlite_store.h"
#include "wattlab/track/store_test_backend.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

using StoreTest = StoreBackendTest;
INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres),
                         store_backend_name);

TEST_P(StoreTest, EveryEntitySurvivesCloseAndReopen) {
  std::string run_id;
  std::string experiment_id;
  const double kInf = std::numeric_limits<double>::infinity();
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    auto exp = store->get_or_create_experiment("green-cv");
    ASSERT_TRUE(exp.ok()) << exp.status().to_string();
    experiment_id = *exp;
    EXPECT_EQ(experiment_id, "1");  // "Default" is 0
    auto again = store->get_or_create_experiment("green-cv");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, experiment_id);
    ASSERT_TRUE(store->set_experiment_tag(experiment_id, "owner", "ana").ok());

    clock_.advance_ms(1000);
    auto run = store->create_run(experiment_id, "mobilenet rep 1", kT0 + 123);
    ASSERT_TRUE(run.ok()) << run.status().to_string();
    run_id = run->run_id;
    EXPECT_EQ(run_id.size(), 32u);
    EXPECT_EQ(run->status, RunStatus::kRunning);
    EXPECT_FALSE(run->end_time_ms.has_value());

    std::vector<Metric> metrics = {
        {"loss", 2.5, kT0 + 200, 0},       {"loss", 1.25, kT0 + 300, 1},
        {"loss", 0.625, kT0 + 400, 2},     {"f1", 0.875, kT0 + 400, 2},
        {"grad_norm", std::nan(""), kT0 + 500, 2}, {"overflow", kInf, kT0 + 500, 2},
        {"delta", -1e-300, kT0 + 500, 7},
    };
    std::vector<Param> params = {{"lr", "0.001"}, {"batch_size", "64"}, {"model", "mobilenet_v2"}};
    std::vector<RunTag> tags = {{"mlflow.runName", "mobilenet rep 1"}, {"phase", "train"}};
    ASSERT_TRUE(store->log_batch(run_id, metrics, params, tags).ok());
    ASSERT_TRUE(store->log_batch(run_id, {}, {}, {{"phase", "done"}}).ok());  // tags overwrite

    std::vector<EnergyWindow> windows = {
        {"epoch 1", kT0 + 1000, kT0 + 61000, 60.0, {{"package-0", 1234.5, false}, {"gpu-0", 9876.25, false}}},
        {"eval", kT0 + 61000, kT0 + 66500, 5.5, {{"cpu-estimated", 42.0, true}}},
        {"idle", kT0 + 70000, kT0 + 70001, 0.001, {}},
    };
    ASSERT_TRUE(store->log_energy_windows(run_id, windows).ok());
    ASSERT_TRUE(store
                    ->log_power_samples(run_id, {"package-0", "gpu-0"},
                                        {{kT0 + 100, {35.5, 210.25}}, {kT0 + 200, {36.0, std::nan("")}},
                                         {kT0 + 300, {34.75, 199.0}}})
                    .ok());
    ASSERT_TRUE(store->set_environment(run_id, {{"cpu_model", "Xeon"}, {"seed", "7"}}).ok());
    ASSERT_TRUE(store->set_environment(run_id, {{"seed", "42"}, {"threads", "8"}}).ok());
    ASSERT_TRUE(store->update_run(run_id, RunStatus::kFinished, kT0 + 99'000).ok());
    if (GetParam() == StoreBackend::kSqlite) {
      EXPECT_TRUE(fs::exists(location_->location() + "-wal")) << "the store should run in WAL mode";
    }
  }

  auto store = open_store();
  ASSERT_TRUE(store);
  auto data = store->get_run(run_id);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  const RunInfo& info = data->info;
  EXPECT_EQ(info.run_id, run_id);
  EXPECT_EQ(info.experiment_id, experiment_id);
  EXPECT_EQ(info.run_name, "mobilenet rep 1");
  EXPECT_EQ(info.status, RunStatus::kFinished);
  EXPECT_EQ(info.start_time_ms, kT0 + 123);
  ASSERT_TRUE(info.end_time_ms.has_value());
  EXPECT_EQ(*info.end_time_ms, kT0 + 99'000);
  EXPECT_EQ(info.lifecycle_stage, "active");
  EXPECT_EQ(info.artifact_uri,
            location_->artifact_root() + "/1/" + run_id + "/artifacts");

  EXPECT_EQ(data->params, (std::map<std::string, std::string>{
                              {"lr", "0.001"}, {"batch_size", "64"}, {"model", "mobilenet_v2"}}));
  EXPECT_EQ(data->tags,
            (std::map<std::string, std::string>{{"mlflow.runName", "mobilenet rep 1"}, {"phase", "done"}}));
  EXPECT_EQ(data->environment,
            (std::map<std::string, std::string>{{"cpu_model", "Xeon"}, {"seed", "42"}, {"threads", "8"}}));

  ASSERT_EQ(data->latest_metrics.size(), 5u);
  const Metric& loss = data->latest_metrics.at("loss");
  EXPECT_EQ(loss.value, 0.625);
  EXPECT_EQ(loss.step, 2);
  EXPECT_EQ(loss.timestamp_ms, kT0 + 400);
  EXPECT_EQ(data->latest_metrics.at("f1").value, 0.875);
  EXPECT_TRUE(std::isnan(data->latest_metrics.at("grad_norm").value));
  EXPECT_EQ(data->latest_metrics.at("overflow").value, kInf);
  EXPECT_EQ(data->latest_metrics.at("delta").value, -1e-300);
  EXPECT_EQ(data->latest_metrics.at("delta").step, 7);

  auto history = store->get_metric_history(run_id, "loss");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].value, 2.5);
  EXPECT_EQ((*history)[0].step, 0);
  EXPECT_EQ((*history)[0].timestamp_ms, kT0 + 200);
  EXPECT_EQ((*history)[1].value, 1.25);
  EXPECT_EQ((*history)[2].value, 0.625);
  EXPECT_EQ((*history)[2].key, "loss");
  auto none = store->get_metric_history(run_id, "never_logged");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  ASSERT_EQ(data->energy_windows.size(), 3u);
  const auto& w0 = data->energy_windows[0];
  EXPECT_EQ(w0.name, "epoch 1");
  EXPECT_EQ(w0.start_ms, kT0 + 1000);
  EXPECT_EQ(w0.end_ms, kT0 + 61000);
  EXPECT_EQ(w0.duration_s, 60.0);
  ASSERT_EQ(w0.domains.size(), 2u);
  EXPECT_EQ(w0.domains[0].name, "package-0");
  EXPECT_EQ(w0.domains[0].energy_j, 1234.5);
  EXPECT_FALSE(w0.domains[0].estimated);
  EXPECT_EQ(w0.domains[1].name, "gpu-0");
  EXPECT_EQ(w0.domains[1].energy_j, 9876.25);
  EXPECT_EQ(w0.energy_j(), 1234.5 + 9876.25);
  EXPECT_FALSE(w0.estimated());
  const auto& w1 = data->energy_windows[1];
  EXPECT_EQ(w1.name, "eval");
  EXPECT_EQ(w1.duration_s, 5.5);
  ASSERT_EQ(w1.domains.size(), 1u);
  EXPECT_EQ(w1.domains[0].name, "cpu-estimated");
  EXPECT_EQ(w1.domains[0].energy_j, 42.0);
  EXPECT_TRUE(w1.domains[0].estimated);
  EXPECT_TRUE(w1.estimated());
  EXPECT_EQ(data->energy_windows[2].name, "idle");
  EXPECT_TRUE(data->energy_windows[2].domains.empty());

  auto power = store->get_power_samples(run_id);
  ASSERT_TRUE(power.ok()) << power.status().to_string();
  EXPECT_EQ(power->domains, (std::vector<std::string>{"package-0", "gpu-0"}));
  ASSERT_EQ(power->samples.size(), 3u);
  EXPECT_EQ(power->samples[0].timestamp_ms, kT0 + 100);
  EXPECT_EQ(power->samples[0].power_w, (std::vector<double>{35.5, 210.25}));
  EXPECT_EQ(power->samples[1].timestamp_ms, kT0 + 200);
  EXPECT_EQ(power->samples[1].power_w[0], 36.0);
  EXPECT_TRUE(std::isnan(power->samples[1].power_w[1]));
  EXPECT_EQ(power->samples[2].power_w, (std::vector<double>{34.75, 199.0}));

  auto experiments = store->list_experiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 2u);
  EXPECT_EQ((*experiments)[0].experiment_id, "0");
  EXPECT_EQ((*experiments)[0].name, "Default");
  const Experiment& e = (*experiments)[1];
  EXPECT_EQ(e.experiment_id, experiment_id);
  EXPECT_EQ(e.name, "green-cv");
  EXPECT_EQ(e.lifecycle_stage, "active");
  EXPECT_EQ(e.creation_time_ms, kT0);
  EXPECT_EQ(e.last_update_time_ms, kT0 + 1000);  // bumped by create_run and update_run
  EXPECT_EQ(e.artifact_location, location_->artifact_root() + "/1");
  EXPECT_EQ(e.tags, (std::map<std::string, std::string>{{"owner", "ana"}}));

  if (auto* sqlite = dynamic_cast<SqliteStore*>(store.get())) {
    ASSERT_EQ(GetParam(), StoreBackend::kSqlite);
    auto version = sqlite->schema_version();
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, SqliteStore::latest_schema_version());
  } else {
    auto* postgres = dynamic_cast<PostgresStore*>(store.get());
    ASSERT_NE(postgres, nullptr);
    ASSERT_EQ(GetParam(), StoreBackend::kPostgres);
    auto version = postgres->schema_version();
    ASSERT_TRUE(version.ok()) << version.status().to_string();
    EXPECT_EQ(*version, PostgresStore::latest_schema_version());
  }
}

TEST_P(StoreTest, ParamsAreWriteOnceAndAConflictWritesNothingOfTheBatch) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto exp = store->get_or_create_experiment("e");
  ASSERT_TRUE(exp.ok());
  auto run = store->create_run(*exp, "r", kT0);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store->log_batch(run->run_id, {}, {{"lr", "0.1"}}, {}).ok());
  EXPECT_TRUE(store->log_batch(run->run_id, {}, {{"lr", "0.1"}}, {}).ok()) << "same value again is accepted";

  Status s = store->log_batch(run->run_id, {{"loss", 1.0, kT0, 0}}, {{"epochs", "5"}, {"lr", "0.2"}},
                              {{"t", "x"}});
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("'lr'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("0.1"), std::string::npos) << s.message();

  auto data = store->get_run(run->run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->params, (std::map<std::string, std::string>{{"lr", "0.1"}}));
  EXPECT_TRUE(data->tags.empty());
  EXPECT_TRUE(data->latest_metrics.empty());

  Status twice = store->log_batch(run->run_id, {}, {{"wd", "1"}, {"wd", "2"}}, {});
  EXPECT_EQ(twice.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(twice.message().find("'wd'"), std::string::npos) << twice.message();
}

TEST_P(StoreTest, RejectsBadKeysAndUnknownRuns) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto run = store->create_run("0", "r", kT0);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  Status bad = store->log_batch(run->run_id, {{"loss;drop", 1, kT0, 0}}, {}, {});
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("loss;drop"), std::string::npos);
  EXPECT_EQ(store->log_batch(std::string(32, 'a'), {{"loss", 1, kT0, 0}}, {}, {}).code(),
            Status::Code::kNotFound);
  EXPECT_EQ(store->update_run(std::string(32, 'a'), RunStatus::kFailed, kT0).code(), Status::Code::kNotFound);
  EXPECT_EQ(store->create_run("77", "r", kT0).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store->log_power_samples(run->run_id, {"a", "b"}, {{kT0, {1.0}}}).code(),
            Status::Code::kInvalidArgument);
}

TEST_P(StoreTest, LatestMetricIsTheHighestStepNotTheLastLogged) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto run = store->create_run("0", "r", kT0);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store->log_batch(run->run_id, {{"acc", 0.9, kT0 + 10, 5}}, {}, {}).ok());
  ASSERT_TRUE(store->log_batch(run->run_id, {{"acc", 0.5, kT0 + 20, 3}}, {}, {}).ok());
  auto data = store->get_run(run->run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->latest_metrics.at("acc").value, 0.9);
  EXPECT_EQ(data->latest_metrics.at("acc").step, 5);
  auto history = store->get_metric_history(run->run_id, "acc");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].step, 3);
  EXPECT_EQ((*history)[1].step, 5);
}

// What a chart of a long power timeline reads: one sample time per span,
// every sample of a short enough range, and the domains of what it returns.
TEST_P(StoreTest, PowerSamplesSampledTakeTheFirstSampleOfEachSpan) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto run = store->create_run("0", "r", kT0);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  // 10 s at 1 ms: package-0 = ms index, dram = its negative; dram has no
  // sample in the last second.
  std::vector<PowerSample> both, package_only;
  for (int i = 0; i < 10'000; ++i) {
    if (i < 9'000) both.push_back({kT0 + i, {static_cast<double>(i), -static_cast<double>(i)}});
    else package_only.push_back({kT0 + i, {static_cast<double>(i)}});
  }
  ASSERT_TRUE(store->log_power_samples(run->run_id, {"package-0", "dram"}, both).ok());
  ASSERT_TRUE(store->log_power_samples(run->run_id, {"package-0"}, package_only).ok());

  auto all = store->get_power_samples_sampled(run->run_id, std::nullopt, std::nullopt, 100);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->domains, (std::vector<std::string>{"package-0", "dram"}));
  ASSERT_EQ(all->samples.size(), 100u);
  for (int r = 0; r < 100; ++r) {
    const PowerSample& s = all->samples[static_cast<size_t>(r)];
    EXPECT_EQ(s.timestamp_ms, kT0 + 100 * r);
    EXPECT_EQ(s.power_w[0], 100.0 * r);
    if (r < 90) EXPECT_EQ(s.power_w[1], -100.0 * r);
    else EXPECT_TRUE(std::isnan(s.power_w[1])) << r;
  }

  // A range of at most max_points milliseconds: every sample in it.
  auto zoomed = store->get_power_samples_sampled(run->run_id, kT0 + 9'990, kT0 + 10'030, 50);
  ASSERT_TRUE(zoomed.ok()) << zoomed.status().to_string();
  ASSERT_EQ(zoomed->samples.size(), 10u);
  EXPECT_EQ(zoomed->samples.front().timestamp_ms, kT0 + 9'990);
  EXPECT_EQ(zoomed->samples.back().timestamp_ms, kT0 + 9'999);
  EXPECT_EQ(zoomed->domains, (std::vector<std::string>{"package-0"}));  // dram logged nothing then
  EXPECT_EQ(zoomed->samples.front().power_w, (std::vector<double>{9'990.0}));

  // Spans holding no sample give nothing: 3 spans of 1000 ms over [0, 3000).
  auto other = store->create_run("0", "sparse", kT0);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(store->log_power_samples(other->run_id, {"gpu-0"}, {{kT0, {1}}, {kT0 + 10, {2}}, {kT0 + 2'999, {3}}}).ok());
  auto sparse = store->get_power_samples_sampled(other->run_id, std::nullopt, std::nullopt, 3);
  ASSERT_TRUE(sparse.ok()) << sparse.status().to_string();
  ASSERT_EQ(sparse->samples.size(), 2u);
  EXPECT_EQ(sparse->samples[0].timestamp_ms, kT0);
  EXPECT_EQ(sparse->samples[1].timestamp_ms, kT0 + 2'999);

  auto empty_run = store->create_run("0", "no power", kT0);
  ASSERT_TRUE(empty_run.ok());
  auto empty = store->get_power_samples_sampled(empty_run->run_id, std::nullopt, std::nullopt, 10);
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_TRUE(empty->samples.empty());
  EXPECT_TRUE(empty->domains.empty());

  EXPECT_EQ(store->get_power_samples_sampled(run->run_id, std::nullopt, std::nullopt, 0).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store->get_power_samples_sampled(run->run_id, kT0 + 5, kT0 + 4, 10).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store->get_power_samples_sampled(std::string(32, 'a'), std::nullopt, std::nullopt, 10).status().code(),
            Status::Code::kNotFound);
}

TEST_P(StoreTest, RunIdPrefixesResolveLikeGit) {
  {
    auto store = open_store();  // creates the schema
    ASSERT_TRUE(store);
  }
  const std::string a = "abcdef0011112222333344445555aaaa";
  const std::string b = "abcdef0099998888777766665555bbbb";
  raw_sql("INSERT INTO runs (run_id, experiment_id, run_name, status, start_time_ms, artifact_uri) VALUES "
          "('" + a + "', 0, 'a', 'RUNNING', 1, ''), ('" + b + "', 0, 'b', 'FINISHED', 2, '')");
  auto store = open_store();
  ASSERT_TRUE(store);

  auto full = store->get_run(a);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->info.run_name, "a");
  auto unique = store->get_run("abcdef009");
  ASSERT_TRUE(unique.ok()) << unique.status().to_string();
  EXPECT_EQ(unique->info.run_id, b);
  auto upper = store->get_run("ABCDEF001");
  ASSERT_TRUE(upper.ok()) << upper.status().to_string();
  EXPECT_EQ(upper->info.run_id, a);

  auto ambiguous = store->get_run("abcdef");
  ASSERT_EQ(ambiguous.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(ambiguous.status().message().find("ambiguous"), std::string::npos);
  EXPECT_NE(ambiguous.status().message().find(a), std::string::npos);
  EXPECT_NE(ambiguous.status().message().find(b), std::string::npos);

  auto too_short = store->get_run("abcde");
  ASSERT_EQ(too_short.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_short.status().message().find("at least 6"), std::string::npos);

  EXPECT_EQ(store->get_run("abcdf0").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store->get_run(std::string(32, '0')).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store->get_run("not-a-run-id").status().code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, ListRunsNewestFirstPerExperimentWithLimit) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto e1 = store->get_or_create_experiment("one");
  auto e2 = store->get_or_create_experiment("two");
  ASSERT_TRUE(e1.ok() && e2.ok());
  auto r1 = store->create_run(*e1, "first", kT0 + 1);
  auto r2 = store->create_run(*e2, "second", kT0 + 2);
  auto r3 = store->create_run(*e1, "third", kT0 + 3);
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());

  auto all = store->list_runs({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].run_name, "third");
  EXPECT_EQ((*all)[1].run_name, "second");
  EXPECT_EQ((*all)[2].run_name, "first");

  ListRunsOptions only_one;
  only_one.experiment_name = "one";
  auto ones = store->list_runs(only_one);
  ASSERT_TRUE(ones.ok());
  ASSERT_EQ(ones->size(), 2u);
  EXPECT_EQ((*ones)[0].run_id, r3->run_id);
  EXPECT_EQ((*ones)[1].run_id, r1->run_id);

  only_one.limit = 1;
  auto newest = store->list_runs(only_one);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].run_id, r3->run_id);

  ListRunsOptions missing;
  missing.experiment_name = "nope";
  auto none = store->list_runs(missing);
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_NE(none.status().message().find("nope"), std::string::npos);
}

TEST_P(StoreTest, AStoreFromANewerWattlabIsRefused) {
  { ASSERT_TRUE(open_store()); }
  raw_sql("UPDATE schema_version SET version = 99");
  auto store = Store::open(location_->location(), &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("upgrade wattlab"), std::string::npos) << store.status().message();
}

// The whole path a training job and a dashboard take, at a realistic size:
// 10,000 metric points over four runs in MLflow-sized batches, a search with a
// metric filter and order_by, and the history read back in pages. Prints the
// ingest rate of each back end.
TEST_P(StoreTest, TenThousandPointsIngestSearchAndPageBack) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto exp = store->create_experiment("e2e", "", {{"purpose", "end to end"}});
  ASSERT_TRUE(exp.ok()) << exp.status().to_string();
  struct Plan {
    const char* name;
    const char* model;
    double final_acc;
  };
  const Plan plans[] = {{"cnn-1", "cnn", 0.91}, {"cnn-2", "cnn", 0.87}, {"mlp-1", "mlp", 0.95}, {"cnn-3", "cnn", NAN}};
  constexpr int kPointsPerRun = 2500;
  constexpr int kBatch = 500;
  std::vector<std::string> run_ids;
  double ingest_s = 0;
  for (size_t r = 0; r < std::size(plans); ++r) {
    auto run = store->create_run(*exp, plans[r].name, kT0 + static_cast<int64_t>(r) * 1000);
    ASSERT_TRUE(run.ok()) << run.status().to_string();
    run_ids.push_back(run->run_id);
    ASSERT_TRUE(store->log_batch(run->run_id, {}, {{"model", plans[r].model}, {"lr", "0.01"}}, {}).ok());
    for (int start = 0; start < kPointsPerRun; start += kBatch) {
      std::vector<Metric> batch;
      for (int step = start; step < start + kBatch; ++step) {
        const bool last = step == kPointsPerRun - 1;
        // "loss" every step; "acc" every 10th step, its final value last.
        if (step % 10 == 9) {
          batch.push_back({"acc", last ? plans[r].final_acc : step / 10000.0, kT0 + step, step});
        } else {
          batch.push_back({"loss", 1.0 / (1 + step), kT0 + step, step});
        }
      }
      const auto t0 = std::chrono::steady_clock::now();
      Status s = store->log_batch(run->run_id, batch, {}, {});
      ingest_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_TRUE(s.ok()) << s.to_string();
    }
    ASSERT_TRUE(store->update_run(run->run_id, RunStatus::kFinished, kT0 + 10'000).ok());
  }
  const int total = kPointsPerRun * static_cast<int>(std::size(plans));
  EXPECT_EQ(total, 10'000);
  std::printf("[ %s ] log_batch: %d points in %.3f s = %.0f points/s\n",
              GetParam() == StoreBackend::kSqlite ? "sqlite" : "postgres", total, ingest_s, total / ingest_s);
  RecordProperty("log_batch_points_per_s", static_cast<int>(total / ingest_s));

  SearchRunsOptions search;
  search.experiment_ids = std::vector<std::string>{*exp};
  search.filter = "metrics.acc > 0.5 AND params.model = 'cnn'";
  search.order_by = {"metrics.acc DESC"};
  auto found = store->search_runs(search);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  std::vector<std::string> names;
  for (const auto& run : found->runs) names.push_back(run.info.run_name);
  EXPECT_EQ(names, (std::vector<std::string>{"cnn-1", "cnn-2"})) << "the NaN run matches no comparison";
  ASSERT_EQ(found->runs.size(), 2u);
  EXPECT_EQ(found->runs[0].latest_metrics.at("acc").value, 0.91);
  EXPECT_EQ(found->runs[0].latest_metrics.at("acc").step, kPointsPerRun - 1);
  EXPECT_EQ(found->runs[0].latest_metrics.at("loss").step, kPointsPerRun - 2);
  EXPECT_EQ(found->runs[0].params.at("model"), "cnn");

  // Without a filter, NaN sorts last whatever the direction.
  search.filter = "";
  for (const char* order : {"metrics.acc DESC", "metrics.acc ASC"}) {
    search.order_by = {order};
    auto all = store->search_runs(search);
    ASSERT_TRUE(all.ok()) << all.status().to_string();
    ASSERT_EQ(all->runs.size(), 4u);
    EXPECT_EQ(all->runs[0].info.run_name, std::string(order).find("DESC") != std::string::npos ? "mlp-1" : "cnn-2");
    EXPECT_EQ(all->runs[3].info.run_name, "cnn-3") << order;
    EXPECT_TRUE(std::isnan(all->runs[3].latest_metrics.at("acc").value));
  }

  // The history of one run in pages of 1,000, in step order, values exact.
  std::vector<Metric> points;
  std::string token;
  int pages = 0;
  do {
    auto page = store->get_metric_history_page(run_ids[0], "loss", 1000, token);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    points.insert(points.end(), page->metrics.begin(), page->metrics.end());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(points.size(), static_cast<size_t>(kPointsPerRun - kPointsPerRun / 10));
  int expected_step = 0;
  for (const auto& m : points) {
    if (expected_step % 10 == 9) ++expected_step;
    ASSERT_EQ(m.step, expected_step);
    ASSERT_EQ(m.value, 1.0 / (1 + expected_step));
    ASSERT_EQ(m.timestamp_ms, kT0 + expected_step);
    ++expected_step;
  }
  auto whole = store->get_metric_history(run_ids[0], "acc");
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->size(), static_cast<size_t>(kPointsPerRun / 10));
  EXPECT_EQ(whole->back().value, 0.91);
}

// Every method may be called from several threads at once: writers of
// different runs and of the same run all land, and creating one experiment
// name from many threads gives one experiment.
TEST_P(StoreTest, ConcurrentWritersAllLand) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto shared_run = store->create_run("0", "shared", kT0);
  ASSERT_TRUE(shared_run.ok());
  constexpr int kThreads = 6;
  constexpr int kBatches = 20;
  std::vector<std::string> experiment_ids(kThreads);
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto exp = store->get_or_create_experiment("concurrent");
      if (!exp.ok()) {
        failures[t] = exp.status().to_string();
        return;
      }
      experiment_ids[t] = *exp;
      auto run = store->create_run(*exp, "t" + std::to_string(t), kT0 + t);
      if (!run.ok()) {
        failures[t] = run.status().to_string();
        return;
      }
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Metric> points;
        for (int i = 0; i < 10; ++i) points.push_back({"m", static_cast<double>(i), kT0 + b, b * 10 + i});
        Status s = store->log_batch(run->run_id, points, {{"thread", std::to_string(t)}}, {});
        if (s.ok()) s = store->log_batch(shared_run->run_id, {{"shared", static_cast<double>(t), kT0, t * 100 + b}},
                                         {}, {{"last", std::to_string(t)}});
        if (!s.ok()) {
          failures[t] = s.to_string();
          return;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], "") << "thread " << t;
    EXPECT_EQ(experiment_ids[t], experiment_ids[0]);
  }
  auto runs = store->list_runs({"concurrent", 0});
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), static_cast<size_t>(kThreads));
  for (const auto& info : *runs) {
    auto history = store->get_metric_history(info.run_id, "m");
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(history->size(), static_cast<size_t>(kBatches * 10));
  }
  auto shared = store->get_metric_history(shared_run->run_id, "shared");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->size(), static_cast<size_t>(kThreads * kBatches));
}

}  // namespace
}  // namespace wattlab
