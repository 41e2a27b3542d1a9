// Stand-ins for the commands that need LibTorch, in a build configured with
// -DWATTLAB_WITH_TORCH=OFF: they explain how to get them.
#include "wattlab/cli/commands.h"

namespace wattlab::cli {

namespace {
void add_unavailable(CLI::App& app, const std::string& name, const std::string& description, int* exit_code) {
  auto* cmd = app.add_subcommand(name, description + " (needs LibTorch)");
  cmd->fallthrough(false);
  cmd->allow_extras();  // accept, and ignore, the options of the real command
  // A command under another (chess recognise) is named with its parent.
  const std::string full_name = app.get_parent() ? app.get_name() + " " + name : name;
  cmd->callback([full_name, exit_code] {
    *exit_code = report_error("`wattlab " + full_name + "` needs LibTorch, and this build has none — "
                              "rebuild with -DWATTLAB_WITH_TORCH=ON (bash scripts/setup.sh does)");
  });
}
}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "train", "Train a model, metered and tracked", exit_code);
}

void add_quickstart_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "quickstart", "The built-in study on Fashion-MNIST", exit_code);
}

void add_models_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "models", "The model zoo: architectures, parameters and MACs", exit_code);
}

void add_infer_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "infer", "Evaluate the model a training run saved", exit_code);
}

void add_estimate_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "estimate", "Energy, time and CO2e a training would take, before it starts", exit_code);
}

// A real `study` parent, so that `study report` (registered on it by
// add_study_report_command, no LibTorch needed) works in this build too.
void add_study_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  auto* study = app.add_subcommand("study", "Run a study and follow it (only `study report` works without LibTorch)");
  study->require_subcommand(1);
  add_unavailable(*study, "run", "Run every unfinished trial of a study spec", exit_code);
  add_unavailable(*study, "trial", "Run one trial of a study", exit_code);
  add_unavailable(*study, "status", "Trials done, running, failed and pending", exit_code);
  add_unavailable(*study, "ls", "The studies in the store", exit_code);
  add_unavailable(*study, "cancel", "Stop a running study", exit_code);
  add_unavailable(*study, "example", "Print the built-in study spec", exit_code);
}

void add_infer_bench_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "infer-bench", "Latency, throughput and energy of a saved model's inference", exit_code);
}

void add_chess_recognition_commands(CLI::App& chess, const GlobalOptions&, int* exit_code) {
  add_unavailable(chess, "train", "Train the square classifier on rendered boards", exit_code);
  add_unavailable(chess, "recognise", "Read the position from a board image (FEN)", exit_code);
  add_unavailable(chess, "study", "The recognition experiment: decoders x difficulty levels", exit_code);
}

}  // namespace wattlab::cli
