// `wattlab experiments ls|create|rm|restore|rename`: the experiments runs belong to.
#include <iostream>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/listing.h"
#include "wattlab/cli/table.h"

namespace wattlab::cli {

namespace {

struct ExperimentsOptions {
  std::string tracking_uri;
  std::string format = "table";
  bool deleted = false;  // ls: only deleted experiments
  bool all = false;      // ls: active and deleted
  std::string experiment;  // create: the name; rm, restore, rename: name or id
  std::string new_name;    // rename
};

// The experiment named `name_or_id` (by name first, then by id).
Result<Experiment> find_experiment(RunCatalog& catalog, const std::string& name_or_id) {
  auto by_name = catalog.get_experiment_by_name(name_or_id);
  if (by_name.ok() || by_name.status().code() != Status::Code::kNotFound) return by_name;
  if (!name_or_id.empty() && name_or_id.find_first_not_of("0123456789") == std::string::npos) {
    auto by_id = catalog.get_experiment(name_or_id);
    if (by_id.ok() || by_id.status().code() != Status::Code::kNotFound) return by_id;
  }
  return Status::not_found("no experiment named \"" + name_or_id + "\" (or with that id) in " + catalog.location() +
                           " — list them with `wattlab experiments ls --all`");
}

int run_ls(RunCatalog& catalog, const ExperimentsOptions& o) {
  SearchExperimentsOptions search;
  search.view_type = o.all ? ViewType::kAll : o.deleted ? ViewType::kDeletedOnly : ViewType::kActiveOnly;
  Listing listing({{"experiment_id", "id", true},
                   {"name", "name"},
                   {"lifecycle_stage", "stage"},
                   {"creation_time_ms", ""},
                   {"created", "created"},
                   {"artifact_location", "artifacts"}});
  do {
    auto page = catalog.search_experiments(search);
    if (!page.ok()) return report_error(page.status().message());
    for (const auto& e : page->experiments) {
      listing.add_row({text_cell(e.experiment_id), text_cell(e.name), text_cell(e.lifecycle_stage),
                       {e.creation_time_ms, std::to_string(e.creation_time_ms)},
                       text_cell(format_timestamp_ms(e.creation_time_ms)), text_cell(e.artifact_location)});
    }
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  listing.print(std::cout, o.format);
  return 0;
}

int run_create(RunCatalog& catalog, const ExperimentsOptions& o) {
  auto id = catalog.create_experiment(o.experiment, {});
  if (!id.ok()) return report_error("experiment \"" + o.experiment + "\": " + id.status().message());
  std::cout << "created experiment " << o.experiment << " (id " << *id << ")\n";
  return 0;
}

int run_delete_or_restore(RunCatalog& catalog, const ExperimentsOptions& o, bool restore) {
  auto e = find_experiment(catalog, o.experiment);
  if (!e.ok()) return report_error(e.status().message());
  const bool deleted = e->lifecycle_stage == kLifecycleDeleted;
  if (deleted != restore) {
    std::cout << "experiment " << e->name << " is already " << (restore ? "active" : "deleted") << "\n";
    return 0;
  }
  Status s = restore ? catalog.restore_experiment(e->experiment_id) : catalog.delete_experiment(e->experiment_id);
  if (!s.ok()) return report_error("experiment \"" + e->name + "\": " + s.message());
  if (restore) std::cout << "restored experiment " << e->name << " and its runs\n";
  else std::cout << "deleted experiment " << e->name << " and its runs (data kept: `wattlab experiments restore "
                 << e->name << "` brings them back)\n";
  return 0;
}

int run_rename(RunCatalog& catalog, const ExperimentsOptions& o) {
  auto e = find_experiment(catalog, o.experiment);
  if (!e.ok()) return report_error(e.status().message());
  Status s = catalog.rename_experiment(e->experiment_id, o.new_name);
  if (!s.ok()) return report_error("experiment \"" + e->name + "\": " + s.message());
  std::cout << "renamed experiment " << e->name << " to " << o.new_name << "\n";
  return 0;
}

}  // namespace

void add_experiments_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* experiments = app.add_subcommand("experiments", "List, create, rename and delete experiments");
  experiments->require_subcommand(1);
  using Action = int (*)(RunCatalog&, const ExperimentsOptions&);
  // Registers a subcommand whose callback opens the catalog and runs `action`.
  auto add = [&](const char* name, const char* description, Action action) {
    auto o = std::make_shared<ExperimentsOptions>();
    auto* cmd = experiments->add_subcommand(name, description);
    add_tracking_uri_option(cmd, &o->tracking_uri, std::string(name) == "ls");
    cmd->callback([&global, exit_code, o, action] {
      auto catalog = open_run_catalog(global, o->tracking_uri);
      *exit_code = catalog.ok() ? action(**catalog, *o) : report_error(catalog.status().message());
    });
    return std::make_pair(cmd, o);
  };

  auto [ls, ls_options] = add("ls", "List experiments", run_ls);
  ls->add_option("--format", ls_options->format, "table, json or csv")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  ls->add_flag("--deleted", ls_options->deleted, "Only deleted experiments");
  ls->add_flag("--all", ls_options->all, "Active and deleted experiments");

  auto [create, create_options] = add("create", "Create an experiment", run_create);
  create->add_option("NAME", create_options->experiment, "Its name (unique, deleted experiments included)")->required();

  auto [rm, rm_options] = add("rm", "Delete an experiment and its runs (data kept: `experiments restore` undoes it)",
                              [](RunCatalog& c, const ExperimentsOptions& o) { return run_delete_or_restore(c, o, false); });
  rm->add_option("EXPERIMENT", rm_options->experiment, "Its name or id")->required();

  auto [restore, restore_options] =
      add("restore", "Bring a deleted experiment and its runs back",
          [](RunCatalog& c, const ExperimentsOptions& o) { return run_delete_or_restore(c, o, true); });
  restore->add_option("EXPERIMENT", restore_options->experiment, "Its name or id")->required();

  auto [rename, rename_options] = add("rename", "Rename an experiment", run_rename);
  rename->add_option("EXPERIMENT", rename_options->experiment, "Its name or id")->required();
  rename->add_option("NEW_NAME", rename_options->new_name, "The new name")->required();
}

}  // namespace wattlab::cli
