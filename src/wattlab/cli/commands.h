// The `wattlab` subcommands. Each add_*_command registers its options and a
// callback on `app`; the callback stores the process exit code in *exit_code.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace wattlab::cli {

// Options every command shares.
struct GlobalOptions {
  std::string store_path = "wattlab.db";  // --store / WATTLAB_STORE
};

void add_train_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_quickstart_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_measure_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_runs_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_devices_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_server_command(CLI::App& app, const GlobalOptions& global, int* exit_code);
void add_models_command(CLI::App& app, const GlobalOptions& global, int* exit_code);

// "wattlab 0.1.0 (LibTorch 1.13.1)" or "... (built without LibTorch)".
std::string version_string();

// Prints "wattlab: error: <message>" on stderr and returns exit code 1 — the
// one way commands report a failure to the user.
int report_error(const std::string& message);

}  // namespace wattlab::cli
