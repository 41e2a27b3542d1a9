// `wattlab train`: one metered, tracked training run.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/config_file.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/train_options.h"
#include "wattlab/cli/training_progress.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/run/tracked_training.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

// The run --resume names, checked to have a checkpoint; its stored
// configuration fills the flags that neither the command line nor --config set.
Result<RunData> find_resumed_run(const RunDestination& destination, TrainCommandOptions& o, CLI::App& cmd,
                                 std::optional<ConfigFile>& stored_config) {
  Store* store = dynamic_cast<Store*>(destination.logger.get());
  if (store == nullptr) {
    return Status::invalid_argument("--resume reads the run and its checkpoint from the store; it cannot go "
                                    "through a tracking server (" + destination.description +
                                    "): use --store or a sqlite:// or postgresql:// --tracking-uri");
  }
  auto run = store->get_run(o.resume);
  if (!run.ok()) {
    if (run.status().code() != Status::Code::kNotFound) return run.status();
    return Status::not_found("--resume: no run '" + o.resume + "' in " + destination.description +
                             " (see wattlab runs ls)");
  }
  auto dir = run_artifact_dir(run->info.artifact_uri, o.run.artifacts_dir);
  if (!dir.ok()) return dir.status().with_context("--resume " + run->info.run_id);
  const std::filesystem::path checkpoint = std::filesystem::path(*dir) / kCheckpointFile;
  std::error_code ec;
  if (!std::filesystem::exists(checkpoint, ec)) {
    return Status::not_found("--resume: run " + run->info.run_id + " has no checkpoint (" + checkpoint.string() +
                             "): it ended before its first epoch did, or was trained by a wattlab without "
                             "checkpoints; start a new run");
  }
  const std::filesystem::path config = std::filesystem::path(*dir) / kConfigFile;
  if (std::filesystem::exists(config, ec)) {
    auto file = ConfigFile::read(config.string());
    if (!file.ok()) return file.status();
    WATTLAB_RETURN_IF_ERROR(file->apply(cmd, kNotSettable));
    stored_config = std::move(*file);
  }
  return run;
}

// "0.0401 J" per image, or "-" before any image was trained.
std::string per_image(double j) {
  return std::isfinite(j) ? format_number(j, 4) + " J" : "-";
}

// The run's outcome on stdout, each figure saying what it covers:
//   run ID FINISHED: accuracy 0.8123 on 250 test images, F1 0.8100, completed 1 epochs, 12.3 s
//     energy (estimated): 273 J in all, 60.2 J of it training (0.0401 J per image trained); this run's
//     share 150 J (0.0221 J per image trained) — the rest was other processes' work
//     stored in ./wattlab.db
void print_summary(const TrackedTrainingSummary& s, const std::string& where) {
  std::printf("run %s %s: ", s.run_id.c_str(), run_status_name(s.status));
  if (!s.epochs.empty()) {
    const auto& last = s.epochs.back();
    std::printf("accuracy %.4f on %lld test images, F1 %.4f, ", last.accuracy, static_cast<long long>(last.test_images),
                last.f1_macro);
  }
  if (!s.stop_reason.empty()) std::printf("%s, ", s.stop_reason.c_str());
  std::printf("%s\n", format_duration_s(s.duration_s).c_str());
  std::printf("  energy (%s): %s in all (training, evaluation and set-up), %s of it training (%s per image trained); "
              "attributed to this run: %s (%s per image trained)\n",
              s.energy_estimated ? "estimated" : "measured", format_energy_j(s.energy_j).c_str(),
              format_energy_j(s.train_energy_j).c_str(), per_image(s.energy_per_image_j()).c_str(),
              format_energy_j(s.attributed_energy_j).c_str(), per_image(s.attributed_energy_per_image_j()).c_str());
  if (!s.busy_machine_warning.empty()) std::printf("  warning: %s\n", s.busy_machine_warning.c_str());
  std::printf("  stored in %s\n", where.c_str());
}

// Exit code of a run that a signal stopped: 128 + the signal, as a shell reports it.
int killed_exit_code() { return 128 + (stop_signal() ? stop_signal() : SIGINT); }

int run_train(const GlobalOptions& global, TrainCommandOptions& o, CLI::App& cmd) {
  TrainConfig& c = o.run.train;
  // Flags come from the command line, then --config, then (with --resume) the run's stored configuration.
  std::optional<ConfigFile> config_file, stored_config;
  if (!o.config_path.empty()) {
    auto file = ConfigFile::read(o.config_path);
    if (!file.ok()) return report_error(file.status().message());
    if (Status s = file->apply(cmd, kNotSettable); !s.ok()) return report_error(s.message());
    config_file = std::move(*file);
  }
  // Opened first only for --resume: bad input must leave no store behind.
  std::optional<RunDestination> destination;
  if (!o.resume.empty()) {
    auto opened = open_run_destination(global, o.tracking_uri);
    if (!opened.ok()) return report_error(opened.status().message());
    destination = std::move(*opened);
    auto run = find_resumed_run(*destination, o, cmd, stored_config);
    if (!run.ok()) return report_error(run.status().message());
    o.run.resume = std::move(*run);
  }
  // A failed check names the file and line that set the value.
  auto located = [&](const Status& s) {
    Status out = config_file ? config_file->locate(s) : s;
    return stored_config && out.message() == s.message() ? stored_config->locate(s) : out;
  };
  if (Status s = validate(c); !s.ok()) return report_error(located(s).message());
  if (Status s = resolve_budget(o); !s.ok()) return report_error(located(s).message());
  o.run.config_yaml = resolved_config_yaml(cmd, kNotStored);
  auto data = load_train_data(c);
  if (!data.ok()) return report_error(data.status().message());
  if (Status s = validate(c, *data); !s.ok()) return report_error(located(s).message());
  if (!destination) {
    auto opened = open_run_destination(global, o.tracking_uri);
    if (!opened.ok()) return report_error(opened.status().message());
    destination = std::move(*opened);
  }

  install_stop_signal_handlers();
  TerminalTrainingReporter reporter(!o.quiet);
  auto summary = run_tracked_training(*destination->logger, o.run, *data, &reporter);
  if (!summary.ok()) return report_error(summary.status().message());

  print_summary(*summary, destination->description);
  return summary->status == RunStatus::kKilled ? killed_exit_code() : 0;
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "train", "Train a model on Fashion-MNIST, CIFAR-10/100 or an image folder, metered and tracked");
  auto o = std::make_shared<TrainCommandOptions>();
  add_train_options(cmd, *o);
  cmd->footer(
      "Examples:\n"
      "  wattlab train --model cnn --epochs 3\n"
      "  wattlab train --data ~/cifar-10-batches-bin --model resnet18 --augment crop,flip --val-split 0.1 \\\n"
      "      --optimizer sgd --lr 0.1 --nesterov --weight-decay 5e-4 --schedule cosine --epochs 30 --early-stopping 5\n"
      "  wattlab train --dataset folder --data ~/flowers --resize 64 --channels 3\n"
      "  wattlab train --config study.yaml --seed 3\n"
      "  wattlab train --resume 3f2a9c                   # after a stop: continues from the last epoch");
  cmd->callback([&global, o, exit_code, cmd] { *exit_code = run_train(global, *o, *cmd); });
}

}  // namespace wattlab::cli
