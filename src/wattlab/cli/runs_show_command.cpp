// `wattlab runs show|rm|restore|metrics|power RUN`: one run at a time.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/advice.h"
#include "wattlab/cli/listing.h"
#include "wattlab/cli/run_view.h"
#include "wattlab/cli/runs_command.h"
#include "wattlab/cli/table.h"
#include "wattlab/server/wire.h"

namespace wattlab::cli {

namespace {

struct RunOptions {
  std::string tracking_uri;
  std::string run;                // show, metrics, power
  std::vector<std::string> runs;  // rm, restore: one or more
  std::string key;                // metrics: the metric
  std::string format;
};

// NaN is not JSON: it becomes null.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// The run RUN names in the catalog, or the user's error.
Result<RunData> find_run(RunCatalog& catalog, const std::string& run) {
  auto found = catalog.get_run(run);
  if (!found.ok() && found.status().code() == Status::Code::kNotFound) {
    return Status::not_found(found.status().message() + " — list runs with `wattlab runs ls` (deleted ones: --deleted)");
  }
  return found;
}

int run_show(RunCatalog& catalog, const RunOptions& o) {
  auto run = find_run(catalog, o.run);
  if (!run.ok()) return report_error(run.status().message());
  const RunData& r = *run;
  const EnergyState state = energy_state(r);
  const bool deleted = r.info.lifecycle_stage == kLifecycleDeleted;
  std::string advice;  // when its F1 stopped paying for its energy (analysis/advice.h); empty without epochs
  if (auto epochs = epoch_progress_of_run(catalog, r.info.run_id); epochs.ok()) {
    if (auto a = advise_run_stop(*epochs); a.ok()) advice = a->sentence;
  }
  if (o.format == "json") {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [key, m] : r.latest_metrics)
      metrics[key] = {{"value", number_or_null(m.value)}, {"step", m.step}, {"timestamp_ms", m.timestamp_ms}};
    auto windows = nlohmann::json::array();
    for (const auto& w : r.energy_windows) windows.push_back(energy_window_to_json(w));
    nlohmann::json derived = nlohmann::json::object();
    for (const auto& key : derived_keys()) derived[key] = number_or_null(*derived_value(r, key));
    nlohmann::json out = {{"run_id", r.info.run_id},
                          {"run_name", r.info.run_name},
                          {"experiment_id", r.info.experiment_id},
                          {"status", run_status_name(r.info.status)},
                          {"lifecycle_stage", r.info.lifecycle_stage},
                          {"deleted", deleted},
                          {"start_time_ms", r.info.start_time_ms},
                          {"end_time_ms", r.info.end_time_ms ? nlohmann::json(*r.info.end_time_ms) : nlohmann::json()},
                          {"duration_s", number_or_null(duration_s_of(r))},
                          {"elapsed_s", number_or_null(elapsed_s_of(r.info))},
                          {"energy", energy_state_key(state)},
                          {"energy_estimated", state == EnergyState::kEstimated  ? nlohmann::json(true)
                                               : state == EnergyState::kMeasured ? nlohmann::json(false)
                                                                                 : nlohmann::json()},
                          {"artifact_uri", r.info.artifact_uri},
                          {"params", r.params},
                          {"tags", r.tags},
                          {"metrics", metrics},
                          {"derived", derived},
                          {"energy_windows", windows},
                          {"environment", r.environment},
                          {"advice", advice.empty() ? nlohmann::json() : nlohmann::json(advice)}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::string energy = energy_state_text(state);
  if (state == EnergyState::kEstimated) energy += " (no hardware counter for some domains)";
  std::cout << "run         " << r.info.run_id << "\n"
            << "name        " << r.info.run_name << "\n"
            << "experiment  " << r.info.experiment_id << "\n"
            << "status      " << run_status_name(r.info.status)
            << (deleted ? " — DELETED (wattlab runs restore " + r.info.run_id.substr(0, 8) + " brings it back)" : "")
            << "\n"
            << "started     " << format_timestamp_ms(r.info.start_time_ms) << "\n"
            << "duration    " << format_duration_s(duration_s_of(r)) << " metered (" << format_duration_s(elapsed_s_of(r.info))
            << " from start to end)\n"
            << "energy      " << energy << "\n";
  auto section = [](const std::string& title) { std::cout << "\n" << title << "\n"; };
  section("Params");
  TextTable params({"key", "value"});
  for (const auto& [k, v] : r.params) params.add_row({k, v});
  params.print(std::cout);
  section("Metrics (latest value)");
  TextTable metrics({"key", "value", "step"}, {false, true, true});
  for (const auto& [k, m] : r.latest_metrics) metrics.add_row({k, format_value(m.value), std::to_string(m.step)});
  for (const auto& key : derived_keys()) {
    const double v = *derived_value(r, key);
    if (!std::isnan(v)) metrics.add_row({key + " (derived)", format_value(v), ""});
  }
  metrics.print(std::cout);
  if (!r.energy_windows.empty()) {
    section("Energy windows");
    TextTable windows({"window", "duration", "energy", "domains", "figures"}, {false, true, true, false, false});
    for (const auto& w : r.energy_windows) {
      std::string domains;
      for (const auto& d : w.domains) domains += (domains.empty() ? "" : ", ") + d.name + " " + format_energy_j(d.energy_j);
      windows.add_row({w.name, format_duration_s(w.duration_s), format_energy_j(w.energy_j()), domains,
                       w.estimated() ? "estimated" : "measured"});
    }
    windows.print(std::cout);
  }
  if (!advice.empty()) {
    section("Advice");
    std::cout << advice << "\n";
  }
  if (!r.environment.empty()) {
    section("Environment");
    TextTable environment({"key", "value"});
    for (const auto& [k, v] : r.environment) environment.add_row({k, v});
    environment.print(std::cout);
  }
  if (!r.tags.empty()) {
    section("Tags");
    TextTable tags({"key", "value"});
    for (const auto& [k, v] : r.tags) tags.add_row({k, v});
    tags.print(std::cout);
  }
  return 0;
}

// rm (`restore` false) or restore every run named; stops at the first failure.
int run_delete_or_restore(RunCatalog& catalog, const RunOptions& o, bool restore) {
  for (const auto& name : o.runs) {
    auto run = find_run(catalog, name);
    if (!run.ok()) return report_error(run.status().message());
    const std::string& id = run->info.run_id;
    const bool deleted = run->info.lifecycle_stage == kLifecycleDeleted;
    if (deleted != restore) {
      std::cout << "run " << id << " is already " << (restore ? "active" : "deleted") << "\n";
      continue;
    }
    Status s = restore ? catalog.restore_run(id) : catalog.delete_run(id);
    if (!s.ok()) return report_error("run " + id + ": " + s.message());
    if (restore) std::cout << "restored run " << id << "\n";
    else std::cout << "deleted run " << id << " (its data is kept: `wattlab runs restore " << id.substr(0, 8)
                   << "` brings it back)\n";
  }
  return 0;
}

int run_metrics(RunCatalog& catalog, const RunOptions& o) {
  auto run = find_run(catalog, o.run);
  if (!run.ok()) return report_error(run.status().message());
  auto history = catalog.get_metric_history(run->info.run_id, o.key);
  if (!history.ok()) return report_error(history.status().message());
  if (history->empty()) {
    std::string keys;
    for (const auto& [k, m] : run->latest_metrics) keys += (keys.empty() ? "" : ", ") + k;
    return report_error("run " + run->info.run_id + " has no metric \"" + o.key + "\"" +
                        (keys.empty() ? " (it has no metrics)" : "; its metrics: " + keys));
  }
  Listing listing({{"step", "step", true}, {"value", o.key, true}, {"timestamp_ms", ""}, {"time", "time"}});
  for (const Metric& m : *history) {
    listing.add_row({{m.step, std::to_string(m.step)},
                     number_cell(m.value, format_value(m.value)),
                     {m.timestamp_ms, std::to_string(m.timestamp_ms)},
                     text_cell(format_timestamp_ms(m.timestamp_ms))});
  }
  listing.print(std::cout, o.format);
  return 0;
}

int run_power(RunCatalog& catalog, const RunOptions& o) {
  auto run = find_run(catalog, o.run);
  if (!run.ok()) return report_error(run.status().message());
  auto timeline = catalog.get_power_samples(run->info.run_id);
  if (!timeline.ok()) return report_error(timeline.status().message());
  if (timeline->samples.empty()) {
    return report_error("run " + run->info.run_id + " has no power timeline (it was not metered by wattlab)");
  }
  if (o.format == "json") {
    auto samples = nlohmann::json::array();
    for (const auto& s : timeline->samples) {
      auto power = nlohmann::json::array();
      for (double w : s.power_w) power.push_back(number_or_null(w));
      samples.push_back({{"timestamp_ms", s.timestamp_ms}, {"power_w", power}});
    }
    nlohmann::json out = {{"run_id", run->info.run_id}, {"domains", timeline->domains}, {"samples", samples}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  // CSV: one row per sample, one column of watts per domain.
  std::vector<ListingColumn> columns = {{"timestamp_ms", "timestamp_ms", true}};
  for (const auto& d : timeline->domains) columns.push_back({d + "_w", d + " W", true});
  Listing listing(columns);
  for (const auto& s : timeline->samples) {
    std::vector<ListingCell> row = {{s.timestamp_ms, std::to_string(s.timestamp_ms)}};
    for (double w : s.power_w) row.push_back(number_cell(w, format_number(w, 2)));
    listing.add_row(std::move(row));
  }
  listing.print(std::cout, o.format);
  return 0;
}

}  // namespace

void add_run_detail_commands(CLI::App* runs, const GlobalOptions& global, int* exit_code) {
  // Opens the catalog, then runs `action` on it.
  using Action = int (*)(RunCatalog&, const RunOptions&);
  auto with_catalog = [&global, exit_code](std::shared_ptr<RunOptions> o, Action action) {
    return [&global, exit_code, o, action] {
      auto catalog = open_run_catalog(global, o->tracking_uri);
      *exit_code = catalog.ok() ? action(**catalog, *o) : report_error(catalog.status().message());
    };
  };
  const std::string run_help = "Run id, or a unique prefix of at least 6 characters";

  auto show_options = std::make_shared<RunOptions>();
  show_options->format = "table";
  auto* show = runs->add_subcommand("show", "Everything about one run: params, metrics, energy windows, environment");
  show->add_option("RUN", show_options->run, run_help)->required();
  show->add_option("--format", show_options->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  add_tracking_uri_option(show, &show_options->tracking_uri, /*reads=*/true);
  show->callback(with_catalog(show_options, run_show));

  auto rm_options = std::make_shared<RunOptions>();
  auto* rm = runs->add_subcommand("rm", "Delete runs (marked deleted, data kept: `wattlab runs restore` undoes it)");
  rm->add_option("RUN", rm_options->runs, run_help + "; several may be given")->required();
  add_tracking_uri_option(rm, &rm_options->tracking_uri);
  rm->callback(with_catalog(rm_options, [](RunCatalog& c, const RunOptions& o) { return run_delete_or_restore(c, o, false); }));

  auto restore_options = std::make_shared<RunOptions>();
  auto* restore = runs->add_subcommand("restore", "Bring deleted runs back");
  restore->add_option("RUN", restore_options->runs, run_help + "; several may be given")->required();
  add_tracking_uri_option(restore, &restore_options->tracking_uri);
  restore->callback(
      with_catalog(restore_options, [](RunCatalog& c, const RunOptions& o) { return run_delete_or_restore(c, o, true); }));

  auto metrics_options = std::make_shared<RunOptions>();
  metrics_options->format = "table";
  auto* metrics = runs->add_subcommand("metrics", "Every logged point of one metric of a run (its history)");
  metrics->add_option("RUN", metrics_options->run, run_help)->required();
  metrics->add_option("KEY", metrics_options->key, "The metric, e.g. accuracy or train_energy_j")->required();
  metrics->add_option("--format", metrics_options->format, "table, json or csv (step, value, timestamp_ms)")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  add_tracking_uri_option(metrics, &metrics_options->tracking_uri, /*reads=*/true);
  metrics->callback(with_catalog(metrics_options, run_metrics));

  auto power_options = std::make_shared<RunOptions>();
  power_options->format = "csv";
  auto* power = runs->add_subcommand("power", "A run's power timeline: watts per energy domain over time");
  power->add_option("RUN", power_options->run, run_help)->required();
  power->add_option("--format", power_options->format,
                    "csv (timestamp_ms, then <domain>_w per domain), json ({domains, samples: [{timestamp_ms, "
                    "power_w: [...]}]}) or table")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  add_tracking_uri_option(power, &power_options->tracking_uri, /*reads=*/true);
  power->callback(with_catalog(power_options, run_power));
}

}  // namespace wattlab::cli
