// `wattlab quickstart`: the built-in study. Two models x two training
// environments x repetitions on a Fashion-MNIST subset, metered and tracked,
// ending with the trade-off table a user would otherwise build by hand.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/signals.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/tracked_training.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct QuickstartOptions {
  std::string experiment = "quickstart";
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  int64_t subset = 2000;
  int64_t test_subset = 500;
  int epochs = 2;
  int repetitions = 2;
  std::string meter = "auto";
  std::optional<double> cpu_tdp_w;
};

struct Model {
  std::string label;  // as shown in the table
  std::string name;
  double width_multiplier;
};

struct Environment {
  std::string label;
  int threads;
  int64_t batch_size;
};

// Mean of the repetitions of one (model, environment) pair.
struct Cell {
  std::string model, environment;
  std::vector<TrackedTrainingSummary> runs;
  double mean(double (*field)(const TrackedTrainingSummary&)) const {
    double sum = 0;
    for (const auto& r : runs) sum += field(r);
    return runs.empty() ? NAN : sum / static_cast<double>(runs.size());
  }
};

int run_quickstart(const GlobalOptions& global, const QuickstartOptions& o) {
  const std::vector<Model> models = {{"cnn", "cnn", 1.0}, {"mobilenet_v2 x0.35", "mobilenet_v2", 0.35}};
  const std::vector<Environment> environments = {{"1 thread, batch 64", 1, 64}, {"2 threads, batch 64", 2, 64}};

  TrainConfig base;
  base.data_dir = o.data_dir;
  base.subset = o.subset;
  base.test_subset = o.test_subset;
  base.epochs = o.epochs;
  if (o.repetitions < 1) return report_error("--repetitions must be at least 1 (got " + std::to_string(o.repetitions) + ")");
  if (Status s = validate(base); !s.ok()) return report_error(s.message());
  auto data = load_train_data(base);
  if (!data.ok()) return report_error(data.status().message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  install_stop_signal_handlers();

  size_t total = models.size() * environments.size() * static_cast<size_t>(o.repetitions);
  std::printf("wattlab quickstart: %zu models x %zu environments x %d repetitions = %zu runs, %d epochs each on "
              "%lld Fashion-MNIST training images (%lld test)\n\n",
              models.size(), environments.size(), o.repetitions, total, o.epochs,
              static_cast<long long>(data->train.count), static_cast<long long>(data->test.count));

  std::vector<Cell> cells;
  for (const auto& m : models)
    for (const auto& e : environments) cells.push_back({m.label, e.label, {}});
  // Repetition-major order, so that slow drift of the machine spreads over every cell.
  size_t done = 0;
  for (int rep = 1; rep <= o.repetitions; ++rep) {
    for (size_t mi = 0; mi < models.size(); ++mi) {
      for (size_t ei = 0; ei < environments.size(); ++ei) {
        const Model& m = models[mi];
        const Environment& e = environments[ei];
        TrackedTrainingOptions run;
        run.train = base;
        run.train.model = m.name;
        run.train.width_multiplier = m.width_multiplier;
        run.train.threads = e.threads;
        run.train.batch_size = e.batch_size;
        run.train.seed = static_cast<uint64_t>(rep);
        run.experiment = o.experiment;
        run.run_name = m.name + "-t" + std::to_string(e.threads) + "-b" + std::to_string(e.batch_size) + "-rep" +
                       std::to_string(rep);
        run.meter.kind = o.meter;
        run.meter.estimator.cpu_tdp_w = o.cpu_tdp_w;
        std::fprintf(stderr, "[%zu/%zu] %s, %s, repetition %d\n", ++done, total, m.label.c_str(), e.label.c_str(), rep);
        auto summary = run_tracked_training(**store, run, *data);
        if (!summary.ok()) return report_error(summary.status().message());
        if (summary->status == RunStatus::kKilled) {
          std::fprintf(stderr, "quickstart interrupted: run %s ended KILLED; finished runs are kept in %s\n",
                       summary->run_id.c_str(), global.store_path.c_str());
          return 128 + stop_signal();
        }
        cells[mi * environments.size() + ei].runs.push_back(std::move(*summary));
      }
    }
  }

  auto accuracy = [](const TrackedTrainingSummary& s) { return s.epochs.back().accuracy; };
  auto f1 = [](const TrackedTrainingSummary& s) { return s.epochs.back().f1_macro; };
  auto time_s = [](const TrackedTrainingSummary& s) { return s.duration_s; };
  auto energy = [](const TrackedTrainingSummary& s) { return s.energy_j; };
  auto per_image = [](const TrackedTrainingSummary& s) { return s.energy_per_image_j(); };
  double most_expensive_j = 0;
  for (const auto& c : cells) most_expensive_j = std::max(most_expensive_j, c.mean(energy));
  bool estimated = false;
  for (const auto& c : cells)
    for (const auto& r : c.runs) estimated |= r.energy_estimated;

  std::printf("\nTrade-offs (mean of %d repetitions; energy %s):\n\n", o.repetitions,
              estimated ? "ESTIMATED from CPU utilisation and TDP, no hardware counter here" : "measured");
  TextTable table({"model", "environment", "accuracy", "F1", "time", "energy", "J/image", "saved vs costliest"},
                  {false, false, true, true, true, true, true, true});
  for (const auto& c : cells) {
    double saved = most_expensive_j > 0 ? 100.0 * (1.0 - c.mean(energy) / most_expensive_j) : NAN;
    table.add_row({c.model, c.environment, format_number(c.mean(accuracy), 4), format_number(c.mean(f1), 4),
                   format_duration_s(c.mean(time_s)), format_energy_j(c.mean(energy)),
                   format_number(c.mean(per_image), 4), format_number(saved, 1) + " %"});
  }
  table.print(std::cout);
  std::error_code ec;
  auto where = std::filesystem::absolute(global.store_path, ec);
  std::printf("\n%zu runs stored in %s (experiment '%s').\n"
              "List them: wattlab runs ls --experiment %s --store %s\n",
              total, (ec ? global.store_path : where.string()).c_str(), o.experiment.c_str(), o.experiment.c_str(),
              global.store_path.c_str());
  return 0;
}

}  // namespace

void add_quickstart_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "quickstart", "The built-in study: 2 models x 2 training environments x repetitions on Fashion-MNIST");
  auto o = std::make_shared<QuickstartOptions>();
  cmd->add_option("--subset", o->subset, "Training images per run")->capture_default_str();
  cmd->add_option("--test-subset", o->test_subset, "Test images per evaluation")->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Epochs per run")->capture_default_str();
  cmd->add_option("--repetitions", o->repetitions, "Repetitions of each configuration")->capture_default_str();
  cmd->add_option("--experiment", o->experiment, "Experiment the runs are stored under")->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "Fashion-MNIST IDX folder")->capture_default_str();
  cmd->add_option("--meter", o->meter, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->cpu_tdp_w, "CPU TDP in watts for the estimator");
  cmd->callback([&global, o, exit_code] { *exit_code = run_quickstart(global, *o); });
}

}  // namespace wattlab::cli
