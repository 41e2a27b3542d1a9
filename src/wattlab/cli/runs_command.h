// The `wattlab runs` subcommands that concern one run (show, rm, restore,
// metrics, power; runs_show_command.cpp), registered by add_runs_command
// (runs_command.cpp) beside the listings (ls, emissions).
#pragma once

#include <CLI/CLI.hpp>

#include "wattlab/cli/commands.h"

namespace wattlab::cli {

void add_run_detail_commands(CLI::App* runs, const GlobalOptions& global, int* exit_code);

}  // namespace wattlab::cli
