// The SQLite experiment store: one file (plus its -wal and -shm companions),
// WAL journal so readers never block the writer, a busy timeout so several
// processes can share it, prepared statements, and one transaction per batch.
// The schema is versioned: `schema_version` holds the number of migrations
// applied, and opening a store applies the ones it lacks.
// Metric points are packed into chunks of up to 256 points of one series
// (migration 4 in sqlite_store.cpp, metric_chunk.h), so a batch of 1,000
// points writes a few rows, not 1,000.
//
// Durability (store.h): commits go to the WAL without a sync
// (synchronous=NORMAL); with Durability::kPowerLoss every write call then
// waits, without holding the store, until an fdatasync of the WAL has covered
// its commit. One sync covers every commit made before it started, so
// concurrent writers share it (group commit).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "wattlab/track/store.h"

struct sqlite3;
struct sqlite3_file;
struct sqlite3_stmt;
struct sqlite3_vfs;

namespace wattlab {

struct MetricPoint;

struct SqliteStoreOptions {
  Durability durability = Durability::kPowerLoss;
  // The SQLite VFS to open the file with; empty: the default. For tests
  // that simulate a power loss.
  std::string vfs;
};

// The file path a store location names: a plain path is returned as is;
// "sqlite:///rel.db" gives "rel.db", "sqlite:////abs.db" gives "/abs.db"
// (SQLAlchemy's rule, which MLflow follows) and "sqlite://" gives ":memory:";
// a "?query" suffix is ignored. InvalidArgument for other URIs, including
// postgresql:// ones (Store::open gives those to PostgresStore).
Result<std::string> sqlite_path_from_location(const std::string& location);

class SqliteStore final : public Store {
 public:
  // Number of schema migrations this build knows; a store whose
  // schema_version is higher was written by a newer wattlab and is refused.
  static int latest_schema_version();

  // Opens or creates the store file at `path` (a path, not a URI; ":memory:"
  // for a private in-memory store). See Store::open for the failure contract:
  // an existing file must be a wattlab store (its tables were made by
  // wattlab), or a zero-byte file beside a non-empty -wal file (a store
  // whose first commit is only in the WAL); anything else is refused
  // untouched.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, Clock* clock = nullptr,
                                                   const SqliteStoreOptions& options = {});
  // Creates a new store file at `path` with the schema as it was at
  // `schema_version` (1..latest_schema_version()), for tests of the
  // migrations. InvalidArgument for a version out of range.
  static Status create_at_schema_version(const std::string& path, int schema_version);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The schema version of the open file (== latest_schema_version()).
  Result<int> schema_version();
  const std::string& path() const { return path_; }

  Result<std::string> get_or_create_experiment(const std::string& name) override;
  Result<Experiment> get_experiment(const std::string& experiment_id) override;
  Result<std::vector<Experiment>> list_experiments() override;
  Status set_experiment_tag(const std::string& experiment_id, const std::string& key,
                            const std::string& value) override;
  Result<std::string> create_experiment(const std::string& name, const std::string& artifact_location,
                                        const std::map<std::string, std::string>& tags) override;
  Result<Experiment> get_experiment_by_name(const std::string& name) override;
  Result<ExperimentsPage> search_experiments(const SearchExperimentsOptions& options) override;
  Status rename_experiment(const std::string& experiment_id, const std::string& new_name) override;
  Status delete_experiment(const std::string& experiment_id) override;
  Status restore_experiment(const std::string& experiment_id) override;
  Result<RunInfo> update_run_info(const std::string& run_id, const RunUpdate& update) override;
  Status claim_run(const std::string& run_id, const std::string& key, const std::optional<std::string>& expected,
                   const std::vector<RunTag>& tags) override;
  Status delete_run(const std::string& run_id) override;
  Status restore_run(const std::string& run_id) override;
  Status delete_tag(const std::string& run_id, const std::string& key) override;
  Result<std::vector<Metric>> get_metric_history_sampled(const std::string& run_id, const std::string& key,
                                                         int max_points) override;
  Result<MetricHistoryPage> get_metric_history_page(const std::string& run_id, const std::string& key,
                                                    int max_results, const std::string& page_token) override;
  Result<RunsPage> search_runs(const SearchRunsOptions& options) override;
  Result<RunInfo> create_run(const std::string& experiment_id, const std::string& run_name,
                             int64_t start_time_ms) override;
  Status update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) override;
  Status log_batch(const std::string& run_id, const std::vector<Metric>& metrics, const std::vector<Param>& params,
                   const std::vector<RunTag>& tags) override;
  Status log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) override;
  Status log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                           const std::vector<PowerSample>& samples) override;
  Status set_environment(const std::string& run_id, const std::map<std::string, std::string>& environment) override;
  Result<RunData> get_run(const std::string& run_id_or_prefix) override;
  Result<std::vector<RunInfo>> list_runs(const ListRunsOptions& options) override;
  Result<std::vector<Metric>> get_metric_history(const std::string& run_id, const std::string& key) override;
  Result<PowerTimeline> get_power_samples(const std::string& run_id) override;
  Result<PowerTimeline> get_power_samples_sampled(const std::string& run_id, std::optional<int64_t> from_ms,
                                                  std::optional<int64_t> to_ms, int max_points) override;

 private:
  class Query;
  class Transaction;

  SqliteStore(sqlite3* db, std::string path, std::string artifact_root, Clock* clock);

  // Fills `info` from the row `q` stands on, whose columns are run_id,
  // experiment_id, run_name, status, start_time_ms, end_time_ms,
  // lifecycle_stage, artifact_uri; Corrupt for a status wattlab never writes.
  static Status read_run_info(Query& q, RunInfo* info);

  // All of these expect mu_ held.
  Status exec(const char* sql);
  // exec() of one statement without parameters (BEGIN, COMMIT), prepared
  // once and cached.
  Status exec_cached(const char* sql);
  Result<Query> prepare(const char* sql);
  // Applies the migrations a store lacks up to `target_version`.
  Status migrate(int target_version);
  static Result<std::unique_ptr<SqliteStore>> open_at(const std::string& path, Clock* clock, int target_version,
                                                      const SqliteStoreOptions& options);
  // With kPowerLoss, after a write transaction's COMMIT (mu_ held): waits
  // until the WAL is synced up to it; mu_ is released meanwhile unless a
  // Query is live. IoError when a sync failed: the store then refuses to
  // acknowledge any later write either.
  Status wait_durable();
  // fdatasync of the WAL through its own handle (opened on first use);
  // called by one thread at a time, without mu_.
  Status sync_wal();
  Status ensure_default_experiment();
  Status require_run(const std::string& run_id);
  // NotFound for an unknown run, InvalidArgument for a deleted one.
  Status require_active_run(const std::string& run_id);
  // Everything get_run() returns; energy windows and environment only when
  // `with_extras`.
  Result<RunData> read_run(const std::string& run_id, bool with_extras);
  // read_run(id, false) of each id, in their order, in four queries whatever
  // their number (a search page of 50,000 runs would take 200,000).
  Result<std::vector<RunData>> read_runs(const std::vector<std::string>& run_ids);
  Result<RunInfo> read_run_info(const std::string& run_id);
  // The series_id of metric `key` of the run; nullopt when never logged.
  Result<std::optional<int64_t>> find_series(const std::string& run_id, const std::string& key);
  // Metric chunks (migration 4, metric_chunk.h). Stores `points` (sorted by
  // position, none already in the series) as new chunks of series_id.
  Status insert_metric_chunks(int64_t series_id, std::span<const MetricPoint> points);
  // Adds `points` (sorted by position, seqs new to the series) to series_id:
  // as new chunks when they fall outside every chunk, else merged into the
  // chunks they fall in; an append joins the chunk before it while the two
  // hold at most 64 points.
  Status write_metric_points(int64_t series_id, std::span<const MetricPoint> points);
  // Replaces `*chunk` with the decoded chunk of series_id that holds the
  // first point after position `after`; empty when no point follows it.
  Status seek_metric_chunk(int64_t series_id, const MetricPoint& after, std::vector<MetricPoint>* chunk);
  // Migration 4's data step: metric_points into metric_chunks, then drops it.
  Status chunk_metric_points();
  Status set_experiment_stage(const std::string& experiment_id, const char* from, const char* to);
  Status set_run_stage(const std::string& run_id, const char* to);
  Result<std::string> resolve_run_id(const std::string& run_id_or_prefix);
  Result<Experiment> read_experiment(const std::string& experiment_id);
  Status touch_experiment(const std::string& experiment_id);
  Status error(int rc, const std::string& what);

  std::mutex mu_;  // serialises every use of db_ and the statement cache
  sqlite3* db_;
  std::string path_;           // file path, or ":memory:"
  std::string artifact_root_;  // folder under which experiments' artifact locations are made
  Clock* clock_;               // stamps experiment times; not owned
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // SQL text -> prepared statement
  int live_queries_ = 0;       // Query objects in use (under mu_)

  // Group commit (wait_durable). Set at open, then constant:
  bool sync_commits_ = false;  // kPowerLoss on a WAL-mode file
  std::atomic<uint64_t> commits_{0};  // write transactions committed so far (incremented under mu_)
  std::mutex sync_mu_;                // guards the members below
  std::condition_variable synced_;    // a sync ended
  bool syncing_ = false;              // a thread is in sync_wal()
  uint64_t durable_commits_ = 0;      // commits covered by a finished sync
  Status sync_failure_;               // the first failed sync; later writes fail with it
  sqlite3_vfs* vfs_ = nullptr;        // the connection's VFS
  const char* wal_name_ = nullptr;    // the WAL's name, as the VFS takes it (lives as long as db_)
  sqlite3_file* wal_file_ = nullptr;  // our own handle on the WAL (sync_wal only)
  bool dir_synced_ = false;           // the folder has been synced once (sync_wal only)
};

}  // namespace wattlab
