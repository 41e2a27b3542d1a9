// The `wattlab` subcommands. Each add_*_command registers its options and a
// callback on `app`; the callback stores the process exit code in *exit_code.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "wattlab/chess/board.h"
#include "wattlab/core/status.h"
#include "wattlab/track/run_catalog.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {
class RestClient;  // server/rest_client.h
}  // namespace wattlab

namespace wattlab::cli {

// Options every command shares.
struct GlobalOptions {
  std::string store_path = "wattlab.db";   // --store / WATTLAB_STORE
  const CLI::Option* store_option = nullptr;  // the --store option, once main registered it

  // True when --store or WATTLAB_STORE named the store (rather than the default).
  bool store_given() const { return store_option != nullptr && store_option->count() > 0; }
};

// Where a command that records a run (train, measure) sends it.
struct RunDestination {
  std::unique_ptr<RunLogger> logger;
  std::string description;  // "wattlab.db", "http://host:5000"
  std::string server_uri;   // the tracking server's URI when logging through one; empty otherwise
  // The tracking server's connection when logging through one (for the run's
  // files: RestClient::upload_file, server/remote_artifacts.h); owned by
  // `logger`; null for a store.
  RestClient* server = nullptr;
};

// Where a command reads or writes runs: `tracking_uri` (--tracking-uri /
// MLFLOW_TRACKING_URI) when given, else --store. A tracking URI must be an
// http(s):// server or a store URI (sqlite://, postgresql://): a bare word
// or path (MLflow's "./mlruns", often left in MLFLOW_TRACKING_URI) is
// InvalidArgument naming it and the fix, never quietly a SQLite file.
// --store may be a server's http:// URI too.
Result<std::string> run_location(const GlobalOptions& global, const std::string& tracking_uri);

// Opens run_location() for writing: an http:// tracking server (checked
// reachable; WATTLAB_TOKEN sent as its bearer token) or a store. A plain
// MLflow server is used through MLflow's own API; unless `quiet`, a note on
// stderr says once what that changes. The error names the URI or path and
// the fix.
Result<RunDestination> open_run_destination(const GlobalOptions& global, const std::string& tracking_uri,
                                             bool quiet = false);
// Opens run_location() for reading and managing runs (runs, experiments,
// infer): a tracking server (checked reachable) or a store.
Result<std::unique_ptr<RunCatalog>> open_run_catalog(const GlobalOptions& global, const std::string& tracking_uri);
// Adds --tracking-uri (also read from MLFLOW_TRACKING_URI) to `cmd`; `reads`
// words the help for commands that only read runs.
void add_tracking_uri_option(CLI::App* cmd, std::string* tracking_uri, bool reads = false);

void add_train_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_quickstart_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_measure_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_runs_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `runs gc`, under the `runs` command that add_runs_command made.
void add_runs_gc_command(CLI::App& runs, const GlobalOptions& global, int* exit_code);
void add_devices_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_server_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_ui_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_models_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_infer_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_estimate_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_study_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_experiments_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_infer_bench_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_chess_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `chess train`, `chess recognise` and `chess study`, under `chess` (they need LibTorch).
void add_chess_recognition_commands(CLI::App& chess, const GlobalOptions& global, int* exit_code);
// The position of a chess command's FEN argument: a full FEN (checked as
// Position::from_fen does), its placement field alone (checked by
// check_placement) or "startpos".
Result<chess::Placement> read_placement(const std::string& fen);
void add_stats_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_check_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
// Registers `report NAME --out FILE` under the `study` command.
void add_study_report_command(CLI::App& study, const GlobalOptions& global, int* exit_code);

// "wattlab 0.1.0 (LibTorch 1.13.1)" or "... (built without LibTorch)".
std::string version_string();

// Prints "wattlab: error: <message>" on stderr and returns exit code 1 — the
// one way commands report a failure to the user.
int report_error(const std::string& message);

}  // namespace wattlab::cli
