// The commands that need LibTorch (libtorch_binary.h), as the torch-free
// `wattlab` binary lists them in its help: main hands them to
// `wattlab-torch` before parsing, so they run only in a build without
// LibTorch, where they explain how to get it.
#include "wattlab/cli/commands.h"
#include "wattlab/cli/libtorch_binary.h"

namespace wattlab::cli {

namespace {

// " (needs LibTorch)" where there is no wattlab-torch to run them; "" where
// main hands them over (and only their help line shows here).
const std::string& availability_note() {
  static const std::string note = libtorch_binary_path().empty() ? " (needs LibTorch)" : "";
  return note;
}

void add_unavailable(CLI::App& app, const TorchCommand& command, int* exit_code) {
  auto* cmd = app.add_subcommand(command.name, command.description + availability_note());
  cmd->fallthrough(false);
  cmd->allow_extras();  // accept, and ignore, the options of the real command
  const std::string full_name = *command.parent == '\0' ? command.name : std::string(command.parent) + " " + command.name;
  cmd->callback([full_name, exit_code] {
    *exit_code = report_error("`wattlab " + full_name + "` needs LibTorch, and this build has none — "
                              "rebuild with -DWATTLAB_WITH_TORCH=ON (bash scripts/setup.sh does)");
  });
}

// Registers on `app` the torch commands under `parent` ("" for top-level
// ones) named `name`, or all of them when `name` is empty.
void add_unavailable(CLI::App& app, const std::string& parent, const std::string& name, int* exit_code) {
  for (const TorchCommand& command : torch_commands()) {
    if (command.parent == parent && (name.empty() || command.name == name)) add_unavailable(app, command, exit_code);
  }
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "", "train", exit_code);
}

void add_quickstart_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "", "quickstart", exit_code);
}

void add_models_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "", "models", exit_code);
}

void add_infer_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "", "infer", exit_code);
}

void add_infer_bench_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  add_unavailable(app, "", "infer-bench", exit_code);
}

// A real `study` parent, so that `study report` (registered on it by
// add_study_report_command, no LibTorch needed) works in this build too.
void add_study_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  auto* study = app.add_subcommand("study", "Run a study (models x environments x repetitions) and follow it" +
                                                std::string(availability_note().empty() ? "" : " (only `study report` "
                                                                                               "works without LibTorch)"));
  study->require_subcommand(1);
  add_unavailable(*study, "study", "", exit_code);
}

void add_chess_recognition_commands(CLI::App& chess, const GlobalOptions&, int* exit_code) {
  add_unavailable(chess, "chess", "", exit_code);
}

}  // namespace wattlab::cli
