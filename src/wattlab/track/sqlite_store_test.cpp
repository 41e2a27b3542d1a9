#include "wattlab/track/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("wattlab_store_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "wattlab.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open_store() {
    auto store = Store::open(path_, &clock_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs SQL on the file behind the store's back (to set up states the API
  // cannot produce, like colliding run ids).
  void raw_sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  fs::path dir_;
  std::string path_;
  FakeClock clock_{0, kT0};
};

TEST_F(SqliteStoreTest, EveryEntitySurvivesCloseAndReopen) {
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
    EXPECT_TRUE(fs::exists(path_ + "-wal")) << "the store should run in WAL mode";
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
            (fs::absolute(dir_).lexically_normal() / "artifacts" / "1" / run_id / "artifacts").string());

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
  EXPECT_EQ(e.artifact_location, (fs::absolute(dir_).lexically_normal() / "artifacts" / "1").string());
  EXPECT_EQ(e.tags, (std::map<std::string, std::string>{{"owner", "ana"}}));

  auto* sqlite = dynamic_cast<SqliteStore*>(store.get());
  ASSERT_NE(sqlite, nullptr);
  auto version = sqlite->schema_version();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, SqliteStore::latest_schema_version());
}

TEST_F(SqliteStoreTest, ParamsAreWriteOnceAndAConflictWritesNothingOfTheBatch) {
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

TEST_F(SqliteStoreTest, RejectsBadKeysAndUnknownRuns) {
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

TEST_F(SqliteStoreTest, LatestMetricIsTheHighestStepNotTheLastLogged) {
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

TEST_F(SqliteStoreTest, RunIdPrefixesResolveLikeGit) {
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

TEST_F(SqliteStoreTest, ListRunsNewestFirstPerExperimentWithLimit) {
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

TEST_F(SqliteStoreTest, UnwritablePathFailsWithTheFixAndCreatesNothing) {
  const std::string in_proc = "/proc/wattlab_store_test_" + std::to_string(getpid()) + ".db";
  auto proc = Store::open(in_proc, &clock_);
  ASSERT_FALSE(proc.ok());
  EXPECT_TRUE(proc.status().code() == Status::Code::kPermissionDenied ||
              proc.status().code() == Status::Code::kIoError)
      << proc.status().to_string();
  EXPECT_NE(proc.status().message().find(in_proc), std::string::npos) << proc.status().message();
  EXPECT_NE(proc.status().message().find("--store"), std::string::npos) << proc.status().message();
  EXPECT_EQ(proc.status().message().find('\n'), std::string::npos) << "one line";
  EXPECT_FALSE(fs::exists(in_proc));

  const std::string no_parent = (dir_ / "missing" / "wattlab.db").string();
  auto missing = Store::open(no_parent, &clock_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(no_parent), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));

}

// Opening a store in a folder the user cannot write. Root ignores folder
// permissions, so as root the open runs in a child that drops to "nobody".
TEST_F(SqliteStoreTest, ReadOnlyFolderIsPermissionDeniedAndCreatesNothing) {
  fs::path ro = dir_ / "ro";
  fs::create_directories(ro);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                          fs::perms::others_exec);
  const std::string ro_path = (ro / "wattlab.db").string();
  auto check = [&]() -> std::string {  // empty when every expectation holds
    auto denied = Store::open(ro_path, &clock_);
    if (denied.ok()) return "opened";
    const Status& s = denied.status();
    if (s.code() != Status::Code::kPermissionDenied) return "code: " + s.to_string();
    if (s.message().find(ro_path) == std::string::npos) return "path missing: " + s.message();
    if (s.message().find("WATTLAB_STORE") == std::string::npos) return "fix missing: " + s.message();
    if (s.message().find("permission denied") == std::string::npos) return "reason missing: " + s.message();
    return "";
  };
  if (geteuid() != 0) {
    EXPECT_EQ(check(), "");
  } else {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
      std::string problem = check();
      if (!problem.empty()) std::fprintf(stderr, "%s\n", problem.c_str());
      _exit(problem.empty() ? 0 : 1);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    ASSERT_NE(WEXITSTATUS(wstatus), 2) << "could not switch to user nobody";
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "see the child's message above";
  }
  fs::permissions(ro, fs::perms::owner_all);
  EXPECT_TRUE(fs::is_empty(ro));
}

TEST_F(SqliteStoreTest, AFileThatIsNotAStoreIsCorruptAndLeftAlone) {
  std::ofstream(path_) << "this is not a database, it is a shopping list\n";
  auto store = Store::open(path_, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorrupt) << store.status().to_string();
  EXPECT_NE(store.status().message().find(path_), std::string::npos);
  EXPECT_TRUE(fs::exists(path_));
}

TEST_F(SqliteStoreTest, AStoreFromANewerWattlabIsRefused) {
  { ASSERT_TRUE(open_store()); }
  raw_sql("UPDATE schema_version SET version = 99");
  auto store = Store::open(path_, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("upgrade wattlab"), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, LocationsAcceptPathsAndSqliteUris) {
  EXPECT_EQ(*sqlite_path_from_location("wattlab.db"), "wattlab.db");
  EXPECT_EQ(*sqlite_path_from_location("/data/runs.db"), "/data/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:///rel/runs.db"), "rel/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:////abs/runs.db"), "/abs/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:////abs/runs.db?timeout=5"), "/abs/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite://"), ":memory:");
  EXPECT_EQ(sqlite_path_from_location("sqlite:/x.db").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sqlite_path_from_location("mysql://h/db").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sqlite_path_from_location("postgresql://h/db").status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(sqlite_tracking_uri("/abs/runs.db"), "sqlite:////abs/runs.db");

  const std::string uri = sqlite_tracking_uri(path_);
  auto store = Store::open(uri, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto exp = (*store)->get_or_create_experiment("via-uri");
  ASSERT_TRUE(exp.ok());
  store->reset();
  EXPECT_TRUE(fs::exists(path_));
  auto reopened = Store::open(path_, &clock_);
  ASSERT_TRUE(reopened.ok());
  auto experiments = (*reopened)->list_experiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 2u);
  EXPECT_EQ((*experiments)[1].name, "via-uri");

  auto relative = Store::open("sqlite:///no_such_folder_here/x.db", &clock_);
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.status().message().find("sqlite:////absolute/path.db"), std::string::npos)
      << relative.status().message();

  auto memory = Store::open(":memory:", &clock_);
  ASSERT_TRUE(memory.ok()) << memory.status().to_string();
  EXPECT_TRUE((*memory)->get_or_create_experiment("m").ok());
}

}  // namespace
}  // namespace wattlab
