// The PostgreSQL experiment store (libpq): the same interface and semantics
// as SqliteStore, for teams and clusters where runs on many hosts share one
// store. A small mutex-guarded pool of connections lets several threads use
// the store at once; every multi-record write is one transaction; reads that
// touch several tables read one REPEATABLE READ snapshot.
// The schema is versioned like SQLite's: `schema_version` holds the number of
// migrations applied, and opening a store applies the ones it lacks (under an
// advisory lock, so processes opening the same database at once do not race).
// Text columns use the "C" collation, so ordering and run-id prefixes behave
// as in SQLite whatever the database's locale.
// Metric points stay one row each in metric_points (keyed by series_id,
// step, timestamp_ms, seq), written with COPY; SQLite packs them into chunks
// (metric_chunk.h) instead. The two layouts are invisible through Store: the
// same order, the same (step, timestamp_ms, seq) page tokens, the same
// sampled history.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/track/store.h"

struct pg_conn;

namespace wattlab {

// True for a PostgreSQL connection URI ("postgresql://..." or "postgres://...").
bool is_postgres_uri(const std::string& location);
// `uri` without its password ("postgresql://ana:secret@h/db" gives
// "postgresql://ana@h/db"; a password=... query parameter is dropped), for
// messages and logs.
std::string redact_postgres_uri(const std::string& uri);

class PostgresStore final : public Store {
 public:
  // Number of schema migrations this build knows; a database whose
  // schema_version is higher was written by a newer wattlab and is refused.
  static int latest_schema_version();

  // Connects to the database named by `uri` (libpq's connection URI; the
  // database must exist), creates or migrates the schema and the "Default"
  // experiment. Unavailable when the server cannot be reached (the message
  // names the URI, without its password, and libpq's reason),
  // PermissionDenied when it refuses the user, NotFound when the database does
  // not exist. Connecting gives up after 10 s unless the URI sets
  // connect_timeout. Experiments created without an artifact location get one
  // under ./artifacts of the working directory at open time. `clock`
  // (default: the system clock) must outlive the store.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& uri, Clock* clock = nullptr);
  // Creates the schema as it was at `schema_version` (1..latest_schema_version())
  // in the empty database at `uri`, for tests of the migrations.
  // InvalidArgument for a version out of range.
  static Status create_at_schema_version(const std::string& uri, int schema_version);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // The schema version of the database (== latest_schema_version()).
  Result<int> schema_version();
  // The URI the store was opened with, without its password.
  const std::string& redacted_uri() const { return redacted_uri_; }

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
  class Session;  // one pooled connection in use for one call (postgres_store.cpp)

  PostgresStore(std::string uri, std::string redacted_uri, std::string artifact_root, Clock* clock);

  // A connection from the pool, or a new one. Unavailable when the server
  // cannot be reached.
  Result<pg_conn*> acquire();
  // Returns a healthy, idle connection to the pool; closes any other.
  void release(pg_conn* conn);
  Result<pg_conn*> connect();

  // These run on `s`, inside the caller's transaction where there is one.
  // Applies the migrations the database lacks up to `target_version`.
  Status migrate(Session& s, int target_version);
  static Result<std::unique_ptr<PostgresStore>> open_at(const std::string& uri, Clock* clock, int target_version);
  Status require_run(Session& s, const std::string& run_id);
  // NotFound for an unknown run, InvalidArgument for a deleted one.
  Status require_active_run(Session& s, const std::string& run_id);
  Result<RunData> read_run(Session& s, const std::string& run_id, bool with_extras);
  Result<RunInfo> read_run_info(Session& s, const std::string& run_id);
  // The series_id of metric `key` of the run; nullopt when never logged.
  Result<std::optional<int64_t>> find_series(Session& s, const std::string& run_id, const std::string& key);
  Result<Experiment> read_experiment(Session& s, const std::string& experiment_id);
  Result<std::string> resolve_run_id(Session& s, const std::string& run_id_or_prefix);
  Status touch_experiment(Session& s, const std::string& experiment_id);
  Status set_experiment_stage(const std::string& experiment_id, const char* from, const char* to);
  Status set_run_stage(const std::string& run_id, const char* to);
  Result<std::string> insert_experiment(Session& s, const std::string& name, const std::string& artifact_location,
                                        bool* existed);

  const std::string uri_;           // as given (may hold a password; never printed)
  const std::string redacted_uri_;  // for messages
  const std::string artifact_root_;  // folder under which experiments' artifact locations are made
  Clock* clock_;                     // stamps experiment times; not owned

  std::mutex pool_mu_;          // guards idle_
  std::vector<pg_conn*> idle_;  // open connections not in use, at most kMaxIdle
};

}  // namespace wattlab
