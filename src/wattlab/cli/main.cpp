// wattlab: energy-aware deep-learning experiments. Built twice: `wattlab`
// without LibTorch, which hands the commands that need it to `wattlab-torch`
// (libtorch_binary.h), and `wattlab-torch` with every command.
#include <iostream>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/libtorch_binary.h"

int main(int argc, char** argv) {
  using namespace wattlab::cli;
#ifndef WATTLAB_HAVE_TORCH
  if (needs_libtorch(argc, argv)) exec_libtorch_binary(argv);  // returns only in a build without LibTorch
#endif
  CLI::App app{
      "wattlab: train computer-vision models, meter their energy, track every run, and\n"
      "decide which model and training environment give the best correctness per joule.",
      "wattlab"};
  app.set_version_flag("--version", version_string(), "Print the version and exit");
  app.require_subcommand(1);
  app.fallthrough();  // --store is accepted after the subcommand too
  app.footer("Runs are stored in ./wattlab.db unless --store or WATTLAB_STORE says otherwise.\n"
             "Run `wattlab COMMAND --help` for a command's options.");

  GlobalOptions global;
  global.store_option = app.add_option("--store", global.store_path,
                                       "Where runs are kept: a SQLite file (created if missing), sqlite:///path, "
                                       "postgresql://user@host/db, or a tracking server's http://host:port")
      ->envname("WATTLAB_STORE")
      ->capture_default_str();

  int exit_code = 0;
  add_quickstart_command(app, global, &exit_code);
  add_train_command(app, global, &exit_code);
  add_measure_command(app, global, &exit_code);
  add_runs_command(app, global, &exit_code);
  add_runs_gc_command(*app.get_subcommand("runs"), global, &exit_code);
  add_experiments_command(app, global, &exit_code);
  add_devices_command(app, global, &exit_code);
  add_server_command(app, global, &exit_code);
  add_ui_command(app, global, &exit_code);
  add_models_command(app, global, &exit_code);
  add_infer_command(app, global, &exit_code);
  add_estimate_command(app, global, &exit_code);
  add_study_command(app, global, &exit_code);
  add_infer_bench_command(app, global, &exit_code);
  add_chess_command(app, global, &exit_code);
  add_stats_command(app, global, &exit_code);
  add_check_command(app, global, &exit_code);
  add_study_report_command(*app.get_subcommand("study"), global, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // `wattlab measure python3 -c ...`: the option is the command's own,
    // given without the `--` that ends wattlab's options.
    if (dynamic_cast<const CLI::ExtrasError*>(&e) && app.got_subcommand("measure")) {
      return report_error(std::string(e.what()) +
                          " — if it is the measured command's, put the command after --: "
                          "wattlab measure [OPTIONS] -- CMD ARGS...");
    }
    return app.exit(e);
  }
  return exit_code;
}
