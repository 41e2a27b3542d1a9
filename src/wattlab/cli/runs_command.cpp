// `wattlab runs ls` and `wattlab runs emissions`: listing runs.
#include "wattlab/cli/runs_command.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <vector>

#include "wattlab/cli/emissions_csv.h"
#include "wattlab/cli/listing.h"
#include "wattlab/cli/run_view.h"
#include "wattlab/cli/table.h"

namespace wattlab::cli {

namespace {

struct ListOptions {
  std::string tracking_uri;
  std::string format = "table";
  std::string experiment;             // only this experiment
  std::string filter;                 // MLflow search syntax
  std::vector<std::string> order_by;  // "metrics.energy_j ASC", "accuracy_per_kj DESC"...
  int limit = 50;                     // 0: all
  bool deleted = false;               // only deleted runs
  bool all = false;                   // active and deleted runs
  std::string out;                    // emissions: the file; empty: stdout
};

// The runs `o` selects, in its order, at most o.limit of them.
Result<std::vector<RunData>> select_runs(RunCatalog& catalog, const ListOptions& o) {
  SearchRunsOptions search;
  search.filter = o.filter;
  search.view_type = o.all ? ViewType::kAll : o.deleted ? ViewType::kDeletedOnly : ViewType::kActiveOnly;
  if (!o.experiment.empty()) {
    auto experiment = catalog.get_experiment_by_name(o.experiment);
    if (!experiment.ok()) {
      return Status::not_found("no experiment named \"" + o.experiment + "\" in " + catalog.location() +
                               " — list them with `wattlab experiments ls`");
    }
    search.experiment_ids = std::vector<std::string>{experiment->experiment_id};
  }
  std::vector<RunOrder> order;
  for (const auto& term : o.order_by) {
    auto parsed = parse_run_order(term);
    if (!parsed.ok()) return parsed.status();
    order.push_back(*parsed);
  }
  // The store sorts by what it keeps; derived figures are sorted here, after
  // reading every matching run.
  const bool sort_here = orders_by_derived(order);
  if (!sort_here) search.order_by = o.order_by;
  const size_t wanted = o.limit > 0 && !sort_here ? static_cast<size_t>(o.limit) : SIZE_MAX;
  std::vector<RunData> runs;
  do {
    search.max_results = static_cast<int>(std::min<size_t>(wanted - runs.size(), kSearchMaxResultsLimit));
    auto page = catalog.search_runs(search);
    if (!page.ok()) return page.status();
    for (auto& run : page->runs) runs.push_back(std::move(run));
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty() && runs.size() < wanted);
  if (sort_here) {
    sort_runs(runs, order);
    if (o.limit > 0 && runs.size() > static_cast<size_t>(o.limit)) runs.resize(static_cast<size_t>(o.limit));
  }
  return runs;
}

ListingCell optional_text(const std::string& text) { return {text.empty() ? nlohmann::json() : nlohmann::json(text), text.empty() ? "-" : text}; }

int run_ls(const GlobalOptions& global, const ListOptions& o) {
  auto catalog = open_run_catalog(global, o.tracking_uri);
  if (!catalog.ok()) return report_error(catalog.status().message());
  auto runs = select_runs(**catalog, o);
  if (!runs.ok()) return report_error(runs.status().message());

  std::vector<ListingColumn> columns = {
      {"run_id", "run"},
      {"run_name", "name"},
      {"experiment_id", ""},
      {"status", "status"},
      {"lifecycle_stage", ""},
      {"model", "model"},
      {"threads", ""},
      {"device", ""},
      {"start_time_ms", ""},
      {"duration_s", "time", true},
      {"elapsed_s", "", true},
      {"accuracy", "accuracy", true},
      {"f1_macro", "F1", true},
      {"energy_j", "energy J", true},
      {"attributed_energy_j", "", true},
      {"energy_per_image_j", "J/image", true},
      {"co2e_g", "gCO2e", true},
      {"energy", "energy"},
      {"energy_estimated", ""},
  };
  // Derived figures: in JSON and CSV always, in the table when ordered by.
  std::vector<RunOrder> order;
  for (const auto& term : o.order_by)
    if (auto parsed = parse_run_order(term); parsed.ok()) order.push_back(*parsed);
  const std::vector<std::string> derived = {"accuracy_per_kj", "f1_per_kj", "co2e_per_image_g"};
  for (const auto& key : derived) {
    const bool shown = std::any_of(order.begin(), order.end(), [&](const RunOrder& r) { return r.key == key; });
    columns.push_back({key, shown ? key : "", true});
  }

  Listing listing(columns);
  for (const auto& r : *runs) {
    const EnergyState state = energy_state(r);
    const double duration_s = duration_s_of(r);
    const double elapsed_s = elapsed_s_of(r.info);
    auto metric = [&](const char* key, int decimals) {
      const double v = metric_or_nan(r, key);
      return number_cell(v, format_number(v, decimals));
    };
    const double energy_j = metric_or_nan(r, "energy_j");
    const double per_image_j = *derived_value(r, "energy_per_image_j");
    std::vector<ListingCell> row = {
        {r.info.run_id, r.info.run_id.substr(0, 8)},
        text_cell(r.info.run_name),
        text_cell(r.info.experiment_id),
        {run_status_name(r.info.status),
         std::string(run_status_name(r.info.status)) + (r.info.lifecycle_stage == kLifecycleDeleted ? " (deleted)" : "")},
        text_cell(r.info.lifecycle_stage),
        optional_text(param_or_environment(r, "model")),
        optional_text(param_or_environment(r, "threads")),
        optional_text(param_or_environment(r, "device")),
        {r.info.start_time_ms, std::to_string(r.info.start_time_ms)},
        number_cell(duration_s, format_duration_s(duration_s)),
        number_cell(elapsed_s, format_duration_s(elapsed_s)),
        metric("accuracy", 4),
        metric("f1_macro", 4),
        number_cell(energy_j, format_number(energy_j, 1)),
        metric("attributed_energy_j", 1),
        number_cell(per_image_j, format_value(per_image_j)),
        number_cell(metric_or_nan(r, "co2e_g"), format_value(metric_or_nan(r, "co2e_g"))),
        {energy_state_key(state), energy_state_text(state)},
        {state == EnergyState::kMeasured    ? nlohmann::json(false)
         : state == EnergyState::kEstimated ? nlohmann::json(true)
                                            : nlohmann::json(),
         ""},
    };
    for (const auto& key : derived) {
      const double v = *derived_value(r, key);
      row.push_back(number_cell(v, format_value(v)));
    }
    listing.add_row(std::move(row));
  }
  if (listing.row_count() == 0 && o.format == "table") {
    if (o.filter.empty() && o.experiment.empty() && !o.deleted) {
      std::cout << "No runs in " << (*catalog)->location()
                << " yet. Start one with `wattlab train` or `wattlab quickstart`.\n";
    } else {
      std::cout << "No runs match.\n";
    }
    return 0;
  }
  listing.print(std::cout, o.format);
  return 0;
}

int run_emissions(const GlobalOptions& global, const ListOptions& o) {
  auto catalog = open_run_catalog(global, o.tracking_uri);
  if (!catalog.ok()) return report_error(catalog.status().message());
  auto runs = select_runs(**catalog, o);
  if (!runs.ok()) return report_error(runs.status().message());
  std::ofstream file;
  if (!o.out.empty()) {
    file.open(o.out, std::ios::binary | std::ios::trunc);
    if (!file) return report_error("--out: cannot write " + o.out);
  }
  std::ostream& out = o.out.empty() ? std::cout : file;
  std::map<std::string, std::string> experiment_names;  // by id
  for (size_t c = 0; c < codecarbon_columns().size(); ++c) out << (c ? "," : "") << codecarbon_columns()[c];
  out << "\n";
  // Oldest first, as CodeCarbon appends its rows.
  for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
    auto run = (*catalog)->get_run(it->info.run_id);  // with energy windows and environment
    if (!run.ok()) return report_error(run.status().message());
    auto name = experiment_names.find(run->info.experiment_id);
    if (name == experiment_names.end()) {
      auto experiment = (*catalog)->get_experiment(run->info.experiment_id);
      name = experiment_names.emplace(run->info.experiment_id, experiment.ok() ? experiment->name : "").first;
    }
    const auto row = codecarbon_row(*run, name->second);
    for (size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << csv_field(row[c]);
    out << "\n";
  }
  out.flush();
  if (!out) return report_error("cannot write " + (o.out.empty() ? std::string("the output") : o.out));
  if (!o.out.empty()) std::fprintf(stderr, "wattlab: %zu run(s) written to %s\n", runs->size(), o.out.c_str());
  return 0;
}

// The options ls and emissions share.
void add_selection_options(CLI::App* cmd, ListOptions& o) {
  cmd->add_option("--experiment", o.experiment, "Only runs of this experiment");
  cmd->add_option("--filter", o.filter,
                  "MLflow search filter, e.g. \"metrics.accuracy > 0.85 AND params.model = 'cnn'\" "
                  "(metrics., params., tags., attributes.; = != > >= < <= LIKE ILIKE IN; AND)");
  std::string derived;
  for (const auto& k : derived_keys()) derived += (derived.empty() ? "" : ", ") + k;
  cmd->add_option("--order-by", o.order_by,
                  "Sort key, repeatable: \"metrics.energy_j ASC\", or a derived column (" + derived +
                      "), e.g. \"accuracy_per_kj DESC\" (default: newest first)");
  cmd->add_flag("--deleted", o.deleted, "Only deleted runs (`wattlab runs restore` brings one back)");
  cmd->add_flag("--all", o.all, "Active and deleted runs");
  add_tracking_uri_option(cmd, &o.tracking_uri, /*reads=*/true);
}

}  // namespace

void add_runs_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* runs = app.add_subcommand("runs", "List, inspect, delete and export tracked runs");
  runs->require_subcommand(1);

  auto ls_options = std::make_shared<ListOptions>();
  auto* ls = runs->add_subcommand("ls", "List runs (newest first, or as --order-by says): accuracy, F1, time, energy, J/image");
  add_selection_options(ls, *ls_options);
  ls->add_option("--limit", ls_options->limit, "At most N runs (0: all)")->capture_default_str();
  ls->add_option("--format", ls_options->format,
                 "table, json or csv (keys carry units: energy_j, duration_s, co2e_g; also threads, device, the "
                 "energy figures' source and the derived columns)")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  ls->callback([&global, ls_options, exit_code] { *exit_code = run_ls(global, *ls_options); });

  auto emissions_options = std::make_shared<ListOptions>();
  emissions_options->limit = 0;
  auto* emissions = runs->add_subcommand(
      "emissions", "The runs as CodeCarbon's emissions.csv (its columns and units), for dashboards that read it");
  add_selection_options(emissions, *emissions_options);
  emissions->add_option("--limit", emissions_options->limit, "At most N runs (0: all)")->capture_default_str();
  emissions->add_option("--out", emissions_options->out, "Write to this file (default: standard output)");
  emissions->callback([&global, emissions_options, exit_code] {
    *exit_code = run_emissions(global, *emissions_options);
  });

  add_run_detail_commands(runs, global, exit_code);
}

}  // namespace wattlab::cli
