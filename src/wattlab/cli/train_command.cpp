// `wattlab train`: one metered, tracked training run.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/config_file.h"
#include "wattlab/cli/signals.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/tracked_training.h"
#include "wattlab/cli/train_options.h"
#include "wattlab/energy/carbon.h"
#include "wattlab/energy/energy_budget.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct TrainCommandOptions {
  TrackedTrainingOptions run;
  std::string tracking_uri;   // empty: --store
  std::string energy_budget;  // "50kJ"; empty: none
  std::string carbon_budget;  // "10g"; empty: none
  std::string carbon;         // country, provider:region or g/kWh; empty: world average
  std::string config_path;    // --config: flags from a YAML file; empty: none
  std::string resume;         // --resume: the id of the run to continue; empty: a new run
  bool quiet = false;
};

// Keys a config file cannot set, and those the stored configuration leaves
// out (a tracking URI may carry a password).
const std::set<std::string> kNotSettable = {"config", "resume"};
const std::set<std::string> kNotStored = {"config", "resume", "tracking-uri"};

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

// --energy-budget, --carbon-budget, --carbon and --pue into o.run.budget.
Status resolve_budget(TrainCommandOptions& o) {
  EnergyBudgetOptions& b = o.run.budget;
  if (!o.energy_budget.empty()) {
    auto j = parse_energy_j(o.energy_budget);
    if (!j.ok()) return Status::invalid_argument("--energy-budget: " + j.status().message());
    b.energy_j = *j;
  }
  if (!o.carbon_budget.empty()) {
    auto g = parse_carbon_g(o.carbon_budget);
    if (!g.ok()) return Status::invalid_argument("--carbon-budget: " + g.status().message());
    b.carbon_g = *g;
  }
  if (!o.carbon.empty()) {
    auto intensity = resolve_carbon_intensity(o.carbon);
    if (!intensity.ok()) return Status::invalid_argument("--carbon: " + intensity.status().message());
    b.intensity = *intensity;
  }
  if (auto check = estimate_carbon(0, b.intensity, b.pue); !check.ok()) {
    return Status::invalid_argument("--pue: " + check.status().message());
  }
  return Status();
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
  o.run.show_progress = !o.quiet;
  auto summary = run_tracked_training(*destination->logger, o.run, *data);
  if (!summary.ok()) return report_error(summary.status().message());

  const auto& s = *summary;
  std::printf("run %s %s: ", s.run_id.c_str(), run_status_name(s.status));
  if (!s.epochs.empty()) {
    const auto& last = s.epochs.back();
    std::printf("accuracy %.4f, F1 %.4f, ", last.accuracy, last.f1_macro);
  }
  if (!s.stop_reason.empty()) std::printf("%s, ", s.stop_reason.c_str());
  std::printf("%s, %s%s (%.4f J/image) — stored in %s\n", format_duration_s(s.duration_s).c_str(),
              format_energy_j(s.energy_j).c_str(), s.energy_estimated ? " estimated" : " measured",
              s.energy_per_image_j(), destination->description.c_str());
  return s.status == RunStatus::kKilled ? killed_exit_code() : 0;
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "train", "Train a model on Fashion-MNIST, CIFAR-10/100 or an image folder, metered and tracked");
  auto o = std::make_shared<TrainCommandOptions>();
  TrainConfig& c = o->run.train;
  add_training_workload_options(cmd, c);

  const char* optimisation = "Optimisation";
  cmd->add_option("--optimizer", c.optimizer, "sgd, adam or adamw (decoupled weight decay)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr", c.learning_rate, "Base learning rate")->capture_default_str()->group(optimisation);
  cmd->add_option("--momentum", c.momentum, "Momentum (sgd)")->capture_default_str()->group(optimisation);
  cmd->add_flag("--nesterov", c.nesterov, "Nesterov momentum (sgd, momentum > 0)")->group(optimisation);
  cmd->add_option("--weight-decay", c.weight_decay,
                  "L2 penalty (sgd, adam) or decoupled weight decay (adamw); -1: 0, or 0.01 for adamw")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--schedule", c.schedule.kind,
                  "LR schedule, set once per epoch: none, step (x gamma every --lr-step epochs), cosine (from --lr "
                  "towards 0 over --epochs, after --warmup-epochs), plateau (x --plateau-factor when the monitored "
                  "loss has not improved for more than --plateau-patience epochs)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr-step", c.schedule.step_epochs, "step: epochs between reductions")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr-gamma", c.schedule.gamma, "step: factor per reduction, (0, 1]")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--warmup-epochs", c.schedule.warmup_epochs, "cosine: epochs of linear warm-up")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-factor", c.schedule.plateau_factor, "plateau: factor per reduction, (0, 1)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-patience", c.schedule.plateau_patience, "plateau: epochs without improvement tolerated")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-min-delta", c.schedule.plateau_min_delta,
                  "plateau: an improvement must beat the best loss by more than this")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--min-lr", c.schedule.min_lr, "plateau: lower bound of the rate")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--early-stopping", c.early_stopping.patience,
                  "Stop after this many epochs without improvement of the monitored metric (0: off)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--min-delta", c.early_stopping.min_delta,
                  "Early stopping: an improvement must beat the best by more than this")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--start-from-epoch", c.early_stopping.start_from_epoch,
                  "Early stopping: epochs not monitored at the start (warm-up)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--monitor", c.monitor,
                  "Early stopping watches loss or accuracy of the validation part (of the test split without "
                  "--val-split)")
      ->capture_default_str()->group(optimisation);

  cmd->add_option("--experiment", o->run.experiment, "Experiment the run belongs to")->capture_default_str();
  add_tracking_uri_option(cmd, &o->tracking_uri);
  cmd->add_option("--run-name", o->run.run_name, "Run name (default: MODEL-tTHREADS-bBATCH)");
  cmd->add_option("--meter", o->run.meter.kind, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->run.meter.estimator.cpu_tdp_w,
                  "CPU TDP in watts for the estimator (default: looked up from the CPU model)");
  cmd->add_option("--energy-budget", o->energy_budget,
                  "Stop before an epoch that would take the run's epochs past this energy (50kJ, 0.1kWh); "
                  "the run's wattlab.stop_reason says so")
      ->group("Energy");
  cmd->add_option("--carbon-budget", o->carbon_budget, "The same in CO2e (10g, 1.5kg) at --carbon and --pue")
      ->group("Energy");
  add_carbon_options(cmd, &o->carbon, &o->run.budget.pue);
  cmd->add_option("--sample-interval-ms", o->run.sample_interval_ms, "Power sampling interval")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress bar or per-epoch lines");
  cmd->add_option("--artifacts", o->run.artifacts_dir,
                  "The tracking server's artifact folder (its --artifacts), for runs recorded through a server on "
                  "this machine: their checkpoints and config.yaml go there");
  cmd->add_option("--config", o->config_path,
                  "YAML file of flags, named without the dashes (batch-size: 128); flags on the command line win. "
                  "The resolved configuration is stored with the run as config.yaml");
  cmd->add_option("--resume", o->resume,
                  "Continue run RUN_ID (the same run, epochs appended) from the checkpoint its last epoch wrote, "
                  "with its stored configuration; --epochs may grow. Same threads: the same result as if never "
                  "interrupted");
  for (const char* name : {"--experiment", "--tracking-uri", "--run-name", "--meter", "--cpu-tdp-w",
                           "--sample-interval-ms", "--quiet", "--artifacts", "--config", "--resume"}) {
    cmd->get_option(name)->group("Tracking");
  }
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
