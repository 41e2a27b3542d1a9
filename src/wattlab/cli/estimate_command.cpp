// `wattlab estimate`: what a training would cost, before it starts (PRE, or
// the Green Algorithms baseline when the store has too few runs), optionally
// on every environment the store has seen; analysis/estimate.h does the work.
// Torch-free, so that it answers without LibTorch's start-up: the model's
// size comes from model_cost_cache.h.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/estimate.h"
#include "wattlab/cli/commands.h"
#include "wattlab/cli/config_file.h"
#include "wattlab/cli/model_cost_cache.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/train_options.h"
#include "wattlab/core/env.h"
#include "wattlab/track/environment.h"
#include "wattlab/train/device.h"
#include "wattlab/train/trainer.h"

namespace wattlab::cli {

namespace {

struct EstimateCommandOptions {
  TrainCommandOptions train;  // every `train` flag, so that a train command line can be pasted
  std::string format = "table";
  std::vector<std::string> compare;  // --compare-environments NAME...
  bool compare_set = false;
  double min_f1_gain_per_kj = AdviceOptions().min_f1_gain_per_kj;
};

// "12.3 kJ (10.1 kJ – 14.2 kJ)"
std::string with_interval(const std::string& value, const std::string& low, const std::string& high) {
  return value + " (" + low + " – " + high + ")";
}

std::string grams(double g) { return format_number(g, g < 10 ? 2 : 1) + " g"; }

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json to_json(const TrainingEstimate& e) {
  auto nearest = nlohmann::json::array();
  for (const auto& n : e.nearest) {
    nearest.push_back({{"configuration", n.label}, {"weight", n.weight}, {"energy_per_epoch_j", n.energy_per_epoch_j},
                       {"runs", n.runs}});
  }
  return {{"environment", {{"label", e.environment.label()}, {"name", e.environment.name},
                           {"hostname", e.environment.hostname}, {"cpu_model", e.environment.cpu_model},
                           {"threads", e.environment.threads}, {"device", e.environment.device},
                           {"gpu_model", e.environment.gpu_model}}},
          {"method", e.method == EstimateMethod::kPre ? "pre" : "green-algorithms-baseline"},
          {"method_text", e.method_text},
          {"energy_j", e.energy_j},
          {"energy_low_j", e.energy_low_j},
          {"energy_high_j", e.energy_high_j},
          {"duration_s", e.duration_s},
          {"duration_low_s", e.duration_low_s},
          {"duration_high_s", e.duration_high_s},
          {"co2e_g", finite_or_null(e.co2e_g)},
          {"co2e_low_g", finite_or_null(e.co2e_low_g)},
          {"co2e_high_g", finite_or_null(e.co2e_high_g)},
          {"mean_power_w", e.mean_power_w},
          {"comparable_runs", e.comparable_runs},
          {"training_runs", e.training_runs},
          {"cv_mape", finite_or_null(e.cv_mape)},
          {"nearest", nearest},
          {"assumptions", e.assumptions}};
}

int run_estimate(const GlobalOptions& global, EstimateCommandOptions& o, CLI::App& cmd) {
  TrainConfig& c = o.train.run.train;
  if (!o.train.resume.empty()) {
    return report_error("estimate takes no --resume: ask about the run's remaining epochs with --epochs instead");
  }
  if (!o.train.config_path.empty()) {
    auto file = ConfigFile::read(o.train.config_path);
    if (!file.ok()) return report_error(file.status().message());
    if (Status s = file->apply(cmd, kNotSettable); !s.ok()) return report_error(s.message());
  }
  if (Status s = validate_settings(c); !s.ok()) return report_error(s.message());
  if (Status s = resolve_budget(o.train); !s.ok()) return report_error(s.message());
  EstimateOptions options;
  options.epochs = c.epochs;
  options.intensity = o.train.run.budget.intensity;
  options.pue = o.train.run.budget.pue;
  options.advice.min_f1_gain_per_kj = o.min_f1_gain_per_kj;
  // The data set's sizes and shape, as the training would see them.
  auto data = load_train_data(c);
  if (!data.ok()) return report_error(data.status().message());
  if (Status s = validate(c, *data); !s.ok()) return report_error(s.message());

  PreWorkload workload;
  workload.shape = {c.model, c.width_multiplier, data->train.channels, data->train.height, data->train.width,
                    std::max(data->train.num_classes, data->test.num_classes)};
  workload.batch_size = c.batch_size;
  workload.train_images = data->train.count;
  workload.val_images = data->validation.count;
  workload.test_images = data->test.count;
  workload.precision = c.precision;
  EnvironmentExtras extras;
  extras.git_work_dir = "/";  // no git lookup: an estimate records nothing
  extras.values = {{"threads", std::to_string(c.threads)}, {"device", parse_device(c.device)->name()}};
  workload.environment = environment_of_snapshot(collect_environment(Env::system(), extras));

  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  SystemClock clock;
  auto report = estimate_training(**store, workload, cached_model_cost,
                                  o.compare_set ? std::optional(o.compare) : std::nullopt, options, clock);
  if (!report.ok()) return report_error(report.status().message());

  char what[400];
  std::snprintf(what, sizeof what, "%s%s on %s (%lld training, %lld validation, %lld test images, %lldx%lldx%lld), "
                "batch %lld, %d epoch%s",
                c.model.c_str(), c.width_multiplier != 1.0 ? (" x" + format_number(c.width_multiplier, 2)).c_str() : "",
                std::filesystem::path(c.data_dir).filename().c_str(), static_cast<long long>(workload.train_images),
                static_cast<long long>(workload.val_images), static_cast<long long>(workload.test_images),
                static_cast<long long>(workload.shape.channels), static_cast<long long>(workload.shape.height),
                static_cast<long long>(workload.shape.width), static_cast<long long>(c.batch_size), c.epochs,
                c.epochs == 1 ? "" : "s");
  if (o.format == "json") {
    auto estimates = nlohmann::json::array();
    for (const auto& e : report->estimates) estimates.push_back(to_json(e));
    nlohmann::json out = {{"training", what},
                          {"model", c.model},
                          {"epochs", c.epochs},
                          {"parameters", report->cost.parameters},
                          {"macs_per_image", report->cost.macs_per_image},
                          {"carbon_intensity_g_per_kwh", options.intensity.g_per_kwh},
                          {"pue", options.pue},
                          {"model_note", report->model_note},
                          {"estimates", estimates}};
    if (report->advice) {
      out["advice"] = {{"run_id", report->advice_run_id},
                       {"stop_epoch", report->advice->stop_epoch},
                       {"diminishing", report->advice->diminishing},
                       {"saved_energy_j", report->advice->saved_energy_j},
                       {"sentence", report->advice_sentence}};
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "Estimate for " << what << "\n";
  const bool one = report->estimates.size() == 1;
  TextTable table({"environment", "energy (90 % interval)", "time", "CO2e", "method"});
  for (const auto& e : report->estimates) {
    table.add_row({e.environment.label(),
                   with_interval(format_energy_j(e.energy_j), format_energy_j(e.energy_low_j),
                                 format_energy_j(e.energy_high_j)),
                   with_interval(format_duration_s(e.duration_s), format_duration_s(e.duration_low_s),
                                 format_duration_s(e.duration_high_s)),
                   with_interval(grams(e.co2e_g), grams(e.co2e_low_g), grams(e.co2e_high_g)),
                   e.method == EstimateMethod::kPre ? "PRE" : "baseline"});
  }
  table.print(std::cout);
  std::cout << "\n";
  for (const auto& e : report->estimates) {
    std::cout << (one ? "" : e.environment.label() + ": ") << e.method_text << "\n";
    if (!e.assumptions.empty()) std::cout << "  " << e.assumptions << "\n";
    if (one) {
      for (const auto& n : e.nearest) {
        std::cout << "  leans on " << n.label << ": " << format_energy_j(n.energy_per_epoch_j) << "/epoch over "
                  << n.runs << (n.runs == 1 ? " run" : " runs") << " (kernel weight " << format_number(n.weight, 2)
                  << ")\n";
      }
    }
  }
  if (std::any_of(report->estimates.begin(), report->estimates.end(),
                  [](const auto& e) { return e.method == EstimateMethod::kPre; })) {
    std::cout << "Model: " << report->model_note << " (experiment " << kEstimatorExperiment << ")\n";
  }
  std::cout << "CO2e at " << format_number(options.intensity.g_per_kwh, 0) << " g/kWh (" << options.intensity.source
            << "), PUE " << format_number(options.pue, 2) << "\n";
  if (!report->advice_sentence.empty()) std::cout << "\nAdvice: " << report->advice_sentence << "\n";
  return 0;
}

}  // namespace

void add_estimate_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "estimate", "Energy, time and CO2e a training would take, before it starts (PRE from the store's runs)");
  auto o = std::make_shared<EstimateCommandOptions>();
  add_train_options(cmd, o->train);
  auto* compare = cmd->add_option("--compare-environments", o->compare,
                                  "Rank every environment the store has runs of (or those whose name or label "
                                  "contains one of NAMES) by predicted energy and time")
                      ->expected(0, -1);
  cmd->add_option("--min-f1-gain-per-kj", o->min_f1_gain_per_kj,
                  "Advice: more energy is worth it while F1 gains at least this much per kJ (0.001 = 0.1 points)")
      ->capture_default_str();
  cmd->add_option("--format", o->format, "table or json (keys carry units: energy_j, duration_s, co2e_g)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->footer(
      "Takes `wattlab train`'s flags (those that do not change the cost are ignored). PRE (kernel ridge regression on the\n"
      "store's finished runs) is fitted when the store has new runs and kept in the experiment\n"
      "wattlab-estimators; with too few runs on this hardware the answer is the Green Algorithms baseline.\n"
      "Examples:\n"
      "  wattlab estimate --model mobilenet_v2 --epochs 10 --threads 2\n"
      "  wattlab estimate --model resnet18 --subset 5000 --epochs 5 --compare-environments\n"
      "  wattlab estimate --model cnn --epochs 3 --format json");
  cmd->callback([&global, o, exit_code, compare, cmd] {
    o->compare_set = compare->count() > 0;
    *exit_code = run_estimate(global, *o, *cmd);
  });
}

}  // namespace wattlab::cli
