#include "wattlab/track/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/ids.h"
#include "wattlab/track/filter.h"
#include "wattlab/track/metric_chunk.h"
#include "wattlab/track/page_token.h"
#include "wattlab/track/store_support.h"

namespace wattlab {

using store_support::batch_series;
using store_support::BatchSeries;
using store_support::check_max_results;
using store_support::check_schema_version;
using store_support::is_decimal_id;
using store_support::is_hex;
using store_support::lifecycle_condition;
using store_support::starts_with;
using store_support::to_lower;

namespace {

// How long a writer waits for the write lock before "database is locked"
// reaches the caller. Many processes logging into one file take turns; 10 s
// proved too short for 16 writers on a slow (sanitized) build, where one
// writer lost the race repeatedly. Locks die with their process, so a long
// wait only ever waits for real work.
constexpr int kBusyTimeoutMs = 120'000;
constexpr size_t kMinRunIdPrefix = 6;
constexpr const char* kStoreFix = "choose a writable path with --store PATH or WATTLAB_STORE";


// Migration i (0-based) takes a store from schema version i to i + 1. Append
// new migrations; never edit one that has shipped.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE experiments (
  experiment_id       INTEGER PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  artifact_location   TEXT NOT NULL,
  lifecycle_stage     TEXT NOT NULL DEFAULT 'active',
  creation_time_ms    INTEGER NOT NULL,
  last_update_time_ms INTEGER NOT NULL
);
CREATE TABLE experiment_tags (
  experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
  key           TEXT NOT NULL,
  value         TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;
CREATE TABLE runs (
  run_id          TEXT PRIMARY KEY,
  experiment_id   INTEGER NOT NULL REFERENCES experiments(experiment_id),
  run_name        TEXT NOT NULL,
  status          TEXT NOT NULL,
  start_time_ms   INTEGER NOT NULL,
  end_time_ms     INTEGER,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  artifact_uri    TEXT NOT NULL
);
CREATE INDEX runs_by_start ON runs (start_time_ms);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time_ms);
CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE tags (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
-- Full histories; value NULL stands for NaN.
CREATE TABLE metrics (
  run_id       TEXT NOT NULL REFERENCES runs(run_id),
  key          TEXT NOT NULL,
  value        REAL,
  timestamp_ms INTEGER NOT NULL,
  step         INTEGER NOT NULL
);
CREATE INDEX metrics_by_key ON metrics (run_id, key, step, timestamp_ms);
-- The point with the highest (step, timestamp_ms) of each key.
CREATE TABLE latest_metrics (
  run_id       TEXT NOT NULL REFERENCES runs(run_id),
  key          TEXT NOT NULL,
  value        REAL,
  timestamp_ms INTEGER NOT NULL,
  step         INTEGER NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE energy_windows (
  window_id  INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  name       TEXT NOT NULL,
  start_ms   INTEGER NOT NULL,
  end_ms     INTEGER NOT NULL,
  duration_s REAL
);
CREATE INDEX energy_windows_by_run ON energy_windows (run_id, window_id);
CREATE TABLE energy_window_domains (
  window_id INTEGER NOT NULL REFERENCES energy_windows(window_id),
  ordinal   INTEGER NOT NULL,
  name      TEXT NOT NULL,
  energy_j  REAL,
  estimated INTEGER NOT NULL,
  counts_in_total INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (window_id, ordinal)
) WITHOUT ROWID;
CREATE TABLE power_samples (
  run_id       TEXT NOT NULL REFERENCES runs(run_id),
  timestamp_ms INTEGER NOT NULL,
  domain       TEXT NOT NULL,
  power_w      REAL
);
CREATE INDEX power_samples_by_run ON power_samples (run_id, timestamp_ms);
CREATE TABLE run_environment (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
)sql",
    // 2: indexes for search (metric filters and order_by read latest_metrics
    // by key and value; lifecycle filters read runs by stage).
    R"sql(
CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value);
CREATE INDEX runs_by_lifecycle ON runs (lifecycle_stage, start_time_ms);
)sql",
    // 3: metrics by series. Each (run, key) gets an integer series_id and
    // keeps its latest point and its number of points in metric_series; the
    // history lives in metric_points, clustered by (series_id, step,
    // timestamp_ms, seq), seq being the logging order within the series. A
    // point costs one insert into one b-tree keyed by integers (the old
    // layout paid a rowid row plus an index entry repeating run id and key),
    // and a history read or a sampled seek is one range of that b-tree.
    R"sql(
CREATE TABLE metric_series (
  series_id    INTEGER PRIMARY KEY,
  run_id       TEXT NOT NULL REFERENCES runs(run_id),
  key          TEXT NOT NULL,
  value        REAL,               -- the latest point: highest (step, timestamp_ms),
  timestamp_ms INTEGER NOT NULL,   -- the last logged on a tie; value NULL stands for NaN
  step         INTEGER NOT NULL,
  points       INTEGER NOT NULL,   -- points logged, so the next point's seq
  UNIQUE (run_id, key)
);
CREATE INDEX metric_series_by_key_value ON metric_series (key, value);
-- No foreign key: its per-row probe would cost as much as the insert;
-- points are only written with their series, in one transaction.
CREATE TABLE metric_points (
  series_id    INTEGER NOT NULL,
  step         INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  seq          INTEGER NOT NULL,
  value        REAL,
  PRIMARY KEY (series_id, step, timestamp_ms, seq)
) WITHOUT ROWID;
INSERT INTO metric_series (run_id, key, value, timestamp_ms, step, points)
  SELECT run_id, key, value, timestamp_ms, step, 0 FROM latest_metrics ORDER BY run_id, key;
INSERT INTO metric_points (series_id, step, timestamp_ms, seq, value)
  SELECT s.series_id, m.step, m.timestamp_ms,
         ROW_NUMBER() OVER (PARTITION BY m.run_id, m.key ORDER BY m.rowid) - 1, m.value
  FROM metrics m JOIN metric_series s ON s.run_id = m.run_id AND s.key = m.key;
UPDATE metric_series SET points = (SELECT COUNT(*) FROM metric_points p WHERE p.series_id = metric_series.series_id);
DROP TABLE latest_metrics;
DROP TABLE metrics;
)sql",
    // 4: metric points in chunks (metric_chunk.h). A row of metric_chunks
    // holds up to kMaxPointsPerChunk points of one series, sorted by (step,
    // timestamp_ms, seq), and its first and last positions. The chunks of a
    // series never overlap: chunk k's last position is below chunk k + 1's
    // first, so the history in order is the chunks in order of their first
    // position, each decoded in turn. A batch writes a few chunks instead of a
    // b-tree row per point; a batch whose points fall inside existing chunks
    // (steps logged out of order) rewrites those chunks merged with its
    // points. A rowid table, because a blob of ~2.8 kB fits in a table page
    // but would overflow an index page (WITHOUT ROWID). The data step
    // (chunk_metric_points) moves metric_points into chunks and drops it.
    R"sql(
CREATE TABLE metric_chunks (
  chunk_id          INTEGER PRIMARY KEY,
  series_id         INTEGER NOT NULL,
  first_step        INTEGER NOT NULL,
  first_timestamp_ms INTEGER NOT NULL,
  first_seq         INTEGER NOT NULL,
  last_step         INTEGER NOT NULL,
  last_timestamp_ms INTEGER NOT NULL,
  last_seq          INTEGER NOT NULL,
  points            INTEGER NOT NULL,
  data              BLOB NOT NULL
);
CREATE UNIQUE INDEX metric_chunks_by_position ON metric_chunks (series_id, first_step, first_timestamp_ms, first_seq);
)sql",
    // 5: tags and params by (key, value): a filter on a tag's or a param's
    // value (a study's trials are found by their tags) reads the matching
    // runs from one range instead of probing every run.
    R"sql(
CREATE INDEX tags_by_key_value ON tags (key, value);
CREATE INDEX params_by_key_value ON params (key, value);
)sql",
};

// The schema version whose migration needs chunk_metric_points() after its SQL.
constexpr int kChunkedMetricsVersion = 4;

// Points appended after a chunk join it while the two hold at most this
// many: points logged a few at a time share rows, and the rewrite a join
// costs (one chunk updated in place) stays small.
constexpr size_t kMaxPointsPerJoinedChunk = 64;

// A position below every point's (seqs start at 0).
constexpr MetricPoint kBeforeEveryPoint{INT64_MIN, INT64_MIN, INT64_MIN, 0};

// The chunks of a series around a position, by the metric_chunks_by_position
// index, with the columns Query::chunk_points() and friends read. ?1
// series_id, ?2..?4 a position.
#define WATTLAB_CHUNK_COLUMNS \
  "chunk_id, last_step, last_timestamp_ms, last_seq, points, data, first_step, first_timestamp_ms, first_seq"
// The chunk with the highest first position at or below the position: the
// only one that can hold it.
constexpr const char* kChunkAtOrBeforeSql =
    "SELECT " WATTLAB_CHUNK_COLUMNS " FROM metric_chunks "
    "WHERE series_id = ?1 AND (first_step, first_timestamp_ms, first_seq) <= (?2, ?3, ?4) "
    "ORDER BY first_step DESC, first_timestamp_ms DESC, first_seq DESC LIMIT 1";
// The chunks starting after the position (and, for a write, at or below ?5..?7), in order.
constexpr const char* kChunksAfterSql =
    "SELECT " WATTLAB_CHUNK_COLUMNS " FROM metric_chunks "
    "WHERE series_id = ?1 AND (first_step, first_timestamp_ms, first_seq) > (?2, ?3, ?4) "
    "ORDER BY first_step, first_timestamp_ms, first_seq";
constexpr const char* kChunksBetweenSql =
    "SELECT " WATTLAB_CHUNK_COLUMNS " FROM metric_chunks "
    "WHERE series_id = ?1 AND (first_step, first_timestamp_ms, first_seq) > (?2, ?3, ?4) "
    "AND (first_step, first_timestamp_ms, first_seq) <= (?5, ?6, ?7) "
    "ORDER BY first_step, first_timestamp_ms, first_seq";

constexpr int kLatestSchemaVersion = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// strerror() text in lower case, as wattlab messages read ("permission denied").
std::string os_error_text(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

Status open_error(const std::string& path, int err, const std::string& detail) {
  std::string msg = "cannot open store " + path + ": " + detail + " — " + kStoreFix;
  if (err == EACCES || err == EPERM || err == EROFS) return Status::permission_denied(msg);
  return Status::io_error(msg);
}

void remove_store_files(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

// The journal mode of the open database ("wal", "delete", ...).
std::string journal_mode(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  std::string mode;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    if (const unsigned char* text = sqlite3_column_text(stmt, 0)) mode = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return mode;
}

// Every table a wattlab store has ever had: those the migrations create.
const std::set<std::string>& wattlab_tables() {
  static const std::set<std::string> tables = [] {
    std::set<std::string> out = {"schema_version"};
    for (const char* migration : kMigrations) {
      const std::string sql = migration;
      for (size_t at = sql.find("CREATE TABLE "); at != std::string::npos; at = sql.find("CREATE TABLE ", at + 1)) {
        size_t name = at + std::strlen("CREATE TABLE ");
        if (sql.compare(name, 14, "IF NOT EXISTS ") == 0) name += 14;
        const size_t end = sql.find_first_of(" (\n", name);
        out.insert(sql.substr(name, end - name));
      }
    }
    return out;
  }();
  return tables;
}

// True when the file at `path` is empty and no non-empty -wal file is beside
// it, after waiting (up to 1 s) for another process that is creating a store
// there to write its first page.
bool stays_empty(const std::string& path) {
  for (int i = 0;; ++i) {
    std::error_code ec, wal_ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    const auto wal_bytes = std::filesystem::file_size(path + "-wal", wal_ec);
    if (ec || bytes > 0 || (!wal_ec && wal_bytes > 0)) return false;
    if (i == 100) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// InvalidArgument, before anything is written, when the existing file at
// `path` (open as `db`) is not a wattlab store: an empty file (unless a
// non-empty -wal file beside it holds a new store's first commits), or a
// database with a table wattlab never made. A file that is no database at
// all fails later, when it is first read (Corrupt).
Status refuse_foreign_file(sqlite3* db, const std::string& path) {
  if (stays_empty(path)) {
    return Status::invalid_argument("cannot open store " + path +
                                    ": the file is empty (0 bytes), so it is not a wattlab store; it was left "
                                    "untouched — delete it to make a new store there, or " + kStoreFix);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Status();
  }
  std::set<std::string> tables;
  while (sqlite3_step(stmt) == SQLITE_ROW) tables.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  // (A store another process is creating right now has some of wattlab's tables only.)
  const bool wattlab = std::all_of(tables.begin(), tables.end(),
                                   [](const std::string& t) { return wattlab_tables().count(t) > 0; });
  if (wattlab) return Status();
  std::string found;
  size_t shown = 0;
  for (const auto& t : tables) {
    if (shown++ == 5) {
      found += ", ...";
      break;
    }
    found += (found.empty() ? "" : ", ") + t;
  }
  return Status::invalid_argument("cannot open store " + path + ": it is another application's SQLite database (" +
                                  "tables " + found + "), not a wattlab store; it was left untouched — " + kStoreFix);
}

}  // namespace

Result<std::string> sqlite_path_from_location(const std::string& location) {
  if (location.empty()) return Status::invalid_argument("store location is empty — give a path such as ./wattlab.db");
  if (starts_with(location, "postgresql://") || starts_with(location, "postgres://")) {
    return Status::invalid_argument("store URI " + location +
                                    " names a PostgreSQL database, not a SQLite file — open it with Store::open");
  }
  if (starts_with(location, "sqlite:")) {
    std::string rest = location.substr(std::strlen("sqlite:"));
    if (auto q = rest.find('?'); q != std::string::npos) rest.resize(q);
    if (rest == "//" || rest == "///:memory:") return std::string(":memory:");
    if (!starts_with(rest, "///") || rest.size() == 3) {
      return Status::invalid_argument("store URI " + location +
                                      " is not of the form sqlite:///relative/path.db or sqlite:////absolute/path.db");
    }
    return rest.substr(3);
  }
  if (location.find("://") != std::string::npos) {
    return Status::invalid_argument("store URI " + location +
                                    " has an unsupported scheme — give a file path or sqlite:////absolute/path.db");
  }
  return location;
}

// A cached prepared statement, reset and unbound when the Query goes away.
class SqliteStore::Query {
 public:
  // `*live` counts the Query objects in use (see wait_durable).
  Query(sqlite3_stmt* stmt, int* live) : stmt_(stmt), live_(live) { ++*live_; }
  Query(Query&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)), live_(other.live_) {}
  Query& operator=(Query&&) = delete;
  ~Query() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      --*live_;
    }
  }

  Query& text(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& int64(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  // NaN is stored as NULL (SQLite has no NaN); read back as NaN by real().
  Query& real(int index, double value) {
    if (std::isnan(value)) sqlite3_bind_null(stmt_, index);
    else sqlite3_bind_double(stmt_, index, value);
    return *this;
  }
  Query& null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // `value` must stay unchanged until the statement is reset.
  Query& blob(int index, const std::string& value) {
    sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    return *this;
  }
  // Binds (step, timestamp_ms, seq) of `p` to `index`, `index` + 1, `index` + 2.
  Query& position(int index, const MetricPoint& p) {
    return int64(index, p.step).int64(index + 1, p.timestamp_ms).int64(index + 2, p.seq);
  }

  // True when a row is ready, false when the statement is done.
  Result<bool> step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Status::internal(std::to_string(rc));  // replaced by the caller's error()
  }
  int rc_of_last_step() const { return sqlite3_errcode(sqlite3_db_handle(stmt_)); }
  // Ready to step again from the first row; the bindings stay.
  void reset() { sqlite3_reset(stmt_); }

  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL ? std::nan("") : sqlite3_column_double(stmt_, col);
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Valid until the next step or reset.
  const void* blob(int col) const { return sqlite3_column_blob(stmt_, col); }
  size_t bytes(int col) const { return static_cast<size_t>(sqlite3_column_bytes(stmt_, col)); }
  // Appends the points of a metric_chunks row selected as
  // WATTLAB_CHUNK_COLUMNS to `*out`.
  Status chunk_points(std::vector<MetricPoint>* out) const {
    return decode_metric_chunk(blob(5), bytes(5), int64(4), out);
  }
  // The last position of such a row.
  MetricPoint chunk_last() const { return {int64(1), int64(2), int64(3), 0}; }
  MetricPoint chunk_first() const { return {int64(6), int64(7), int64(8), 0}; }

 private:
  sqlite3_stmt* stmt_;
  int* live_;
};

// BEGIN ... COMMIT; rolls back unless commit() succeeded. Writers begin
// IMMEDIATE (take the write lock up front, so busy_timeout applies instead of
// a deadlock between two upgrading readers); readers begin DEFERRED to read
// one consistent snapshot. A writer's commit() returns once the commit is as
// durable as the store promises (wait_durable).
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore* store) : store_(store) {}
  ~Transaction() {
    if (begun_ && !committed_) store_->exec("ROLLBACK");
  }
  Status begin(bool write = true) {
    WATTLAB_RETURN_IF_ERROR(store_->exec_cached(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
    begun_ = true;
    write_ = write;
    return Status();
  }
  Status commit() {
    WATTLAB_RETURN_IF_ERROR(store_->exec_cached("COMMIT"));
    committed_ = true;
    return write_ ? store_->wait_durable() : Status();
  }

 private:
  SqliteStore* store_;
  bool begun_ = false;
  bool write_ = false;
  bool committed_ = false;
};

// Runs one statement and fails with the store's error for it.
#define WATTLAB_STEP(query, what)                      \
  do {                                                 \
    auto step_ = (query).step();                       \
    if (!step_.ok()) return error((query).rc_of_last_step(), what); \
  } while (0)

int SqliteStore::latest_schema_version() { return kLatestSchemaVersion; }

SqliteStore::SqliteStore(sqlite3* db, std::string path, std::string artifact_root, Clock* clock)
    : db_(db), path_(std::move(path)), artifact_root_(std::move(artifact_root)), clock_(clock) {}

SqliteStore::~SqliteStore() {
  if (wal_file_) {
    if (wal_file_->pMethods) wal_file_->pMethods->xClose(wal_file_);
    sqlite3_free(wal_file_);
  }
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, Clock* clock,
                                                       const SqliteStoreOptions& options) {
  return open_at(path, clock, kLatestSchemaVersion, options);
}

Status SqliteStore::create_at_schema_version(const std::string& path, int schema_version) {
  WATTLAB_RETURN_IF_ERROR(check_schema_version(schema_version, kLatestSchemaVersion));
  auto store = open_at(path, nullptr, schema_version, {});
  return store.ok() ? Status() : store.status();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open_at(const std::string& path, Clock* clock, int target_version,
                                                          const SqliteStoreOptions& options) {
  if (clock == nullptr) clock = &Env::system().clock();
  namespace fs = std::filesystem;
  const bool in_memory = path == ":memory:";
  bool existed = false;
  std::string artifact_root = "./artifacts";
  if (!in_memory) {
    if (path.empty()) return Status::invalid_argument("store path is empty — give a path such as ./wattlab.db");
    std::error_code ec;
    fs::path p(path);
    if (fs::is_directory(p, ec)) {
      return Status::invalid_argument("cannot open store " + path + ": it is a folder — give a file path such as " +
                                      (p / "wattlab.db").string());
    }
    fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (!fs::exists(parent, ec)) {
      return Status::not_found("cannot open store " + path + ": folder " + parent.string() +
                               " does not exist — create it or " + kStoreFix);
    }
    if (!fs::is_directory(parent, ec)) {
      return open_error(path, ENOTDIR, parent.string() + " is not a folder");
    }
    existed = fs::exists(p, ec);
    if (existed ? access(path.c_str(), R_OK | W_OK) != 0 : access(parent.c_str(), W_OK | X_OK) != 0) {
      int err = errno;
      return open_error(path, err, os_error_text(err));
    }
    artifact_root = (fs::absolute(parent, ec).lexically_normal() / "artifacts").string();
  }

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    int err = db ? sqlite3_system_errno(db) : 0;
    std::string detail = err ? os_error_text(err) : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (err == ENOENT) detail = "cannot create a file there (" + detail + ")";
    sqlite3_close_v2(db);
    if (!existed && !in_memory) remove_store_files(path);
    return open_error(path, err, detail);
  }
  if (!in_memory && sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close_v2(db);
    if (!existed) remove_store_files(path);
    return open_error(path, EACCES, "the file is read-only");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path, artifact_root, clock));
  if (existed) {
    // Before anything is written: a file that is not a wattlab store stays untouched.
    Status foreign = refuse_foreign_file(db, path);
    if (!foreign.ok()) return foreign;
  }
  Status s = [&]() -> Status {
    std::lock_guard<std::mutex> lock(store->mu_);
    WATTLAB_RETURN_IF_ERROR(store->exec("PRAGMA foreign_keys = ON"));
    // Statement journals (and temporary tables) in memory, in small pieces.
    // Otherwise every write statement inside a transaction takes and frees a
    // 64 KiB buffer, and glibc hands that back to the kernel each time (a
    // trim, and TLB shootdowns on the other cores): half the time of a
    // one-metric log_batch. Sorts still spill to temporary files.
    WATTLAB_RETURN_IF_ERROR(store->exec("PRAGMA temp_store = MEMORY"));
    if (!in_memory) {
      WATTLAB_RETURN_IF_ERROR(store->exec("PRAGMA journal_mode = WAL"));
      WATTLAB_RETURN_IF_ERROR(store->exec("PRAGMA synchronous = NORMAL"));
      // Without WAL (a file system without shared memory) SQLite's rollback
      // journal with synchronous=NORMAL syncs every commit itself.
      store->sync_commits_ = options.durability == Durability::kPowerLoss && journal_mode(db) == "wal";
      sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &store->vfs_);
      store->wal_name_ = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
    }
    WATTLAB_RETURN_IF_ERROR(store->migrate(target_version));
    return store->ensure_default_experiment();
  }();
  if (!s.ok()) {
    store.reset();
    if (!existed && !in_memory) remove_store_files(path);
    if (s.code() == Status::Code::kPermissionDenied || s.code() == Status::Code::kIoError) {
      return open_error(path, s.code() == Status::Code::kPermissionDenied ? EACCES : EIO, s.message());
    }
    return s.with_context("cannot open store " + path);
  }
  return store;
}

Status SqliteStore::error(int rc, const std::string& what) {
  std::string msg = what + ": " + sqlite3_errmsg(db_) + " (store " + path_ + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED:
      return Status::unavailable(msg + " — another process holds the store locked; retry later");
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return Status::permission_denied(msg);
    case SQLITE_CORRUPT: case SQLITE_NOTADB:
      return Status::corrupt(msg + " — the file is not a usable wattlab store");
    case SQLITE_IOERR: case SQLITE_FULL: case SQLITE_CANTOPEN: return Status::io_error(msg);
    // The caller's input: its message names no server path (servers show it).
    case SQLITE_CONSTRAINT: return Status::invalid_argument(what + ": " + sqlite3_errmsg(db_));
    default: return Status::internal(msg);
  }
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) {
    std::string first_line(sql);
    first_line = first_line.substr(0, first_line.find_first_of("\n(", 1));
    return error(rc, "cannot run " + first_line);
  }
  return Status();
}

Status SqliteStore::exec_cached(const char* sql) {
  auto q = prepare(sql);
  if (!q.ok()) return q.status();
  if (!q->step().ok()) return error(q->rc_of_last_step(), std::string("cannot run ") + sql);
  return Status();
}

Status SqliteStore::wait_durable() {
  if (!sync_commits_) return Status();
  const uint64_t ticket = ++commits_;
  // Without the store's lock other writers commit meanwhile and share the
  // sync. A live Query would share its cached statement with them, so then
  // the lock stays (no write path here keeps one across its commit).
  const bool release = live_queries_ == 0;
  if (release) mu_.unlock();
  Status status;
  {
    std::unique_lock lock(sync_mu_);
    while (durable_commits_ < ticket && sync_failure_.ok()) {
      if (syncing_) {
        synced_.wait(lock);
        continue;
      }
      // Lead a sync: it covers every commit made so far, ours included.
      syncing_ = true;
      const uint64_t covered = commits_.load();
      lock.unlock();
      Status synced = sync_wal();
      lock.lock();
      syncing_ = false;
      if (synced.ok()) durable_commits_ = std::max(durable_commits_, covered);
      else sync_failure_ = synced;
      synced_.notify_all();
    }
    status = sync_failure_;
  }
  if (release) mu_.lock();
  return status;
}

Status SqliteStore::sync_wal() {
  auto failed = [this](const std::string& what) {
    return Status::io_error("cannot make the store's last writes durable (" + what + " of " + path_ +
                            "-wal failed); they may be lost in a crash of the OS or a power loss — check the disk, "
                            "then restart");
  };
  if (!wal_file_) {
    // Our own handle, through the connection's VFS: the connection's may be
    // writing meanwhile. The WAL holds no POSIX locks, so closing it later
    // releases none of the connection's.
    auto* file = static_cast<sqlite3_file*>(sqlite3_malloc(vfs_->szOsFile));
    if (!file) return failed("allocating a handle");
    std::memset(file, 0, static_cast<size_t>(vfs_->szOsFile));
    int flags = 0;
    if (vfs_->xOpen(vfs_, wal_name_, file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_WAL, &flags) != SQLITE_OK) {
      if (file->pMethods) file->pMethods->xClose(file);
      sqlite3_free(file);
      return failed("opening");
    }
    wal_file_ = file;
  }
  if (wal_file_->pMethods->xSync(wal_file_, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY) != SQLITE_OK) {
    return failed("fdatasync");
  }
  if (!dir_synced_) {
    // The WAL's (and a new store's) name in its folder, once.
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool ok = dir >= 0 && ::fsync(dir) == 0;
    if (dir >= 0) ::close(dir);
    if (!ok) return failed("syncing the folder");
    dir_synced_ = true;
  }
  return Status();
}

Result<SqliteStore::Query> SqliteStore::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error(rc, std::string("cannot prepare ") + sql);
    it = statements_.emplace(sql, stmt).first;
  }
  return Query(it->second, &live_queries_);
}

#define WATTLAB_PREPARE(var, sql)           \
  auto var##_result = prepare(sql);         \
  if (!var##_result.ok()) return var##_result.status(); \
  Query& var = *var##_result

Result<int> SqliteStore::schema_version() {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_PREPARE(q, "SELECT version FROM schema_version");
  auto row = q.step();
  if (!row.ok()) return error(q.rc_of_last_step(), "cannot read schema_version");
  return *row ? static_cast<int>(q.int64(0)) : 0;
}

Status SqliteStore::migrate(int target_version) {
  WATTLAB_RETURN_IF_ERROR(exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  int version = 0;
  bool has_row = false;
  {
    WATTLAB_PREPARE(q, "SELECT version FROM schema_version");
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read schema_version");
    has_row = *row;
    if (has_row) version = static_cast<int>(q.int64(0));
  }
  if (version > kLatestSchemaVersion) {
    return Status::unavailable("schema version " + std::to_string(version) + " is newer than this wattlab knows (" +
                               std::to_string(kLatestSchemaVersion) + ") — upgrade wattlab");
  }
  if (version >= target_version) return txn.commit();
  for (int v = version; v < target_version; ++v) {
    WATTLAB_RETURN_IF_ERROR(exec(kMigrations[v]).with_context("migration " + std::to_string(v + 1)));
    if (v + 1 == kChunkedMetricsVersion) {
      WATTLAB_RETURN_IF_ERROR(chunk_metric_points().with_context("migration " + std::to_string(v + 1)));
    }
  }
  {
    WATTLAB_PREPARE(q, has_row ? "UPDATE schema_version SET version = ?1" : "INSERT INTO schema_version VALUES (?1)");
    q.int64(1, target_version);
    WATTLAB_STEP(q, "cannot record schema_version");
  }
  return txn.commit();
}

Status SqliteStore::ensure_default_experiment() {
  WATTLAB_PREPARE(q,
                  "INSERT OR IGNORE INTO experiments (experiment_id, name, artifact_location, creation_time_ms, "
                  "last_update_time_ms) VALUES (0, 'Default', ?1, ?2, ?2)");
  int64_t now = clock_->wall_ms();
  q.text(1, artifact_root_ + "/0").int64(2, now);
  WATTLAB_STEP(q, "cannot create the Default experiment");
  return Status();
}

// ---- experiments ----

Result<Experiment> SqliteStore::read_experiment(const std::string& experiment_id) {
  bool numeric = !experiment_id.empty() && experiment_id.size() <= 18 &&
                 std::all_of(experiment_id.begin(), experiment_id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric) return Status::not_found("no experiment with id '" + experiment_id + "'");
  Experiment e;
  {
    WATTLAB_PREPARE(q,
                    "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time_ms, "
                    "last_update_time_ms FROM experiments WHERE experiment_id = ?1");
    q.int64(1, std::stoll(experiment_id));
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read experiment " + experiment_id);
    if (!*row) return Status::not_found("no experiment with id " + experiment_id);
    e.experiment_id = std::to_string(q.int64(0));
    e.name = q.text(1);
    e.artifact_location = q.text(2);
    e.lifecycle_stage = q.text(3);
    e.creation_time_ms = q.int64(4);
    e.last_update_time_ms = q.int64(5);
  }
  WATTLAB_PREPARE(t, "SELECT key, value FROM experiment_tags WHERE experiment_id = ?1");
  t.int64(1, std::stoll(e.experiment_id));
  for (;;) {
    auto row = t.step();
    if (!row.ok()) return error(t.rc_of_last_step(), "cannot read tags of experiment " + experiment_id);
    if (!*row) break;
    e.tags[t.text(0)] = t.text(1);
  }
  return e;
}

Result<std::string> SqliteStore::get_or_create_experiment(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("experiment name is empty");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  {
    WATTLAB_PREPARE(q, "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?1");
    q.text(1, name);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up experiment '" + name + "'");
    if (*row) {
      if (q.text(1) != kLifecycleActive) {
        return Status::invalid_argument("experiment '" + name + "' is deleted — restore it or choose another name");
      }
      return std::to_string(q.int64(0));
    }
  }
  int64_t now = clock_->wall_ms();
  int64_t id = 0;
  {
    WATTLAB_PREPARE(q,
                    "INSERT INTO experiments (name, artifact_location, creation_time_ms, last_update_time_ms) "
                    "VALUES (?1, '', ?2, ?2)");
    q.text(1, name).int64(2, now);
    WATTLAB_STEP(q, "cannot create experiment '" + name + "'");
    id = sqlite3_last_insert_rowid(db_);
  }
  {
    WATTLAB_PREPARE(q, "UPDATE experiments SET artifact_location = ?2 WHERE experiment_id = ?1");
    q.int64(1, id).text(2, artifact_root_ + "/" + std::to_string(id));
    WATTLAB_STEP(q, "cannot set the artifact location of experiment '" + name + "'");
  }
  WATTLAB_RETURN_IF_ERROR(txn.commit());
  return std::to_string(id);
}

Result<Experiment> SqliteStore::get_experiment(const std::string& experiment_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return read_experiment(experiment_id);
}

Result<std::vector<Experiment>> SqliteStore::list_experiments() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  {
    WATTLAB_PREPARE(q, "SELECT experiment_id FROM experiments ORDER BY experiment_id");
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot list experiments");
      if (!*row) break;
      ids.push_back(std::to_string(q.int64(0)));
    }
  }
  std::vector<Experiment> out;
  for (const auto& id : ids) {
    auto e = read_experiment(id);
    if (!e.ok()) return e.status();
    out.push_back(std::move(e).value());
  }
  return out;
}

Status SqliteStore::set_experiment_tag(const std::string& experiment_id, const std::string& key,
                                       const std::string& value) {
  WATTLAB_RETURN_IF_ERROR(validate_entity_key("tag", key));
  std::lock_guard<std::mutex> lock(mu_);
  auto e = read_experiment(experiment_id);
  if (!e.ok()) return e.status();
  WATTLAB_PREPARE(q,
                  "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value");
  q.int64(1, std::stoll(e->experiment_id)).text(2, key).text(3, value);
  WATTLAB_STEP(q, "cannot set tag '" + key + "' of experiment " + experiment_id);
  return Status();
}

Status SqliteStore::touch_experiment(const std::string& experiment_id) {
  WATTLAB_PREPARE(q, "UPDATE experiments SET last_update_time_ms = ?2 WHERE experiment_id = ?1");
  q.int64(1, std::stoll(experiment_id)).int64(2, clock_->wall_ms());
  WATTLAB_STEP(q, "cannot update experiment " + experiment_id);
  return Status();
}

// ---- runs ----

Result<RunInfo> SqliteStore::create_run(const std::string& experiment_id, const std::string& run_name,
                                        int64_t start_time_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = read_experiment(experiment_id);
  if (!e.ok()) return e.status();
  if (e->lifecycle_stage != kLifecycleActive) {
    return Status::invalid_argument("experiment " + experiment_id + " is deleted; cannot add runs to it");
  }
  RunInfo info;
  info.run_id = new_run_id();
  info.experiment_id = e->experiment_id;
  info.run_name = run_name;
  info.status = RunStatus::kRunning;
  info.start_time_ms = start_time_ms;
  info.artifact_uri = e->artifact_location + "/" + info.run_id + "/artifacts";
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  {
    WATTLAB_PREPARE(q,
                    "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time_ms, end_time_ms, "
                    "lifecycle_stage, artifact_uri) VALUES (?1, ?2, ?3, ?4, ?5, NULL, 'active', ?6)");
    q.text(1, info.run_id)
        .int64(2, std::stoll(info.experiment_id))
        .text(3, info.run_name)
        .text(4, run_status_name(info.status))
        .int64(5, info.start_time_ms)
        .text(6, info.artifact_uri);
    WATTLAB_STEP(q, "cannot create a run in experiment " + experiment_id);
  }
  WATTLAB_RETURN_IF_ERROR(touch_experiment(info.experiment_id));
  WATTLAB_RETURN_IF_ERROR(txn.commit());
  return info;
}

Status SqliteStore::require_run(const std::string& run_id) {
  WATTLAB_PREPARE(q, "SELECT 1 FROM runs WHERE run_id = ?1");
  q.text(1, run_id);
  auto row = q.step();
  if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up run " + run_id);
  if (!*row) return Status::not_found("no run with id " + run_id);
  return Status();
}

Status SqliteStore::update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  std::string experiment_id;
  {
    WATTLAB_PREPARE(q, "SELECT experiment_id FROM runs WHERE run_id = ?1");
    q.text(1, run_id);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up run " + run_id);
    if (!*row) return Status::not_found("no run with id " + run_id);
    experiment_id = std::to_string(q.int64(0));
  }
  {
    WATTLAB_PREPARE(q, "UPDATE runs SET status = ?2, end_time_ms = COALESCE(?3, end_time_ms) WHERE run_id = ?1");
    q.text(1, run_id).text(2, run_status_name(status));
    if (end_time_ms) q.int64(3, *end_time_ms);
    else q.null(3);
    WATTLAB_STEP(q, "cannot update run " + run_id);
  }
  WATTLAB_RETURN_IF_ERROR(touch_experiment(experiment_id));
  return txn.commit();
}

Status SqliteStore::log_batch(const std::string& run_id, const std::vector<Metric>& metrics,
                              const std::vector<Param>& params, const std::vector<RunTag>& tags) {
  auto batch = batch_series(metrics);
  if (!batch.ok()) return batch.status();
  auto& series = batch->series;
  for (const auto& t : tags) {
    WATTLAB_RETURN_IF_ERROR(validate_entity_key("tag", t.key));
    WATTLAB_RETURN_IF_ERROR(validate_tag_value(t.key, t.value));
  }
  std::map<std::string, const std::string*> batch_params;
  for (const auto& p : params) {
    WATTLAB_RETURN_IF_ERROR(validate_entity_key("param", p.key));
    WATTLAB_RETURN_IF_ERROR(validate_param_value(p.key, p.value));
    auto [it, inserted] = batch_params.emplace(p.key, &p.value);
    if (!inserted && *it->second != p.value) {
      return Status::invalid_argument("param '" + p.key + "' is given twice with different values ('" +
                                      *it->second + "' and '" + p.value + "'); params are write-once");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  // Inside the transaction: one lock cycle instead of two, and the run
  // cannot be deleted between the check and the write.
  WATTLAB_RETURN_IF_ERROR(require_active_run(run_id));
  for (const auto& [key, value] : batch_params) {
    {
      WATTLAB_PREPARE(q, "SELECT value FROM params WHERE run_id = ?1 AND key = ?2");
      q.text(1, run_id).text(2, key);
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read param '" + key + "'");
      if (*row) {
        std::string old = q.text(0);
        if (old == *value) continue;
        return Status::invalid_argument("param '" + key + "' of run " + run_id + " is already '" + old +
                                        "' and cannot be changed to '" + *value +
                                        "' — params are write-once; use a tag or start a new run");
      }
    }
    WATTLAB_PREPARE(q, "INSERT INTO params (run_id, key, value) VALUES (?1, ?2, ?3)");
    q.text(1, run_id).text(2, key).text(3, *value);
    WATTLAB_STEP(q, "cannot log param '" + key + "'");
  }
  for (const auto& t : tags) {
    WATTLAB_PREPARE(q,
                    "INSERT INTO tags (run_id, key, value) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value");
    q.text(1, run_id).text(2, t.key).text(3, t.value);
    WATTLAB_STEP(q, "cannot set tag '" + t.key + "'");
  }
  if (metrics.empty()) return txn.commit();
  // One upsert per key: creates the series, moves its latest point when the
  // batch's newest is at least as new (the last logged wins a tie), and
  // reserves seq numbers for the batch's points.
  {
    WATTLAB_PREPARE(q,
                    "INSERT INTO metric_series (run_id, key, value, timestamp_ms, step, points) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) " WATTLAB_METRIC_SERIES_ON_CONFLICT
                    "RETURNING series_id, points");
    for (auto& [key, b] : series) {
      q.text(1, run_id).text(2, b.newest->key).real(3, b.newest->value).int64(4, b.newest->timestamp_ms);
      q.int64(5, b.newest->step).int64(6, b.points);
      auto row = q.step();
      if (!row.ok() || !*row) return error(q.rc_of_last_step(), "cannot log metric '" + b.newest->key + "'");
      b.series_id = q.int64(0);
      b.next_seq = q.int64(1) - b.points;
      q.reset();
    }
  }
  // The points get their seq in logging order, then go in series by
  // series, each sorted by position (usually already: steps logged in order).
  std::vector<std::vector<MetricPoint>> by_series(series.size());
  for (auto& [key, b] : series) by_series[b.ordinal].reserve(static_cast<size_t>(b.points));
  for (size_t i = 0; i < metrics.size(); ++i) {
    const Metric& m = metrics[i];
    BatchSeries& b = *batch->series_of[i];
    by_series[b.ordinal].push_back({m.step, m.timestamp_ms, b.next_seq++, m.value});
  }
  for (auto& [key, b] : series) {
    std::vector<MetricPoint>& points = by_series[b.ordinal];
    if (!std::is_sorted(points.begin(), points.end())) std::sort(points.begin(), points.end());
    WATTLAB_RETURN_IF_ERROR(write_metric_points(b.series_id, points));
  }
  return txn.commit();
}

Status SqliteStore::log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  for (const auto& w : windows) {
    int64_t window_id = 0;
    {
      WATTLAB_PREPARE(q,
                      "INSERT INTO energy_windows (run_id, name, start_ms, end_ms, duration_s) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)");
      q.text(1, run_id).text(2, w.name).int64(3, w.start_ms).int64(4, w.end_ms).real(5, w.duration_s);
      WATTLAB_STEP(q, "cannot log energy window '" + w.name + "'");
      window_id = sqlite3_last_insert_rowid(db_);
    }
    for (size_t i = 0; i < w.domains.size(); ++i) {
      const auto& d = w.domains[i];
      WATTLAB_PREPARE(q,
                      "INSERT INTO energy_window_domains (window_id, ordinal, name, energy_j, estimated, counts_in_total) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      q.int64(1, window_id).int64(2, static_cast<int64_t>(i)).text(3, d.name).real(4, d.energy_j).int64(5, d.estimated);
      q.int64(6, d.counts_in_total);
      WATTLAB_STEP(q, "cannot log domain '" + d.name + "' of energy window '" + w.name + "'");
    }
  }
  return txn.commit();
}

Status SqliteStore::log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                                      const std::vector<PowerSample>& samples) {
  for (const auto& s : samples) {
    if (s.power_w.size() != domain_names.size()) {
      return Status::invalid_argument("power sample at " + std::to_string(s.timestamp_ms) + " ms has " +
                                      std::to_string(s.power_w.size()) + " values for " +
                                      std::to_string(domain_names.size()) + " domains");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  for (const auto& s : samples) {
    for (size_t i = 0; i < domain_names.size(); ++i) {
      WATTLAB_PREPARE(q, "INSERT INTO power_samples (run_id, timestamp_ms, domain, power_w) VALUES (?1, ?2, ?3, ?4)");
      q.text(1, run_id).int64(2, s.timestamp_ms).text(3, domain_names[i]).real(4, s.power_w[i]);
      WATTLAB_STEP(q, "cannot log a power sample of domain '" + domain_names[i] + "'");
    }
  }
  return txn.commit();
}

Status SqliteStore::set_environment(const std::string& run_id,
                                    const std::map<std::string, std::string>& environment) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  for (const auto& [key, value] : environment) {
    WATTLAB_PREPARE(q,
                    "INSERT INTO run_environment (run_id, key, value) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value");
    q.text(1, run_id).text(2, key).text(3, value);
    WATTLAB_STEP(q, "cannot record environment key '" + key + "'");
  }
  return txn.commit();
}

// ---- reads ----

Result<std::string> SqliteStore::resolve_run_id(const std::string& run_id_or_prefix) {
  const std::string id = to_lower(run_id_or_prefix);
  {
    WATTLAB_PREPARE(q, "SELECT run_id FROM runs WHERE run_id = ?1");
    q.text(1, id);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up run " + id);
    if (*row) return id;
  }
  if (id.empty() || !is_hex(id)) return Status::not_found("no run with id '" + run_id_or_prefix + "'");
  if (id.size() < kMinRunIdPrefix) {
    return Status::invalid_argument("run id prefix '" + run_id_or_prefix + "' is too short — give at least " +
                                    std::to_string(kMinRunIdPrefix) + " characters of the run id");
  }
  // Hex ids sort below id + "g", so this range is exactly the ids with the prefix.
  WATTLAB_PREPARE(q, "SELECT run_id FROM runs WHERE run_id >= ?1 AND run_id < ?2 ORDER BY run_id LIMIT 2");
  q.text(1, id).text(2, id + "g");
  std::vector<std::string> matches;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up run prefix " + id);
    if (!*row) break;
    matches.push_back(q.text(0));
  }
  if (matches.empty()) return Status::not_found("no run with id starting '" + run_id_or_prefix + "'");
  if (matches.size() > 1) {
    return Status::invalid_argument("run id prefix '" + run_id_or_prefix + "' is ambiguous: it matches " +
                                    matches[0] + ", " + matches[1] + " and maybe more — give more characters");
  }
  return matches[0];
}

Result<RunData> SqliteStore::get_run(const std::string& run_id_or_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction snapshot(this);
  WATTLAB_RETURN_IF_ERROR(snapshot.begin(/*write=*/false));
  auto resolved = resolve_run_id(run_id_or_prefix);
  if (!resolved.ok()) return resolved.status();
  auto data = read_run(*resolved, /*with_extras=*/true);
  if (!data.ok()) return data.status();
  WATTLAB_RETURN_IF_ERROR(snapshot.commit());
  return data;
}

Status SqliteStore::read_run_info(Query& q, RunInfo* info) {
  info->run_id = q.text(0);
  info->experiment_id = std::to_string(q.int64(1));
  info->run_name = q.text(2);
  auto status = parse_run_status(q.text(3));
  if (!status.ok()) return Status::corrupt("run " + info->run_id + " has " + status.status().message());
  info->status = *status;
  info->start_time_ms = q.int64(4);
  if (!q.is_null(5)) info->end_time_ms = q.int64(5);
  info->lifecycle_stage = q.text(6);
  info->artifact_uri = q.text(7);
  return Status();
}

Result<RunData> SqliteStore::read_run(const std::string& run_id, bool with_extras) {
  RunData data;
  {
    WATTLAB_PREPARE(q,
                    "SELECT run_id, experiment_id, run_name, status, start_time_ms, end_time_ms, lifecycle_stage, "
                    "artifact_uri FROM runs WHERE run_id = ?1");
    q.text(1, run_id);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read run " + run_id);
    if (!*row) return Status::not_found("no run with id " + run_id);
    RunInfo& info = data.info;
    if (Status s = read_run_info(q, &info); !s.ok()) return s;
  }
  auto read_map = [&](const char* sql, std::map<std::string, std::string>* out, const char* what) -> Status {
    WATTLAB_PREPARE(q, sql);
    q.text(1, run_id);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), std::string("cannot read ") + what + " of run " + run_id);
      if (!*row) return Status();
      (*out)[q.text(0)] = q.text(1);
    }
  };
  WATTLAB_RETURN_IF_ERROR(read_map("SELECT key, value FROM params WHERE run_id = ?1", &data.params, "params"));
  WATTLAB_RETURN_IF_ERROR(read_map("SELECT key, value FROM tags WHERE run_id = ?1", &data.tags, "tags"));
  if (with_extras) {
    WATTLAB_RETURN_IF_ERROR(read_map("SELECT key, value FROM run_environment WHERE run_id = ?1", &data.environment,
                                     "environment"));
  }
  {
    WATTLAB_PREPARE(q, "SELECT key, value, timestamp_ms, step FROM metric_series WHERE run_id = ?1");
    q.text(1, run_id);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metrics of run " + run_id);
      if (!*row) break;
      Metric m{q.text(0), q.real(1), q.int64(2), q.int64(3)};
      data.latest_metrics[m.key] = m;
    }
  }
  if (with_extras) {
    WATTLAB_PREPARE(q,
                    "SELECT w.window_id, w.name, w.start_ms, w.end_ms, w.duration_s, d.name, d.energy_j, d.estimated, d.counts_in_total "
                    "FROM energy_windows w LEFT JOIN energy_window_domains d ON d.window_id = w.window_id "
                    "WHERE w.run_id = ?1 ORDER BY w.window_id, d.ordinal");
    q.text(1, run_id);
    int64_t current = -1;
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read energy windows of run " + run_id);
      if (!*row) break;
      if (q.int64(0) != current) {
        current = q.int64(0);
        data.energy_windows.push_back({q.text(1), q.int64(2), q.int64(3), q.real(4), {}});
      }
      if (!q.is_null(5)) data.energy_windows.back().domains.push_back({q.text(5), q.real(6), q.int64(7) != 0, q.int64(8) != 0});
    }
  }
  return data;
}

Result<std::vector<RunData>> SqliteStore::read_runs(const std::vector<std::string>& run_ids) {
  std::vector<RunData> runs(run_ids.size());
  std::unordered_map<std::string, size_t> at;
  // The ids as one JSON array, which json_each() hands to each query's IN.
  std::string ids = "[";
  for (size_t i = 0; i < run_ids.size(); ++i) {
    at.emplace(run_ids[i], i);
    ids += i ? ",\"" : "\"";
    for (char c : run_ids[i]) {
      if (c == '"' || c == '\\') ids += '\\';
      ids += c;
    }
    ids += '"';
  }
  ids += "]";
  {
    WATTLAB_PREPARE(q,
                    "SELECT run_id, experiment_id, run_name, status, start_time_ms, end_time_ms, lifecycle_stage, "
                    "artifact_uri FROM runs WHERE run_id IN (SELECT value FROM json_each(?1))");
    q.text(1, ids);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read runs");
      if (!*row) break;
      RunInfo& info = runs[at.at(q.text(0))].info;
      if (Status s = read_run_info(q, &info); !s.ok()) return s;
    }
  }
  auto read_maps = [&](const char* sql, std::map<std::string, std::string> RunData::*member, const char* what) -> Status {
    WATTLAB_PREPARE(q, sql);
    q.text(1, ids);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), std::string("cannot read the runs' ") + what);
      if (!*row) return Status();
      (runs[at.at(q.text(0))].*member)[q.text(1)] = q.text(2);
    }
  };
  WATTLAB_RETURN_IF_ERROR(read_maps("SELECT run_id, key, value FROM params WHERE run_id IN (SELECT value FROM json_each(?1))",
                                    &RunData::params, "params"));
  WATTLAB_RETURN_IF_ERROR(read_maps("SELECT run_id, key, value FROM tags WHERE run_id IN (SELECT value FROM json_each(?1))",
                                    &RunData::tags, "tags"));
  {
    WATTLAB_PREPARE(q, "SELECT run_id, key, value, timestamp_ms, step FROM metric_series "
                       "WHERE run_id IN (SELECT value FROM json_each(?1))");
    q.text(1, ids);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read the runs' metrics");
      if (!*row) break;
      Metric m{q.text(1), q.real(2), q.int64(3), q.int64(4)};
      runs[at.at(q.text(0))].latest_metrics[m.key] = std::move(m);
    }
  }
  return runs;
}

Result<std::vector<RunInfo>> SqliteStore::list_runs(const ListRunsOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t experiment_id = -1;
  if (options.experiment_name) {
    WATTLAB_PREPARE(q, "SELECT experiment_id FROM experiments WHERE name = ?1");
    q.text(1, *options.experiment_name);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up experiment '" + *options.experiment_name + "'");
    if (!*row) return Status::not_found("no experiment named '" + *options.experiment_name + "'");
    experiment_id = q.int64(0);
  }
  WATTLAB_PREPARE(q,
                  "SELECT run_id, experiment_id, run_name, status, start_time_ms, end_time_ms, lifecycle_stage, "
                  "artifact_uri FROM runs WHERE (?1 < 0 OR experiment_id = ?1) AND lifecycle_stage = 'active' "
                  "ORDER BY start_time_ms DESC, rowid DESC LIMIT ?2");
  q.int64(1, experiment_id).int64(2, options.limit > 0 ? options.limit : -1);
  std::vector<RunInfo> runs;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot list runs");
    if (!*row) break;
    RunInfo info;
    if (Status s = read_run_info(q, &info); !s.ok()) return s;
    runs.push_back(std::move(info));
  }
  return runs;
}

Result<std::vector<Metric>> SqliteStore::get_metric_history(const std::string& run_id, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction snapshot(this);
  WATTLAB_RETURN_IF_ERROR(snapshot.begin(/*write=*/false));
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  std::vector<Metric> history;
  auto series = find_series(run_id, key);
  if (!series.ok()) return series.status();
  if (!*series) return history;
  WATTLAB_PREPARE(q, kChunksAfterSql);
  q.int64(1, **series).position(2, kBeforeEveryPoint);
  std::vector<MetricPoint> chunk;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric '" + key + "' of run " + run_id);
    if (!*row) break;
    chunk.clear();
    WATTLAB_RETURN_IF_ERROR(q.chunk_points(&chunk));
    for (const MetricPoint& p : chunk) history.push_back({key, p.value, p.timestamp_ms, p.step});
  }
  WATTLAB_RETURN_IF_ERROR(snapshot.commit());
  return history;
}

Result<PowerTimeline> SqliteStore::get_power_samples(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  WATTLAB_PREPARE(q,
                  "SELECT timestamp_ms, domain, power_w FROM power_samples WHERE run_id = ?1 "
                  "ORDER BY timestamp_ms, rowid");
  q.text(1, run_id);
  store_support::PowerTimelineBuilder timeline;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read power samples of run " + run_id);
    if (!*row) break;
    timeline.add(q.int64(0), q.text(1), q.real(2));
  }
  return timeline.take();
}

Result<PowerTimeline> SqliteStore::get_power_samples_sampled(const std::string& run_id, std::optional<int64_t> from_ms,
                                                             std::optional<int64_t> to_ms, int max_points) {
  WATTLAB_RETURN_IF_ERROR(store_support::check_power_sampling(from_ms, to_ms, max_points));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);  // one snapshot for every seek
  WATTLAB_RETURN_IF_ERROR(txn.begin(false));
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  static const std::string kSql = store_support::sampled_power_sql(SqlDialect::kSqlite);
  WATTLAB_PREPARE(q, kSql.c_str());
  q.text(1, run_id).int64(4, max_points);
  if (from_ms) q.int64(2, *from_ms);
  if (to_ms) q.int64(3, *to_ms);
  store_support::PowerTimelineBuilder timeline;
  for (;;) {
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read power samples of run " + run_id);
    if (!*row) break;
    timeline.add(q.int64(0), q.text(1), q.real(2));
  }
  return timeline.take();
}

// ---- MLflow REST operations: experiment lifecycle, run lifecycle, search ----

namespace {

// A statement prepared for one use (search SQL varies with the filter's
// shape, so it is not cached); finalized on destruction.
struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using OwnedStatement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

void bind_values(sqlite3_stmt* stmt, const std::vector<SqlValue>& values, int first_index) {
  for (size_t i = 0; i < values.size(); ++i) {
    int index = first_index + static_cast<int>(i);
    const SqlValue& v = values[i];
    if (auto* n = std::get_if<int64_t>(&v)) sqlite3_bind_int64(stmt, index, *n);
    else if (auto* d = std::get_if<double>(&v)) sqlite3_bind_double(stmt, index, *d);
    else {
      const auto& t = std::get<std::string>(v);
      sqlite3_bind_text(stmt, index, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
    }
  }
}

// The lifecycle_stage literal a view selects; nullptr for ViewType::kAll.

}  // namespace

Result<std::string> SqliteStore::create_experiment(const std::string& name, const std::string& artifact_location,
                                                   const std::map<std::string, std::string>& tags) {
  if (name.empty()) return Status::invalid_argument("experiment name is empty — give a name");
  for (const auto& [key, value] : tags) {
    WATTLAB_RETURN_IF_ERROR(validate_entity_key("tag", key));
    WATTLAB_RETURN_IF_ERROR(validate_tag_value(key, value));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  {
    WATTLAB_PREPARE(q, "SELECT lifecycle_stage FROM experiments WHERE name = ?1");
    q.text(1, name);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up experiment '" + name + "'");
    if (*row) {
      return Status::already_exists("experiment '" + name + "' already exists" +
                                    (q.text(0) == kLifecycleDeleted ? " (deleted; restore it or choose another name)"
                                                                   : ""));
    }
  }
  int64_t now = clock_->wall_ms();
  int64_t id = 0;
  {
    WATTLAB_PREPARE(q,
                    "INSERT INTO experiments (name, artifact_location, creation_time_ms, last_update_time_ms) "
                    "VALUES (?1, '', ?2, ?2)");
    q.text(1, name).int64(2, now);
    WATTLAB_STEP(q, "cannot create experiment '" + name + "'");
    id = sqlite3_last_insert_rowid(db_);
  }
  {
    WATTLAB_PREPARE(q, "UPDATE experiments SET artifact_location = ?2 WHERE experiment_id = ?1");
    q.int64(1, id).text(2, artifact_location.empty() ? artifact_root_ + "/" + std::to_string(id) : artifact_location);
    WATTLAB_STEP(q, "cannot set the artifact location of experiment '" + name + "'");
  }
  for (const auto& [key, value] : tags) {
    WATTLAB_PREPARE(q, "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)");
    q.int64(1, id).text(2, key).text(3, value);
    WATTLAB_STEP(q, "cannot set tag '" + key + "' of experiment '" + name + "'");
  }
  WATTLAB_RETURN_IF_ERROR(txn.commit());
  return std::to_string(id);
}

Result<Experiment> SqliteStore::get_experiment_by_name(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id;
  {
    WATTLAB_PREPARE(q, "SELECT experiment_id FROM experiments WHERE name = ?1");
    q.text(1, name);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up experiment '" + name + "'");
    if (!*row) return Status::not_found("no experiment named '" + name + "'");
    id = std::to_string(q.int64(0));
  }
  return read_experiment(id);
}

Result<ExperimentsPage> SqliteStore::search_experiments(const SearchExperimentsOptions& options) {
  WATTLAB_RETURN_IF_ERROR(check_max_results(options.max_results, kSearchMaxResultsLimit));
  auto offset = decode_page_token(options.page_token);
  if (!offset.ok()) return offset.status();
  auto filter = parse_filter(options.filter);
  if (!filter.ok()) return filter.status();
  auto where = compile_experiment_filter(*filter);
  if (!where.ok()) return where.status();
  auto terms = parse_order_by_list(options.order_by);
  if (!terms.ok()) return terms.status();
  auto order = compile_experiment_order_by(*terms);
  if (!order.ok()) return order.status();

  if (where->params.size() > 15000) {
    return Status::invalid_argument("experiment filter is too large: at most 15000 values — split the search");
  }
  std::string sql = "SELECT e.experiment_id FROM experiments e WHERE (" + where->sql + ")";
  if (const char* stage = lifecycle_condition(options.view_type)) sql += std::string(" AND e.lifecycle_stage = ") + stage;
  sql += " ORDER BY " + order->sql + " LIMIT ? OFFSET ?";
  std::vector<SqlValue> values = where->params;
  values.insert(values.end(), order->params.begin(), order->params.end());
  values.emplace_back(int64_t{options.max_results});
  values.emplace_back(*offset);

  std::lock_guard<std::mutex> lock(mu_);
  Transaction snapshot(this);
  WATTLAB_RETURN_IF_ERROR(snapshot.begin(/*write=*/false));
  std::vector<std::string> ids;
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    OwnedStatement stmt(raw);
    if (rc != SQLITE_OK) return error(rc, "cannot prepare the experiment search");
    bind_values(stmt.get(), values, 1);
    for (;;) {
      rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return error(rc, "cannot search experiments");
      ids.push_back(std::to_string(sqlite3_column_int64(stmt.get(), 0)));
    }
  }
  ExperimentsPage page;
  for (const auto& id : ids) {
    auto e = read_experiment(id);
    if (!e.ok()) return e.status();
    page.experiments.push_back(std::move(e).value());
  }
  WATTLAB_RETURN_IF_ERROR(snapshot.commit());
  if (static_cast<int>(ids.size()) == options.max_results) page.next_page_token = encode_page_token(*offset + options.max_results);
  return page;
}

Status SqliteStore::rename_experiment(const std::string& experiment_id, const std::string& new_name) {
  if (new_name.empty()) return Status::invalid_argument("new experiment name is empty — give a name");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  auto e = read_experiment(experiment_id);
  if (!e.ok()) return e.status();
  if (e->lifecycle_stage != kLifecycleActive) {
    return Status::invalid_argument("experiment " + experiment_id + " is deleted; restore it before renaming it");
  }
  if (e->name == new_name) return txn.commit();
  {
    WATTLAB_PREPARE(q, "SELECT 1 FROM experiments WHERE name = ?1");
    q.text(1, new_name);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up experiment '" + new_name + "'");
    if (*row) return Status::already_exists("experiment '" + new_name + "' already exists");
  }
  {
    WATTLAB_PREPARE(q, "UPDATE experiments SET name = ?2, last_update_time_ms = ?3 WHERE experiment_id = ?1");
    q.int64(1, std::stoll(e->experiment_id)).text(2, new_name).int64(3, clock_->wall_ms());
    WATTLAB_STEP(q, "cannot rename experiment " + experiment_id);
  }
  return txn.commit();
}

Status SqliteStore::set_experiment_stage(const std::string& experiment_id, const char* from, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  auto e = read_experiment(experiment_id);
  if (!e.ok()) return e.status();
  if (e->lifecycle_stage != from) {
    return Status::invalid_argument("experiment " + experiment_id + " is " + e->lifecycle_stage + ", not " + from);
  }
  const int64_t id = std::stoll(e->experiment_id);
  {
    WATTLAB_PREPARE(q, "UPDATE experiments SET lifecycle_stage = ?2, last_update_time_ms = ?3 WHERE experiment_id = ?1");
    q.int64(1, id).text(2, to).int64(3, clock_->wall_ms());
    WATTLAB_STEP(q, "cannot change the lifecycle stage of experiment " + experiment_id);
  }
  {
    WATTLAB_PREPARE(q, "UPDATE runs SET lifecycle_stage = ?3 WHERE experiment_id = ?1 AND lifecycle_stage = ?2");
    q.int64(1, id).text(2, from).text(3, to);
    WATTLAB_STEP(q, "cannot change the lifecycle stage of the runs of experiment " + experiment_id);
  }
  return txn.commit();
}

Status SqliteStore::delete_experiment(const std::string& experiment_id) {
  return set_experiment_stage(experiment_id, kLifecycleActive, kLifecycleDeleted);
}

Status SqliteStore::restore_experiment(const std::string& experiment_id) {
  return set_experiment_stage(experiment_id, kLifecycleDeleted, kLifecycleActive);
}

Status SqliteStore::require_active_run(const std::string& run_id) {
  WATTLAB_PREPARE(q, "SELECT lifecycle_stage FROM runs WHERE run_id = ?1");
  q.text(1, run_id);
  auto row = q.step();
  if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up run " + run_id);
  if (!*row) return Status::not_found("no run with id " + run_id);
  if (q.text(0) != kLifecycleActive) {
    return Status::invalid_argument("run " + run_id + " is deleted; restore it before changing it");
  }
  return Status();
}

Result<RunInfo> SqliteStore::read_run_info(const std::string& run_id) {
  auto data = read_run(run_id, /*with_extras=*/false);
  if (!data.ok()) return data.status();
  return std::move(data).value().info;
}

Result<RunInfo> SqliteStore::update_run_info(const std::string& run_id, const RunUpdate& update) {
  if (update.run_name) WATTLAB_RETURN_IF_ERROR(validate_tag_value("mlflow.runName", *update.run_name));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  WATTLAB_RETURN_IF_ERROR(require_active_run(run_id));
  if (update.status) {
    WATTLAB_PREPARE(q, "UPDATE runs SET status = ?2 WHERE run_id = ?1");
    q.text(1, run_id).text(2, run_status_name(*update.status));
    WATTLAB_STEP(q, "cannot update the status of run " + run_id);
  }
  if (update.end_time_ms) {
    WATTLAB_PREPARE(q, "UPDATE runs SET end_time_ms = ?2 WHERE run_id = ?1");
    q.text(1, run_id).int64(2, *update.end_time_ms);
    WATTLAB_STEP(q, "cannot update the end time of run " + run_id);
  }
  if (update.run_name) {
    {
      WATTLAB_PREPARE(q, "UPDATE runs SET run_name = ?2 WHERE run_id = ?1");
      q.text(1, run_id).text(2, *update.run_name);
      WATTLAB_STEP(q, "cannot rename run " + run_id);
    }
    WATTLAB_PREPARE(q,
                    "INSERT INTO tags (run_id, key, value) VALUES (?1, 'mlflow.runName', ?2) "
                    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value");
    q.text(1, run_id).text(2, *update.run_name);
    WATTLAB_STEP(q, "cannot set the mlflow.runName tag of run " + run_id);
  }
  auto info = read_run_info(run_id);
  if (!info.ok()) return info.status();
  WATTLAB_RETURN_IF_ERROR(touch_experiment(info->experiment_id));
  WATTLAB_RETURN_IF_ERROR(txn.commit());
  return info;
}

Status SqliteStore::claim_run(const std::string& run_id, const std::string& key,
                              const std::optional<std::string>& expected, const std::vector<RunTag>& tags) {
  for (const RunTag& t : tags) {
    WATTLAB_RETURN_IF_ERROR(validate_entity_key("tag", t.key));
    WATTLAB_RETURN_IF_ERROR(validate_tag_value(t.key, t.value));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);
  WATTLAB_RETURN_IF_ERROR(txn.begin());
  WATTLAB_RETURN_IF_ERROR(require_active_run(run_id));
  std::optional<std::string> current;
  {
    WATTLAB_PREPARE(q, "SELECT value FROM tags WHERE run_id = ?1 AND key = ?2");
    q.text(1, run_id).text(2, key);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read the " + key + " tag of run " + run_id);
    if (*row) current = q.text(0);
  }
  if (current != expected) {
    return Status::already_exists("run " + run_id + ": its " + key + " tag changed meanwhile (another process claimed the run)");
  }
  for (const RunTag& t : tags) {
    WATTLAB_PREPARE(q, "INSERT INTO tags (run_id, key, value) VALUES (?1, ?2, ?3) "
                       "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value");
    q.text(1, run_id).text(2, t.key).text(3, t.value);
    WATTLAB_STEP(q, "cannot set the tag " + t.key + " of run " + run_id);
  }
  std::string experiment_id;
  {
    WATTLAB_PREPARE(q, "UPDATE runs SET status = 'RUNNING', end_time_ms = NULL WHERE run_id = ?1 RETURNING experiment_id");
    q.text(1, run_id);
    auto row = q.step();
    if (!row.ok() || !*row) return error(q.rc_of_last_step(), "cannot update run " + run_id);
    experiment_id = std::to_string(q.int64(0));
    q.reset();
  }
  WATTLAB_RETURN_IF_ERROR(touch_experiment(experiment_id));
  return txn.commit();
}

Status SqliteStore::set_run_stage(const std::string& run_id, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  WATTLAB_PREPARE(q, "UPDATE runs SET lifecycle_stage = ?2 WHERE run_id = ?1");
  q.text(1, run_id).text(2, to);
  WATTLAB_STEP(q, "cannot change the lifecycle stage of run " + run_id);
  return Status();
}

Status SqliteStore::delete_run(const std::string& run_id) { return set_run_stage(run_id, kLifecycleDeleted); }

Status SqliteStore::restore_run(const std::string& run_id) { return set_run_stage(run_id, kLifecycleActive); }

Status SqliteStore::delete_tag(const std::string& run_id, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(require_active_run(run_id));
  WATTLAB_PREPARE(q, "DELETE FROM tags WHERE run_id = ?1 AND key = ?2");
  q.text(1, run_id).text(2, key);
  WATTLAB_STEP(q, "cannot delete tag '" + key + "' of run " + run_id);
  if (sqlite3_changes(db_) == 0) return Status::not_found("run " + run_id + " has no tag '" + key + "'");
  return Status();
}

Status SqliteStore::insert_metric_chunks(int64_t series_id, std::span<const MetricPoint> points) {
  WATTLAB_PREPARE(q,
                  "INSERT INTO metric_chunks (series_id, first_step, first_timestamp_ms, first_seq, last_step, "
                  "last_timestamp_ms, last_seq, points, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  // As few chunks as the cap allows, of even sizes, so no tiny chunk is left over.
  const size_t chunks = (points.size() + kMaxPointsPerChunk - 1) / kMaxPointsPerChunk;
  std::string data;
  for (size_t c = 0; c < chunks; ++c) {
    auto part = points.subspan(c * points.size() / chunks, (c + 1) * points.size() / chunks - c * points.size() / chunks);
    data.clear();
    encode_metric_chunk(part, &data);
    q.int64(1, series_id).position(2, part.front()).position(5, part.back());
    q.int64(8, static_cast<int64_t>(part.size())).blob(9, data);
    WATTLAB_STEP(q, "cannot log " + std::to_string(points.size()) + " metric values");
    q.reset();
  }
  return Status();
}

Status SqliteStore::write_metric_points(int64_t series_id, std::span<const MetricPoint> points) {
  const MetricPoint& first = points.front();
  const MetricPoint& last = points.back();
  std::vector<int64_t> merged_ids;
  std::vector<MetricPoint> merged;
  // The chunk before the first point is merged when the points fall inside
  // it, or when they are few enough to join it.
  auto take_chunk_before = [&](const Query& q) -> Status {
    const bool inside = first < q.chunk_last();
    const bool joins = q.int64(4) + static_cast<int64_t>(points.size()) <= static_cast<int64_t>(kMaxPointsPerJoinedChunk);
    if (!inside && !joins) return Status();
    merged_ids.push_back(q.int64(0));
    return q.chunk_points(&merged);
  };
  bool chunks_start_inside = false;
  {
    // The usual case, one seek: the chunk at or before the last point starts
    // at or before the first, so no chunk starts among the points.
    WATTLAB_PREPARE(q, kChunkAtOrBeforeSql);
    q.int64(1, series_id).position(2, last);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric chunks");
    if (*row) {
      chunks_start_inside = first < q.chunk_first();
      if (!chunks_start_inside) WATTLAB_RETURN_IF_ERROR(take_chunk_before(q));
    }
  }
  if (chunks_start_inside) {
    {
      WATTLAB_PREPARE(q, kChunkAtOrBeforeSql);
      q.int64(1, series_id).position(2, first);
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric chunks");
      if (*row) WATTLAB_RETURN_IF_ERROR(take_chunk_before(q));
    }
    // Chunks starting within the points' range: they interleave with them.
    WATTLAB_PREPARE(q, kChunksBetweenSql);
    q.int64(1, series_id).position(2, first).position(5, last);
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric chunks");
      if (!*row) break;
      merged_ids.push_back(q.int64(0));
      WATTLAB_RETURN_IF_ERROR(q.chunk_points(&merged));
    }
  }
  if (merged_ids.empty()) return insert_metric_chunks(series_id, points);
  // `merged` is sorted: the chunks are disjoint and were read in order.
  const size_t old_points = merged.size();
  merged.insert(merged.end(), points.begin(), points.end());
  std::inplace_merge(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(old_points), merged.end());
  if (merged_ids.size() == 1 && merged.size() <= kMaxPointsPerChunk) {
    // One chunk that still fits, and keeps its first position (every chunk
    // merged starts at or before the first point): updated in place, its
    // index entry untouched.
    std::string data;
    encode_metric_chunk(merged, &data);
    WATTLAB_PREPARE(q, "UPDATE metric_chunks SET last_step = ?2, last_timestamp_ms = ?3, last_seq = ?4, points = ?5, "
                       "data = ?6 WHERE chunk_id = ?1");
    q.int64(1, merged_ids[0]).position(2, merged.back()).int64(5, static_cast<int64_t>(merged.size())).blob(6, data);
    WATTLAB_STEP(q, "cannot log " + std::to_string(points.size()) + " metric values");
    return Status();
  }
  {
    WATTLAB_PREPARE(q, "DELETE FROM metric_chunks WHERE chunk_id = ?1");
    for (int64_t id : merged_ids) {
      q.int64(1, id);
      WATTLAB_STEP(q, "cannot rewrite metric chunks");
      q.reset();
    }
  }
  return insert_metric_chunks(series_id, merged);
}

Status SqliteStore::seek_metric_chunk(int64_t series_id, const MetricPoint& after, std::vector<MetricPoint>* chunk) {
  chunk->clear();
  {
    WATTLAB_PREPARE(q, kChunkAtOrBeforeSql);
    q.int64(1, series_id).position(2, after);
    auto row = q.step();
    if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric chunks");
    if (*row && after < q.chunk_last()) return q.chunk_points(chunk);
  }
  WATTLAB_PREPARE(q, kChunksAfterSql);
  q.int64(1, series_id).position(2, after);
  auto row = q.step();
  if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric chunks");
  if (*row) return q.chunk_points(chunk);
  return Status();
}

Status SqliteStore::chunk_metric_points() {
  {
    WATTLAB_PREPARE(q, "SELECT series_id, step, timestamp_ms, seq, value FROM metric_points "
                       "ORDER BY series_id, step, timestamp_ms, seq");
    std::vector<MetricPoint> chunk;
    int64_t series_id = 0;
    for (;;) {
      auto row = q.step();
      if (!row.ok()) return error(q.rc_of_last_step(), "cannot read metric_points");
      if (!chunk.empty() && (!*row || q.int64(0) != series_id || chunk.size() == kMaxPointsPerChunk)) {
        WATTLAB_RETURN_IF_ERROR(insert_metric_chunks(series_id, chunk));
        chunk.clear();
      }
      if (!*row) break;
      series_id = q.int64(0);
      chunk.push_back({q.int64(1), q.int64(2), q.int64(3), q.real(4)});
    }
  }
  return exec("DROP TABLE metric_points");
}

Result<std::optional<int64_t>> SqliteStore::find_series(const std::string& run_id, const std::string& key) {
  WATTLAB_PREPARE(q, "SELECT series_id FROM metric_series WHERE run_id = ?1 AND key = ?2");
  q.text(1, run_id).text(2, key);
  auto row = q.step();
  if (!row.ok()) return error(q.rc_of_last_step(), "cannot look up metric '" + key + "' of run " + run_id);
  if (!*row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.int64(0));
}

Result<MetricHistoryPage> SqliteStore::get_metric_history_page(const std::string& run_id, const std::string& key,
                                                               int max_results, const std::string& page_token) {
  WATTLAB_RETURN_IF_ERROR(check_max_results(max_results, kMetricHistoryPageDefault));
  auto after = decode_metric_history_token(page_token);
  if (!after.ok()) return after.status();
  std::lock_guard<std::mutex> lock(mu_);
  Transaction snapshot(this);
  WATTLAB_RETURN_IF_ERROR(snapshot.begin(/*write=*/false));
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  auto series = find_series(run_id, key);
  if (!series.ok()) return series.status();
  MetricHistoryPage page;
  if (!*series) return page;
  // A keyset page: one seek in metric_chunks_by_position, however deep,
  // then the chunks that follow.
  MetricPoint last = kBeforeEveryPoint;
  if (after->has_value()) last = {(*after)->step, (*after)->timestamp_ms, (*after)->seq, 0};
  std::vector<MetricPoint> chunk;
  while (static_cast<int>(page.metrics.size()) < max_results) {
    WATTLAB_RETURN_IF_ERROR(seek_metric_chunk(**series, last, &chunk));
    if (chunk.empty()) break;
    for (auto p = std::upper_bound(chunk.begin(), chunk.end(), last);
         p != chunk.end() && static_cast<int>(page.metrics.size()) < max_results; ++p) {
      page.metrics.push_back({key, p->value, p->timestamp_ms, p->step});
      last = *p;
    }
  }
  if (static_cast<int>(page.metrics.size()) == max_results) {
    page.next_page_token = encode_metric_history_token({last.step, last.timestamp_ms, last.seq});
  }
  WATTLAB_RETURN_IF_ERROR(snapshot.commit());
  return page;
}

Result<std::vector<Metric>> SqliteStore::get_metric_history_sampled(const std::string& run_id, const std::string& key,
                                                                    int max_points) {
  if (max_points < 1 || max_points > kSampledHistoryMaxPoints) {
    return Status::invalid_argument("max_points must be 1.." + std::to_string(kSampledHistoryMaxPoints) + ", got " +
                                    std::to_string(max_points));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(this);  // one snapshot for every seek
  WATTLAB_RETURN_IF_ERROR(txn.begin(false));
  WATTLAB_RETURN_IF_ERROR(require_run(run_id));
  std::vector<Metric> points;
  auto series = find_series(run_id, key);
  if (!series.ok()) return series.status();
  if (!*series) return points;
  // The first and last chunks give the step span; each range then costs a
  // binary search in the chunk at hand, or one seek for the chunk holding
  // its first point.
  std::vector<MetricPoint> chunk;
  WATTLAB_RETURN_IF_ERROR(seek_metric_chunk(**series, kBeforeEveryPoint, &chunk));
  if (chunk.empty()) return points;
  const int64_t first_step = chunk.front().step;
  int64_t last_step = 0;
  {
    WATTLAB_PREPARE(q, kChunkAtOrBeforeSql);
    q.int64(1, **series).position(2, {INT64_MAX, INT64_MAX, INT64_MAX, 0});
    WATTLAB_STEP(q, "cannot read metric '" + key + "' of run " + run_id);
    last_step = q.chunk_last().step;
  }
  // Range r covers steps [first + ceil(r * span / n), first + ceil((r + 1) * span / n)):
  // take the first point at or after `from` as the first of its range, and
  // go on from the start of the next range. `chunk` always holds the last
  // point taken, so every point before its end that is at or after `from`
  // is in it.
  const double span = static_cast<double>(last_step - first_step) + 1;
  const double n = max_points;
  for (int64_t from = first_step; from <= last_step;) {
    if (chunk.back().step < from) {
      WATTLAB_RETURN_IF_ERROR(seek_metric_chunk(**series, {from - 1, INT64_MAX, INT64_MAX, 0}, &chunk));
      if (chunk.empty()) break;
    }
    const MetricPoint& p = *std::lower_bound(chunk.begin(), chunk.end(), from,
                                             [](const MetricPoint& q, int64_t step) { return q.step < step; });
    const double range = std::floor(static_cast<double>(p.step - first_step) * n / span);
    points.push_back({key, p.value, p.timestamp_ms, p.step});
    from = first_step + static_cast<int64_t>(std::ceil(span * (range + 1) / n));
  }
  return points;
}

Result<RunsPage> SqliteStore::search_runs(const SearchRunsOptions& options) {
  WATTLAB_RETURN_IF_ERROR(check_max_results(options.max_results, kSearchMaxResultsLimit));
  auto offset = decode_page_token(options.page_token);
  if (!offset.ok()) return offset.status();
  auto filter = parse_filter(options.filter);
  if (!filter.ok()) return filter.status();
  auto where = compile_run_filter(*filter);
  if (!where.ok()) return where.status();
  auto terms = parse_order_by_list(options.order_by);
  if (!terms.ok()) return terms.status();
  auto order = compile_run_order_by(*terms);
  if (!order.ok()) return order.status();

  // Every value is a bound parameter, and SQLite allows 32766 per statement.
  constexpr size_t kMaxBoundValues = 30000;
  if (where->params.size() + order->params.size() > kMaxBoundValues / 2 ||
      (options.experiment_ids && options.experiment_ids->size() > kMaxBoundValues / 2)) {
    return Status::invalid_argument("search is too large: at most " + std::to_string(kMaxBoundValues / 2) +
                                    " experiment ids and " + std::to_string(kMaxBoundValues / 2) +
                                    " filter values — split it into several searches");
  }
  RunsPage page;
  std::vector<SqlValue> values;
  std::string sql = "SELECT r.run_id FROM runs r WHERE ";
  // With a metric filter (or a tag or param equality), the runs come from one
  // range of metric_series_by_key_value (tags_by_key_value...; see
  // compile_run_filter) looked up by run_id.
  // Without statistics SQLite would rather scan every run of the experiment
  // (or stage) by its index and test each against that list: 100,000 runs
  // for a filter matching 100. A unary '+' keeps it off those indexes.
  const bool metric_filter = std::any_of(filter->comparisons.begin(), filter->comparisons.end(), [](const FilterComparison& c) {
    return c.entity == FilterEntity::kMetric || (c.entity != FilterEntity::kAttribute && c.op == FilterOp::kEq);
  });
  const std::string no_index = metric_filter ? "+" : "";
  if (options.experiment_ids) {
    std::vector<int64_t> ids;
    for (const auto& id : *options.experiment_ids)
      if (is_decimal_id(id)) ids.push_back(std::stoll(id));  // other ids name no experiment
    if (ids.empty()) return page;
    sql += no_index + "r.experiment_id IN (";
    for (size_t i = 0; i < ids.size(); ++i) {
      sql += i ? ", ?" : "?";
      values.emplace_back(ids[i]);
    }
    sql += ") AND ";
  }
  if (const char* stage = lifecycle_condition(options.view_type)) sql += no_index + "r.lifecycle_stage = " + stage + " AND ";
  sql += "(" + where->sql + ") ORDER BY " + order->sql + " LIMIT ? OFFSET ?";
  values.insert(values.end(), where->params.begin(), where->params.end());
  values.insert(values.end(), order->params.begin(), order->params.end());
  values.emplace_back(int64_t{options.max_results});
  values.emplace_back(*offset);

  std::lock_guard<std::mutex> lock(mu_);
  Transaction snapshot(this);
  WATTLAB_RETURN_IF_ERROR(snapshot.begin(/*write=*/false));
  std::vector<std::string> run_ids;
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    OwnedStatement stmt(raw);
    if (rc != SQLITE_OK) return error(rc, "cannot prepare the run search");
    bind_values(stmt.get(), values, 1);
    for (;;) {
      rc = sqlite3_step(stmt.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return error(rc, "cannot search runs");
      const unsigned char* p = sqlite3_column_text(stmt.get(), 0);
      run_ids.emplace_back(p ? reinterpret_cast<const char*>(p) : "");
    }
  }
  auto runs = read_runs(run_ids);
  if (!runs.ok()) return runs.status();
  page.runs = std::move(runs).value();
  WATTLAB_RETURN_IF_ERROR(snapshot.commit());
  if (static_cast<int>(run_ids.size()) == options.max_results) page.next_page_token = encode_page_token(*offset + options.max_results);
  return page;
}

}  // namespace wattlab
