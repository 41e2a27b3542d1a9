// `wattlab quickstart`: the built-in study (`wattlab study example`) run on
// this machine, ending with the trade-off table a user would otherwise build
// by hand. Running it again adds nothing unless --repetitions grows: the
// study's finished trials are kept.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "wattlab/analysis/study_report.h"
#include "wattlab/cli/commands.h"
#include "wattlab/cli/study_command.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/trial_options.h"
#include "wattlab/core/env.h"
#include "wattlab/study/study_state.h"

namespace wattlab::cli {

namespace {

struct QuickstartOptions {
  int repetitions = 2;
  bool quiet = false;
  std::string report_path = "quickstart-report.html";  // empty: no report
};

// The built-in spec with its repetitions set to `n`.
std::string quickstart_spec_text(int n) {
  std::string text = kExampleStudySpec;
  const std::string line = "\nrepetitions: 2";
  text.replace(text.find(line), line.size(), "\nrepetitions: " + std::to_string(n));
  return text;
}

double metric(const RunData& run, const char* key) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

// The run's attributed figure, or the machine's for a run recorded before attribution existed.
double attributed(const RunData& run, const char* key, const char* machine_key) {
  const double value = metric(run, key);
  return std::isfinite(value) ? value : metric(run, machine_key);
}

// Means over the finished repetitions of one model x environment.
struct Cell {
  int n = 0;
  int busy = 0;  // runs during which other processes held more than 10 % of the CPU
  double accuracy = 0, f1 = 0, duration_s = 0, energy_j = 0, attributed_j = 0, attributed_per_image_j = 0;
  void add(const RunData& r) {
    ++n;
    busy += r.tags.count("wattlab.busy_machine");
    accuracy += metric(r, "accuracy");
    f1 += metric(r, "f1_macro");
    duration_s += metric(r, "duration_s");
    energy_j += metric(r, "energy_j");
    attributed_j += attributed(r, "attributed_energy_j", "energy_j");
    attributed_per_image_j += attributed(r, "attributed_energy_per_image_j", "energy_per_image_j");
  }
};

int run_quickstart(const GlobalOptions& global, const QuickstartOptions& o) {
  if (o.repetitions < 1) {
    return report_error("--repetitions must be at least 1 (got " + std::to_string(o.repetitions) + ")");
  }
  auto spec = parse_study_spec("wattlab's built-in study (wattlab study example)", quickstart_spec_text(o.repetitions),
                               TrainCommandFlags());
  if (!spec.ok()) return report_error(spec.status().message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  StudyRunResult result;
  const int code = run_study_here(global, *spec, **store, std::nullopt, "60s", "", o.quiet, &result);
  if (code != 0 && result.summary.finished == 0) return code;

  const std::vector<Trial> trials = expand_trials(*spec);
  auto state = load_study_state(**store, *spec, trials, Env::system().clock().wall_ms(), kDefaultStaleAfterMs, false);
  if (!state.ok()) return report_error(state.status().message());
  std::map<std::pair<std::string, std::string>, Cell> cells;
  bool estimated = false;
  for (const TrialRecord& r : state->trials) {
    if (r.state != TrialState::kFinished) continue;
    cells[{r.trial->model, r.trial->environment}].add(*r.run);
    auto tag = r.run->tags.find("wattlab.energy_estimated");
    estimated |= tag != r.run->tags.end() && tag->second == "true";
  }
  // Compared by the energy attributed to each run (its share of the machine's CPU time and its resident
  // memory): the machine's figures include whatever else ran, which differs from run to run.
  double costliest_j = 0;
  int busy = 0;
  for (const auto& [key, c] : cells) {
    costliest_j = std::max(costliest_j, c.attributed_j / c.n);
    busy += c.busy;
  }
  std::printf("\nTrade-offs (mean of the finished repetitions; energy %s):\n"
              "  run energy, J/image and savings: the energy attributed to each run (its share of the CPU time used\n"
              "  on the machine, its resident memory); machine: everything the meters saw, other processes included\n\n",
              estimated ? "ESTIMATED from CPU utilisation and TDP, no hardware counter here" : "measured");
  TextTable table({"model", "environment", "runs", "accuracy", "F1", "time", "run energy", "J/image", "machine",
                   "saved vs costliest"},
                  {false, false, true, true, true, true, true, true, true, true});
  for (const auto& [key, c] : cells) {
    const double n = c.n;
    const double saved = costliest_j > 0 ? 100.0 * (1.0 - c.attributed_j / n / costliest_j) : NAN;
    table.add_row({key.first, key.second, std::to_string(c.n) + (c.busy ? "*" : ""), format_number(c.accuracy / n, 4),
                   format_number(c.f1 / n, 4), format_duration_s(c.duration_s / n), format_energy_j(c.attributed_j / n),
                   format_number(c.attributed_per_image_j / n, 4), format_energy_j(c.energy_j / n),
                   format_number(saved, 1) + " %"});
  }
  table.print(std::cout);
  if (busy > 0) {
    std::printf("\n* %d of the runs shared the machine: other processes held more than 10 %% of its CPU while they "
                "ran (their tag wattlab.busy_machine). Their machine figures include that work; the run figures "
                "do not, but the timing and the idle power's split still feel it.\n",
                busy);
  }
  if (!o.report_path.empty()) {
    auto report = write_study_report(**store, spec->name, o.report_path);
    if (report.ok()) {
      std::printf("\nReport (statistics, Pareto fronts, savings): %s\n", report->c_str());
    } else {
      std::fprintf(stderr, "wattlab: warning: no report: %s\n", report.status().message().c_str());
    }
  }
  std::error_code ec;
  auto where = std::filesystem::absolute(global.store_path, ec);
  std::printf("\nStored in %s as study '%s' (experiment '%s').\n"
              "  wattlab study status %s          where it stands\n"
              "  wattlab runs ls --experiment %s  every run\n"
              "  wattlab study example > green-cv.yaml  the study's spec, to edit and run with wattlab study run\n",
              (ec ? global.store_path : where.string()).c_str(), spec->name.c_str(), spec->experiment.c_str(),
              spec->name.c_str(), spec->experiment.c_str());
  return code;
}

}  // namespace

void add_quickstart_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "quickstart", "The built-in study: 2 models x 2 training environments x repetitions on Fashion-MNIST");
  auto o = std::make_shared<QuickstartOptions>();
  cmd->add_option("--repetitions", o->repetitions, "Repetitions of each configuration (more: only the new ones run)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->add_option("--report", o->report_path,
                  "Write the study's report here at the end (.html, .md or .json; \"\" for none)")
      ->capture_default_str();
  cmd->footer("The study's spec: wattlab study example. Running quickstart again prints the table of the trials "
              "already stored.");
  cmd->callback([&global, o, exit_code] { *exit_code = run_quickstart(global, *o); });
}

}  // namespace wattlab::cli
