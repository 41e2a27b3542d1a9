// `wattlab runs ls` and `wattlab runs show RUN`: reading runs back.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/advice.h"
#include "wattlab/cli/commands.h"
#include "wattlab/cli/table.h"
#include "wattlab/server/wire.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct RunsOptions {
  std::string format = "table";
  std::string experiment;             // ls: only this experiment
  std::string filter;                 // ls: MLflow search syntax
  std::vector<std::string> order_by;  // ls: "metrics.energy_j ASC" ...
  int limit = 50;                     // ls
  std::string run;         // show
};

double metric_or_nan(const RunData& run, const std::string& key) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

std::string param_or_dash(const RunData& run, const std::string& key) {
  auto it = run.params.find(key);
  return it == run.params.end() ? "-" : it->second;
}

// NaN is not JSON: it becomes null.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// Wall time from the run's start to its end: with pauses between the sessions of a resumed run.
double elapsed_s_of(const RunInfo& info) {
  return info.end_time_ms ? static_cast<double>(*info.end_time_ms - info.start_time_ms) / 1000.0 : NAN;
}

// The run's duration_s metric (the time its sessions were metered, pauses between them excluded), or the
// elapsed time of a run that has none; one meaning for duration_s everywhere.
double duration_s_of(const RunData& r) {
  const double metered = metric_or_nan(r, "duration_s");
  return std::isfinite(metered) ? metered : elapsed_s_of(r.info);
}

bool energy_estimated(const RunData& run) {
  auto it = run.tags.find("wattlab.energy_estimated");
  return it != run.tags.end() && it->second == "true";
}

int run_ls(const GlobalOptions& global, const RunsOptions& o) {
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  SearchRunsOptions search;
  search.filter = o.filter;
  search.order_by = o.order_by;
  if (!o.experiment.empty()) {
    auto experiment = (*store)->get_experiment_by_name(o.experiment);
    if (!experiment.ok()) return report_error("no experiment named \"" + o.experiment + "\" in " + global.store_path);
    search.experiment_ids = std::vector<std::string>{experiment->experiment_id};
  }
  // Pages until `limit` runs (all when it is 0).
  const size_t wanted = o.limit > 0 ? static_cast<size_t>(o.limit) : SIZE_MAX;
  std::vector<RunData> runs;
  do {
    search.max_results = static_cast<int>(std::min<size_t>(wanted - runs.size(), kSearchMaxResultsLimit));
    auto page = (*store)->search_runs(search);
    if (!page.ok()) return report_error(page.status().message());
    for (auto& run : page->runs) runs.push_back(std::move(run));
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty() && runs.size() < wanted);

  if (o.format == "json") {
    auto out = nlohmann::json::array();
    for (const auto& r : runs) {
      out.push_back({{"run_id", r.info.run_id},
                     {"run_name", r.info.run_name},
                     {"experiment_id", r.info.experiment_id},
                     {"status", run_status_name(r.info.status)},
                     {"model", param_or_dash(r, "model")},
                     {"start_time_ms", r.info.start_time_ms},
                     {"duration_s", number_or_null(duration_s_of(r))},
                     {"elapsed_s", number_or_null(elapsed_s_of(r.info))},
                     {"accuracy", number_or_null(metric_or_nan(r, "accuracy"))},
                     {"f1_macro", number_or_null(metric_or_nan(r, "f1_macro"))},
                     {"energy_j", number_or_null(metric_or_nan(r, "energy_j"))},
                     {"attributed_energy_j", number_or_null(metric_or_nan(r, "attributed_energy_j"))},
                     {"energy_per_image_j", number_or_null(metric_or_nan(r, "energy_per_image_j"))},
                     {"energy_estimated", energy_estimated(r)}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  TextTable table({"run", "name", "model", "status", "accuracy", "F1", "time", "energy J", "J/image", "energy"},
                  {false, false, false, false, true, true, true, true, true, false});
  for (const auto& r : runs) {
    table.add_row({r.info.run_id.substr(0, 8), r.info.run_name, param_or_dash(r, "model"),
                   run_status_name(r.info.status), format_number(metric_or_nan(r, "accuracy"), 4),
                   format_number(metric_or_nan(r, "f1_macro"), 4), format_duration_s(duration_s_of(r)),
                   format_number(metric_or_nan(r, "energy_j"), 1),
                   format_number(metric_or_nan(r, "energy_per_image_j"), 4),
                   energy_estimated(r) ? "estimated" : "measured"});
  }
  if (table.row_count() == 0) {
    if (o.filter.empty() && o.experiment.empty()) {
      std::cout << "No runs in " << global.store_path << " yet. Start one with `wattlab train` or `wattlab quickstart`.\n";
    } else {
      std::cout << "No runs match.\n";
    }
    return 0;
  }
  table.print(std::cout);
  return 0;
}

int run_show(const GlobalOptions& global, const RunsOptions& o) {
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  auto run = (*store)->get_run(o.run);
  if (!run.ok()) return report_error(run.status().message() + " — list runs with `wattlab runs ls`");
  const RunData& r = *run;
  std::string advice;  // when its F1 stopped paying for its energy (analysis/advice.h); empty without epochs
  if (auto epochs = epoch_progress_of_run(**store, r.info.run_id); epochs.ok()) {
    if (auto a = advise_run_stop(*epochs); a.ok()) advice = a->sentence;
  }
  if (o.format == "json") {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [key, m] : r.latest_metrics)
      metrics[key] = {{"value", number_or_null(m.value)}, {"step", m.step}, {"timestamp_ms", m.timestamp_ms}};
    auto windows = nlohmann::json::array();
    for (const auto& w : r.energy_windows) windows.push_back(energy_window_to_json(w));
    nlohmann::json out = {{"run_id", r.info.run_id},
                          {"run_name", r.info.run_name},
                          {"experiment_id", r.info.experiment_id},
                          {"status", run_status_name(r.info.status)},
                          {"start_time_ms", r.info.start_time_ms},
                          {"end_time_ms", r.info.end_time_ms ? nlohmann::json(*r.info.end_time_ms) : nlohmann::json()},
                          {"duration_s", number_or_null(duration_s_of(r))},
                          {"elapsed_s", number_or_null(elapsed_s_of(r.info))},
                          {"energy_estimated", energy_estimated(r)},
                          {"params", r.params},
                          {"tags", r.tags},
                          {"metrics", metrics},
                          {"energy_windows", windows},
                          {"environment", r.environment},
                          {"advice", advice.empty() ? nlohmann::json() : nlohmann::json(advice)}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "run         " << r.info.run_id << "\n"
            << "name        " << r.info.run_name << "\n"
            << "experiment  " << r.info.experiment_id << "\n"
            << "status      " << run_status_name(r.info.status) << "\n"
            << "started     " << format_timestamp_ms(r.info.start_time_ms) << "\n"
            << "duration    " << format_duration_s(duration_s_of(r)) << "\n"
            << "energy      " << (energy_estimated(r) ? "estimated (no hardware counter)" : "measured") << "\n";
  auto section = [](const std::string& title) { std::cout << "\n" << title << "\n"; };
  section("Params");
  TextTable params({"key", "value"});
  for (const auto& [k, v] : r.params) params.add_row({k, v});
  params.print(std::cout);
  section("Metrics (latest value)");
  TextTable metrics({"key", "value", "step"}, {false, true, true});
  for (const auto& [k, m] : r.latest_metrics)
    metrics.add_row({k, format_number(m.value, std::fabs(m.value) >= 100 ? 1 : 4), std::to_string(m.step)});
  metrics.print(std::cout);
  section("Energy windows");
  TextTable windows({"window", "duration", "energy", "domains", "figures"}, {false, true, true, false, false});
  for (const auto& w : r.energy_windows) {
    std::string domains;
    for (const auto& d : w.domains) domains += (domains.empty() ? "" : ", ") + d.name + " " + format_energy_j(d.energy_j);
    windows.add_row({w.name, format_duration_s(w.duration_s), format_energy_j(w.energy_j()), domains,
                     w.estimated() ? "estimated" : "measured"});
  }
  windows.print(std::cout);
  if (!advice.empty()) {
    section("Advice");
    std::cout << advice << "\n";
  }
  section("Environment");
  TextTable environment({"key", "value"});
  for (const auto& [k, v] : r.environment) environment.add_row({k, v});
  environment.print(std::cout);
  if (!r.tags.empty()) {
    section("Tags");
    TextTable tags({"key", "value"});
    for (const auto& [k, v] : r.tags) tags.add_row({k, v});
    tags.print(std::cout);
  }
  return 0;
}

}  // namespace

void add_runs_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* runs = app.add_subcommand("runs", "List and inspect tracked runs");
  runs->require_subcommand(1);
  auto o = std::make_shared<RunsOptions>();

  auto* ls = runs->add_subcommand("ls", "List runs (newest first, or as --order-by says): accuracy, F1, time, energy, J/image");
  ls->add_option("--experiment", o->experiment, "Only runs of this experiment");
  ls->add_option("--filter", o->filter,
                 "MLflow search filter, e.g. \"metrics.accuracy > 0.85 AND params.model = 'cnn'\" "
                 "(metrics., params., tags., attributes.; = != > >= < <= LIKE ILIKE IN; AND)");
  ls->add_option("--order-by", o->order_by, "Sort key, repeatable: \"metrics.energy_j ASC\" (default: newest first)");
  ls->add_option("--limit", o->limit, "At most N runs (0: all)")->capture_default_str();
  ls->add_option("--format", o->format, "table or json (keys carry units: energy_j, duration_s)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  ls->callback([&global, o, exit_code] { *exit_code = run_ls(global, *o); });

  auto* show = runs->add_subcommand("show", "Everything about one run: params, metrics, energy windows, environment");
  show->add_option("RUN", o->run, "Run id, or a unique prefix of at least 6 characters")->required();
  show->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  show->callback([&global, o, exit_code] { *exit_code = run_show(global, *o); });
}

}  // namespace wattlab::cli
