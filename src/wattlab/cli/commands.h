// The `wattlab` subcommands. Each add_*_command registers its options and a
// callback on `app`; the callback stores the process exit code in *exit_code.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "wattlab/chess/board.h"
#include "wattlab/core/status.h"
#include "wattlab/track/run_logger.h"

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
};

// `tracking_uri` (--tracking-uri / MLFLOW_TRACKING_URI) when given: an
// http:// wattlab server (checked reachable; WATTLAB_TOKEN sent as its
// bearer token) or a store location; else the --store file. The error names
// the URI or path and the fix.
Result<RunDestination> open_run_destination(const GlobalOptions& global, const std::string& tracking_uri);
// Adds --tracking-uri (also read from MLFLOW_TRACKING_URI) to `cmd`.
void add_tracking_uri_option(CLI::App* cmd, std::string* tracking_uri);

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
void add_infer_bench_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_chess_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `chess train`, `chess recognise` and `chess study`, under `chess` (they need LibTorch).
void add_chess_recognition_commands(CLI::App& chess, const GlobalOptions& global, int* exit_code);
// The position of a chess command's FEN argument: a full FEN (checked as
// Position::from_fen does), its placement field alone (checked by
// check_placement) or "startpos".
Result<chess::Placement> read_placement(const std::string& fen);

// "wattlab 0.1.0 (LibTorch 1.13.1)" or "... (built without LibTorch)".
std::string version_string();

// Prints "wattlab: error: <message>" on stderr and returns exit code 1 — the
// one way commands report a failure to the user.
int report_error(const std::string& message);

}  // namespace wattlab::cli
