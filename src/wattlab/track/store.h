// The experiment store: where runs, their metrics, energy and environment
// live. One interface, several back ends (SQLite, PostgreSQL); the same test
// suite runs against each.
//
// Every method is thread-safe. Methods that write several records do so in
// one transaction: all of them land, or none does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

// Which runs or experiments a search sees (MLflow's ViewType).
enum class ViewType { kActiveOnly, kDeletedOnly, kAll };
// "ACTIVE_ONLY", "DELETED_ONLY", "ALL"; InvalidArgument otherwise.
Result<ViewType> parse_view_type(const std::string& text);

// MLflow's limits on search page sizes.
inline constexpr int kSearchMaxResultsDefault = 1000;
inline constexpr int kSearchMaxResultsLimit = 50000;
// Default and largest page of metrics/get-history.
inline constexpr int kMetricHistoryPageDefault = 25000;
// Largest max_points of get_metric_history_sampled.
inline constexpr int kSampledHistoryMaxPoints = 100000;

struct SearchRunsOptions {
  // Only runs of these experiments; nullopt means every experiment (an empty
  // list matches nothing, as in MLflow).
  std::optional<std::vector<std::string>> experiment_ids;
  std::string filter;                 // MLflow search syntax (track/filter.h); empty: all
  std::vector<std::string> order_by;  // "metrics.f1 DESC", "attributes.start_time"...
  ViewType view_type = ViewType::kActiveOnly;
  int max_results = kSearchMaxResultsDefault;  // 1..kSearchMaxResultsLimit
  std::string page_token;                      // from an earlier RunsPage; empty: first page
};

struct RunsPage {
  std::vector<RunData> runs;    // without energy windows and environment
  std::string next_page_token;  // empty when this is the last page
};

struct SearchExperimentsOptions {
  std::string filter;  // name, creation_time, last_update_time, tags.<key>
  std::vector<std::string> order_by;
  ViewType view_type = ViewType::kActiveOnly;
  int max_results = kSearchMaxResultsDefault;
  std::string page_token;
};

struct ExperimentsPage {
  std::vector<Experiment> experiments;
  std::string next_page_token;
};

struct MetricHistoryPage {
  std::vector<Metric> metrics;
  std::string next_page_token;
};

// Fields of a run to change; unset fields stay as they are.
struct RunUpdate {
  std::optional<RunStatus> status;
  std::optional<int64_t> end_time_ms;
  std::optional<std::string> run_name;  // also sets the mlflow.runName tag, as MLflow does
};

struct ListRunsOptions {
  std::optional<std::string> experiment_name;  // all experiments when empty
  int limit = 1000;                            // at most this many runs; <= 0 means no limit
};

// What a write survives once the store call that made it has returned OK
// (an acknowledged write; for a server, one whose response was sent).
enum class Durability {
  // The default: the write is on disk (fdatasync) before the call returns,
  // so it survives a crash of the process, of the OS, and a power loss.
  // SQLite: concurrent writers share one sync (group commit).
  kPowerLoss,
  // The write survives a crash of the process, not of the OS or a power
  // loss, which may take the last writes (SQLite's synchronous=NORMAL in WAL
  // mode); each write then costs no disk flush.
  kProcessCrash,
};
// "full" -> kPowerLoss, "process" -> kProcessCrash; InvalidArgument otherwise.
Result<Durability> parse_durability(const std::string& text);

struct StoreOptions {
  // SQLite stores. A PostgreSQL store follows its server's synchronous_commit
  // (on by default: as kPowerLoss).
  Durability durability = Durability::kPowerLoss;
};

// The write path every back end shares with a remote server (get_or_create_
// experiment, create_run, update_run, log_batch, log_energy_windows,
// log_power_samples, set_environment) is declared in RunLogger.
class Store : public RunLogger {
 public:
  // Opens (creating if needed) the store named by `location`: a file path
  // ("wattlab.db", "/data/runs.db"), an MLflow/SQLAlchemy SQLite URI
  // ("sqlite:///rel/path.db" is relative to the working directory,
  // "sqlite:////abs/path.db" is absolute, as in MLflow), ":memory:", or a
  // PostgreSQL connection URI ("postgresql://user@host:5432/db" or
  // "postgres://...", libpq's syntax; see postgres_store.h). The parent folder
  // must already exist. On failure nothing is created and the one-line message
  // names the path and the fix; unwritable locations give PermissionDenied or
  // IoError. Only a wattlab store or a new file is opened: an empty file or
  // another application's database is refused untouched (InvalidArgument
  // naming what was found). `clock` (default: the system clock) stamps
  // experiment times and must outlive the store.
  static Result<std::unique_ptr<Store>> open(const std::string& location, Clock* clock = nullptr,
                                             const StoreOptions& options = {});

  // Experiment by id; NotFound otherwise.
  virtual Result<Experiment> get_experiment(const std::string& experiment_id) = 0;
  // All experiments, in id order ("Default", id "0", first).
  virtual Result<std::vector<Experiment>> list_experiments() = 0;
  // Sets (or overwrites) a tag of an experiment.
  virtual Status set_experiment_tag(const std::string& experiment_id, const std::string& key,
                                    const std::string& value) = 0;

  // A new active experiment; `artifact_location` empty means the store's
  // default. InvalidArgument for an empty name or an invalid tag,
  // AlreadyExists when the name is taken (by an active or deleted experiment).
  virtual Result<std::string> create_experiment(const std::string& name, const std::string& artifact_location,
                                                const std::map<std::string, std::string>& tags) = 0;
  // Experiment by exact name (active or deleted); NotFound otherwise.
  virtual Result<Experiment> get_experiment_by_name(const std::string& name) = 0;
  // One page of experiments matching `options`. InvalidArgument for a bad
  // filter, order_by, page token or max_results.
  virtual Result<ExperimentsPage> search_experiments(const SearchExperimentsOptions& options) = 0;
  // Renames an active experiment. NotFound, AlreadyExists when the name is
  // taken, InvalidArgument for an empty name or a deleted experiment.
  virtual Status rename_experiment(const std::string& experiment_id, const std::string& new_name) = 0;
  // Marks an active experiment and its runs deleted / a deleted one and its
  // runs active again. NotFound; InvalidArgument when already in that stage.
  virtual Status delete_experiment(const std::string& experiment_id) = 0;
  virtual Status restore_experiment(const std::string& experiment_id) = 0;

  // Applies `update` to an active run and returns the run's info after it.
  // NotFound for an unknown run; InvalidArgument for a deleted run.
  virtual Result<RunInfo> update_run_info(const std::string& run_id, const RunUpdate& update) = 0;
  // A compare-and-set for run leases (track/run_lease.h), in one
  // transaction: if the run's tag `key` holds `expected` (nullopt: no such
  // tag), writes `tags` and makes the run RUNNING with no end time;
  // otherwise AlreadyExists naming the run and the key, writing nothing.
  // NotFound for an unknown run, InvalidArgument for a deleted one or an
  // invalid tag.
  virtual Status claim_run(const std::string& run_id, const std::string& key,
                           const std::optional<std::string>& expected, const std::vector<RunTag>& tags) = 0;
  // Marks a run deleted / active again (its data is kept). NotFound.
  virtual Status delete_run(const std::string& run_id) = 0;
  virtual Status restore_run(const std::string& run_id) = 0;
  // Removes a tag of an active run. NotFound for an unknown run or tag.
  virtual Status delete_tag(const std::string& run_id, const std::string& key) = 0;

  // The run whose id is `run_id_or_prefix`, or starts with it when it has at
  // least 6 hex digits (like git; case-insensitive). NotFound when nothing
  // matches, InvalidArgument when the prefix is ambiguous or too short. Read
  // from one consistent snapshot.
  virtual Result<RunData> get_run(const std::string& run_id_or_prefix) = 0;
  // Active runs, newest start time first. NotFound for an unknown experiment
  // name.
  virtual Result<std::vector<RunInfo>> list_runs(const ListRunsOptions& options) = 0;
  // Every logged point of one metric, in step order (then timestamp, then
  // logging order). Empty when the key was never logged.
  virtual Result<std::vector<Metric>> get_metric_history(const std::string& run_id, const std::string& key) = 0;
  // One page of a metric's history in the same order; `max_results` in
  // 1..kMetricHistoryPageDefault (InvalidArgument otherwise, or for a bad token).
  // The token names the last point of the previous page (page_token.h), so a
  // deep page costs what the first does, and points logged meanwhile before
  // it do not shift the pages after it.
  virtual Result<MetricHistoryPage> get_metric_history_page(const std::string& run_id, const std::string& key,
                                                            int max_results, const std::string& page_token) = 0;
  // At most `max_points` (1..kSampledHistoryMaxPoints, InvalidArgument
  // otherwise) points of a metric's history for a chart, in step order: the
  // steps from the first to the last are cut into max_points equal ranges and
  // each range that holds points gives its first (in step, timestamp, logging
  // order). One index seek per point returned (on both back ends), so a
  // 10M-point history is as cheap as a short one.
  // Empty when the key was never logged.
  virtual Result<std::vector<Metric>> get_metric_history_sampled(const std::string& run_id, const std::string& key,
                                                                 int max_points) = 0;
  // One page of runs matching `options`, in MLflow's order (see
  // compile_run_order_by). InvalidArgument for a bad filter, order_by, page
  // token or max_results.
  virtual Result<RunsPage> search_runs(const SearchRunsOptions& options) = 0;
  // The run's power samples (see PowerTimeline).
  virtual Result<PowerTimeline> get_power_samples(const std::string& run_id) = 0;
  // At most `max_points` (1..kSampledHistoryMaxPoints) sample times of the
  // run's power timeline within [from_ms, to_ms] (nullopt: from its first /
  // to its last sample), for a chart: the range is cut into max_points equal
  // spans of time, as get_metric_history_sampled cuts steps, and each span
  // that holds samples gives the samples at its first timestamp (every domain
  // logged then). A range of at most max_points milliseconds gives every
  // sample in it. `domains` lists the domains of the samples returned, in
  // order of first appearance. One index seek per time returned (on both back
  // ends), so an hour sampled every millisecond costs what a minute does.
  // InvalidArgument for max_points out of range or from_ms > to_ms; NotFound
  // for an unknown run.
  virtual Result<PowerTimeline> get_power_samples_sampled(const std::string& run_id, std::optional<int64_t> from_ms,
                                                          std::optional<int64_t> to_ms, int max_points) = 0;
};

// The SQLAlchemy-style URI of a SQLite store at `path` ("sqlite:////abs/x.db"),
// which Store::open and --tracking-uri accept. (Not for MLflow's own client:
// its SQLite schema is not wattlab's; give it a wattlab server's http:// URI.)
std::string sqlite_tracking_uri(const std::string& path);

}  // namespace wattlab
