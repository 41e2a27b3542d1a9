// `wattlab train`: one metered, tracked training run.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/signals.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/tracked_training.h"
#include "wattlab/train/models.h"

namespace wattlab::cli {

namespace {

struct TrainCommandOptions {
  TrackedTrainingOptions run;
  std::string tracking_uri;  // empty: --store
  bool quiet = false;
};

// Exit code of a run that a signal stopped: 128 + the signal, as a shell reports it.
int killed_exit_code() { return 128 + (stop_signal() ? stop_signal() : SIGINT); }

int run_train(const GlobalOptions& global, TrainCommandOptions& o) {
  TrainConfig& c = o.run.train;
  if (Status s = validate(c); !s.ok()) return report_error(s.message());
  auto data = load_train_data(c);
  if (!data.ok()) return report_error(data.status().message());
  auto destination = open_run_destination(global, o.tracking_uri);
  if (!destination.ok()) return report_error(destination.status().message());

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
  std::printf("%s, %s%s (%.4f J/image) — stored in %s\n", format_duration_s(s.duration_s).c_str(),
              format_energy_j(s.energy_j).c_str(), s.energy_estimated ? " estimated" : " measured",
              s.energy_per_image_j(), destination->description.c_str());
  return s.status == RunStatus::kKilled ? killed_exit_code() : 0;
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand("train", "Train a model on Fashion-MNIST (or another IDX data set), metered and tracked");
  auto o = std::make_shared<TrainCommandOptions>();
  TrainConfig& c = o->run.train;
  std::string models;
  for (const auto& m : model_names()) models += (models.empty() ? "" : ", ") + m;
  cmd->add_option("--model", c.model, "Architecture: " + models)->capture_default_str();
  cmd->add_option("--data-dir", c.data_dir, "Folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
      ->capture_default_str();
  cmd->add_option("--subset", c.subset, "Train on the first N training images (0: all)")->capture_default_str();
  cmd->add_option("--test-subset", c.test_subset, "Evaluate on the first N test images (0: all)")->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "Passes over the training images")->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "Images per step")->capture_default_str();
  cmd->add_option("--threads", c.threads, "LibTorch intra-op threads")->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed for weights and shuffling (same seed + threads: same metrics)")
      ->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "sgd or adam")->capture_default_str();
  cmd->add_option("--lr", c.learning_rate, "Learning rate")->capture_default_str();
  cmd->add_option("--momentum", c.momentum, "Momentum (sgd)")->capture_default_str();
  cmd->add_option("--width-multiplier", c.width_multiplier, "Scales every layer's channels")
      ->capture_default_str();
  cmd->add_option("--experiment", o->run.experiment, "Experiment the run belongs to")->capture_default_str();
  add_tracking_uri_option(cmd, &o->tracking_uri);
  cmd->add_option("--run-name", o->run.run_name, "Run name (default: MODEL-tTHREADS-bBATCH)");
  cmd->add_option("--meter", o->run.meter.kind, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->run.meter.estimator.cpu_tdp_w,
                  "CPU TDP in watts for the estimator (default: looked up from the CPU model)");
  cmd->add_option("--sample-interval-ms", o->run.sample_interval_ms, "Power sampling interval")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress bar or per-epoch lines");
  cmd->footer("Example: wattlab train --model cnn --epochs 3");
  cmd->callback([&global, o, exit_code] { *exit_code = run_train(global, *o); });
}

}  // namespace wattlab::cli
