// `wattlab study`: run a study spec (models x environments x repetitions) on
// this machine or on Slurm, and see where it stands.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/study_backend.h"
#include "wattlab/cli/study_command.h"
#include "wattlab/cli/table.h"
#include "wattlab/cli/trial_options.h"
#include "wattlab/core/env.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/study/executor.h"
#include "wattlab/study/slurm.h"
#include "wattlab/study/study_state.h"
#include "wattlab/track/stale_runs.h"

namespace wattlab::cli {

const char* const kExampleStudySpec = R"(# wattlab's built-in study (what `wattlab quickstart` runs): two architectures x two
# training environments x two repetitions on a Fashion-MNIST subset, a few minutes on two
# cores. Edit it and run it with `wattlab study run green-cv.yaml`; see README's "Studies".
name: quickstart                # rename it when you change the trials (finished trials keep their settings)
dataset:                        # any `wattlab train` data flag, for every trial
  data: /usr/share/datasets/fashion-mnist   # Debian's dataset-fashion-mnist
  subset: 2000                  # training images per trial
  test-subset: 500
epochs: 2
models:                         # each: a `model` and any `train` flag of its own
  - model: cnn
  - {model: mobilenet_v2, width-multiplier: 0.35}
environments:                   # each: a name, `train` flags, and (for --executor slurm) where it runs
  - {name: 1-thread, threads: 1, batch-size: 64}
  - {name: 2-threads, threads: 2, batch-size: 64}
repetitions: 2
order: shuffled                 # or grouped
order-seed: 2022
seed: 1                         # repetition r trains with seed 1 + r - 1
# As the reference study prepared its GPU machines:
# idle-baseline: 30s
# warmup: {duration: 10min, model: cnn}
# cooldown: {duration: 5min}    # or {until-idle-within: 10%, max: 10min}
# budget: {energy: 50kJ}        # per trial
)";

namespace {

struct StudyOptions {
  std::string spec_path;
  std::string name;
  std::string executor = "local";
  std::string format = "text";
  std::string work_dir;
  std::string stale_after = "60s";
  std::string node_state;
  int max_parallel = 0;
  int index = -1;
  bool wait = false;
  bool quiet = false;
};

Result<int64_t> stale_after_ms(const std::string& text) {
  auto s = parse_duration_s(text);
  if (!s.ok()) return Status::invalid_argument("--stale-after " + s.status().message());
  return static_cast<int64_t>(*s * 1000);
}

// The store a study command works on: --store, else the spec's store, else ./wattlab.db.
Result<std::unique_ptr<Store>> open_study_store(const GlobalOptions& global, const std::string& spec_store) {
  const std::string location = global.store_given() || spec_store.empty() ? global.store_path : spec_store;
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    return Status::invalid_argument("studies read and write the store directly: give a SQLite file or a "
                                    "postgresql:// URI (not a tracking server, " + location + ")");
  }
  return Store::open(location);
}

Result<StudySpec> read_spec(const std::string& path) { return read_study_spec(path, TrainCommandFlags()); }

// The spec recorded with study `name`.
Result<StudySpec> recorded_spec(Store& store, const std::string& name) {
  auto text = recorded_study_spec(store, name);
  if (!text.ok()) return text.status();
  return parse_study_spec("study " + name + " (as recorded)", *text, TrainCommandFlags());
}

std::string study_location(const GlobalOptions& global, const StudySpec& spec) {
  return global.store_given() || spec.store.empty() ? global.store_path : spec.store;
}

void print_summary(const StudySpec& spec, const StudySummary& s) {
  std::printf("study %s: %d of %d trials finished", spec.name.c_str(), s.finished, s.total);
  if (s.running) std::printf(", %d running", s.running);
  if (s.failed) std::printf(", %d failed", s.failed);
  if (s.killed) std::printf(", %d killed", s.killed);
  if (s.pending) std::printf(", %d pending", s.pending);
  std::printf("; %s and %s%s so far", format_duration_s(s.duration_s).c_str(), format_energy_j(s.energy_j).c_str(),
              s.energy_estimated ? " (estimated)" : "");
  if (s.finished < s.total && std::isfinite(s.remaining_s)) {
    std::printf("; about %s and %s to go", format_duration_s(s.remaining_s).c_str(),
                format_energy_j(s.remaining_energy_j).c_str());
  }
  std::printf("\n");
}

int exit_code_of(const StudyRunResult& r) {
  if (r.interrupted) return 128 + (stop_signal() ? stop_signal() : SIGINT);
  return r.summary.finished == r.summary.total ? 0 : 1;
}

}  // namespace

int run_study_here(const GlobalOptions& global, const StudySpec& spec, Store& store, std::optional<int> index,
                   const std::string& stale_after, const std::string& node_state, bool quiet,
                   StudyRunResult* out) {
  auto stale = stale_after_ms(stale_after);
  if (!stale.ok()) return report_error(stale.status().message());
  install_stop_signal_handlers();
  LocalStudyBackend backend(store, spec.path, !quiet);
  TerminalStudyListener listener;
  StudyRunOptions options;
  options.index = index;
  options.stale_after_ms = *stale;
  options.node_state_path = node_state;
  if (!index && !quiet) {
    const size_t trials = spec.models.size() * spec.environments.size() * static_cast<size_t>(spec.repetitions);
    std::fprintf(stderr, "wattlab study %s: %zu models x %zu environments x %d repetitions = %zu trials, in %s\n",
                 spec.name.c_str(), spec.models.size(), spec.environments.size(), spec.repetitions, trials,
                 study_location(global, spec).c_str());
  }
  auto result = run_study(store, spec, backend, options, quiet ? nullptr : &listener);
  if (!result.ok()) return report_error(result.status().message());
  if (!index) print_summary(spec, result->summary);
  if (out) *out = *result;
  return exit_code_of(*result);
}

namespace {

int run_on_slurm(const GlobalOptions& global, const StudyOptions& o, const StudySpec& spec, Store& store) {
  SlurmOptions options;
  std::error_code ec;
  options.wattlab_binary = std::filesystem::canonical("/proc/self/exe", ec).string();
  options.store = study_location(global, spec);
  if (options.store.find("://") == std::string::npos) options.store = std::filesystem::absolute(options.store).string();
  options.work_dir = o.work_dir.empty() ? "wattlab-studies/" + spec.name : o.work_dir;
  options.max_parallel = o.max_parallel;
  auto stale = stale_after_ms(o.stale_after);
  if (!stale.ok()) return report_error(stale.status().message());
  options.stale_after_ms = *stale;
  TerminalStudyListener listener;
  auto arrays = submit_study_to_slurm(store, spec, options, &listener);
  if (!arrays.ok()) return report_error(arrays.status().message());
  std::vector<std::string> jobs;
  for (const SlurmArray& a : *arrays) {
    std::printf("submitted job array %s: %zu trial(s) of environment %s (%s)\n", a.job_id.c_str(), a.indices.size(),
                a.environment.c_str(), a.script_path.c_str());
    jobs.push_back(a.job_id);
  }
  if (arrays->empty()) std::printf("nothing to submit: every trial of study %s is finished or running\n", spec.name.c_str());
  const std::vector<Trial> trials = expand_trials(spec);
  if (o.wait) {
    install_stop_signal_handlers();
    for (;;) {
      auto queued = queued_slurm_jobs(jobs);
      if (!queued.ok()) return report_error(queued.status().message());
      if (queued->empty() || stop_requested()) break;
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }
  auto state = load_study_state(store, spec, trials, Env::system().clock().wall_ms(), options.stale_after_ms, false);
  if (!state.ok()) return report_error(state.status().message());
  StudySummary summary = summarize(*state);
  print_summary(spec, summary);
  if (!o.wait) return 0;
  return summary.finished == summary.total ? 0 : 1;
}

// Checks every model x environment's flags as `train` would, before anything runs.
Status check_trial_settings(const StudySpec& spec) {
  for (const SpecModel& m : spec.models) {
    for (const SpecEnvironment& e : spec.environments) {
      auto parsed = train_options_from_settings(spec.path, trial_settings(spec, m, e, spec.seed));
      if (!parsed.ok()) return parsed.status().with_context("model " + m.name + " in environment " + e.name);
    }
  }
  return Status();
}

int run_study_command(const GlobalOptions& global, const StudyOptions& o) {
  auto spec = read_spec(o.spec_path);
  if (!spec.ok()) return report_error(spec.status().message());
  if (Status s = check_trial_settings(*spec); !s.ok()) return report_error(s.message());
  auto store = open_study_store(global, spec->store);
  if (!store.ok()) return report_error(store.status().message());
  if (o.executor == "slurm") return run_on_slurm(global, o, *spec, **store);
  // Recorded so that `study cancel` on this machine can stop this process.
  if (auto id = record_study(**store, *spec); id.ok()) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    set_study_note(**store, *id, spec->name, "local_executor", std::string(host) + ":" + std::to_string(getpid()));
  }
  return run_study_here(global, *spec, **store, std::nullopt, o.stale_after, o.node_state, o.quiet);
}

int run_trial_command(const GlobalOptions& global, const StudyOptions& o) {
  auto spec = read_spec(o.spec_path);
  if (!spec.ok()) return report_error(spec.status().message());
  auto store = open_study_store(global, spec->store);
  if (!store.ok()) return report_error(store.status().message());
  return run_study_here(global, *spec, **store, o.index, o.stale_after, o.node_state, o.quiet);
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

int run_status_command(const GlobalOptions& global, const StudyOptions& o) {
  auto store = open_study_store(global, "");
  if (!store.ok()) return report_error(store.status().message());
  auto spec = recorded_spec(**store, o.name);
  if (!spec.ok()) return report_error(spec.status().message());
  auto stale = stale_after_ms(o.stale_after);
  if (!stale.ok()) return report_error(stale.status().message());
  const std::vector<Trial> trials = expand_trials(*spec);
  const int64_t now_ms = Env::system().clock().wall_ms();
  auto state = load_study_state(**store, *spec, trials, now_ms, *stale, false);
  if (!state.ok()) return report_error(state.status().message());
  const StudySummary s = summarize(*state);
  int lost = 0;  // RUNNING, but its process stopped beating
  for (const TrialRecord& r : state->trials) lost += r.run && is_stale(*r.run, now_ms, *stale);

  if (o.format == "json") {
    nlohmann::json trials_json = nlohmann::json::array();
    for (const TrialRecord& r : state->trials) {
      nlohmann::json t = {{"index", r.trial->index},        {"key", r.trial->key},
                          {"model", r.trial->model},        {"environment", r.trial->environment},
                          {"repetition", r.trial->repetition}, {"state", trial_state_name(r.state)}};
      if (r.run) {
        t["run_id"] = r.run->info.run_id;
        auto metric = [&](const char* key) {
          auto it = r.run->latest_metrics.find(key);
          return number_or_null(it == r.run->latest_metrics.end() ? NAN : it->second.value);
        };
        t["energy_j"] = metric("energy_j");
        t["duration_s"] = metric("duration_s");
        t["lost"] = is_stale(*r.run, now_ms, *stale);
      }
      trials_json.push_back(std::move(t));
    }
    nlohmann::json out = {{"study", spec->name},
                          {"experiment", spec->experiment},
                          {"spec_hash", spec->hash},
                          {"trials_total", s.total},
                          {"trials_finished", s.finished},
                          {"trials_running", s.running - lost},
                          {"trials_lost", lost},
                          {"trials_failed", s.failed},
                          {"trials_killed", s.killed},
                          {"trials_pending", s.pending},
                          {"energy_j", s.energy_j},
                          {"energy_estimated", s.energy_estimated},
                          {"duration_s", s.duration_s},
                          {"remaining_energy_j", number_or_null(s.remaining_energy_j)},
                          {"remaining_s", number_or_null(s.remaining_s)},
                          {"trials", std::move(trials_json)}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  print_summary(*spec, s);
  if (lost) std::printf("%d running trial(s) sent no heartbeat for over %s: their process is gone (the next "
                        "`study run` marks them KILLED and runs them again)\n", lost, o.stale_after.c_str());
  // One row per model x environment.
  struct Cell {
    int done = 0, total = 0;
    double energy_j = 0, duration_s = 0;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  for (const TrialRecord& r : state->trials) {
    Cell& c = cells[{r.trial->model, r.trial->environment}];
    ++c.total;
    if (r.state != TrialState::kFinished) continue;
    ++c.done;
    c.energy_j += r.run->latest_metrics.count("energy_j") ? r.run->latest_metrics.at("energy_j").value : NAN;
    c.duration_s += r.run->latest_metrics.count("duration_s") ? r.run->latest_metrics.at("duration_s").value : NAN;
  }
  TextTable table({"model", "environment", "finished", "mean time", "mean energy"}, {false, false, true, true, true});
  for (const auto& [key, c] : cells) {
    table.add_row({key.first, key.second, std::to_string(c.done) + "/" + std::to_string(c.total),
                   c.done ? format_duration_s(c.duration_s / c.done) : "-",
                   c.done ? format_energy_j(c.energy_j / c.done) : "-"});
  }
  std::printf("\n");
  table.print(std::cout);
  return 0;
}

int run_ls_command(const GlobalOptions& global, const StudyOptions& o) {
  auto store = open_study_store(global, "");
  if (!store.ok()) return report_error(store.status().message());
  auto studies = list_studies(**store);
  if (!studies.ok()) return report_error(studies.status().message());
  nlohmann::json out = nlohmann::json::array();
  TextTable table({"study", "experiment", "trials", "finished", "energy", "spec"}, {false, false, true, true, true, false});
  const int64_t now_ms = Env::system().clock().wall_ms();
  for (const StudyListing& l : *studies) {
    auto spec = recorded_spec(**store, l.name);
    if (!spec.ok()) return report_error(spec.status().message());
    const std::vector<Trial> trials = expand_trials(*spec);
    auto state = load_study_state(**store, *spec, trials, now_ms, kDefaultStaleAfterMs, false);
    if (!state.ok()) return report_error(state.status().message());
    const StudySummary s = summarize(*state);
    out.push_back({{"study", l.name}, {"experiment", l.experiment}, {"trials_total", s.total},
                   {"trials_finished", s.finished}, {"energy_j", s.energy_j}, {"spec_hash", l.spec_hash}});
    table.add_row({l.name, l.experiment, std::to_string(s.total), std::to_string(s.finished),
                   format_energy_j(s.energy_j), l.spec_hash});
  }
  if (o.format == "json") {
    std::cout << out.dump(2) << "\n";
  } else if (studies->empty()) {
    std::printf("no studies in %s yet: `wattlab study example > green-cv.yaml`, then `wattlab study run green-cv.yaml`\n",
                global.store_path.c_str());
  } else {
    table.print(std::cout);
  }
  return 0;
}

int run_cancel_command(const GlobalOptions& global, const StudyOptions& o) {
  auto store = open_study_store(global, "");
  if (!store.ok()) return report_error(store.status().message());
  auto spec = recorded_spec(**store, o.name);
  if (!spec.ok()) return report_error(spec.status().message());
  auto experiment = (*store)->get_experiment_by_name(spec->experiment);
  if (!experiment.ok()) return report_error(experiment.status().message());
  bool cancelled = false;
  auto jobs = study_slurm_jobs(**store, experiment->experiment_id, o.name);
  if (!jobs.ok()) return report_error(jobs.status().message());
  auto queued = queued_slurm_jobs(*jobs);
  if (queued.ok() && !queued->empty()) {
    if (Status s = cancel_slurm_jobs(*queued); !s.ok()) return report_error(s.message());
    for (const auto& id : *queued) std::printf("cancelled Slurm job array %s\n", id.c_str());
    cancelled = true;
  }
  auto local = study_note(**store, experiment->experiment_id, o.name, "local_executor");
  if (local.ok()) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const size_t colon = local->rfind(':');
    const std::string where = local->substr(0, colon);
    const pid_t pid = static_cast<pid_t>(std::atoi(local->c_str() + colon + 1));
    if (where == host && pid > 0 && ::kill(pid, SIGTERM) == 0) {
      std::printf("asked the study's executor (process %d) to stop; its current trial ends KILLED and resumes on "
                  "the next `study run`\n", pid);
      cancelled = true;
    } else if (where != host) {
      std::printf("the study's local executor ran on %s: stop it there (Ctrl-C or kill %d)\n", where.c_str(), pid);
    }
  }
  if (!cancelled) std::printf("study %s has nothing running to cancel\n", o.name.c_str());
  return 0;
}

}  // namespace

void add_study_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* study = app.add_subcommand("study", "Run a study (models x environments x repetitions) and follow it");
  study->require_subcommand(1);
  auto o = std::make_shared<StudyOptions>();
  const char* stale_help = "A RUNNING trial whose process sent no heartbeat for this long is lost (marked KILLED, run "
                           "again)";

  auto* run = study->add_subcommand("run", "Run every unfinished trial of a study spec (again: only what is missing)");
  run->add_option("spec", o->spec_path, "The study spec (YAML; `wattlab study example` writes one)")->required();
  run->add_option("--executor", o->executor,
                  "local: one trial at a time on this machine; slurm: sbatch job arrays, one per environment")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  run->add_option("--max-parallel", o->max_parallel, "slurm: at most this many tasks of an array at once (0: no limit)")
      ->capture_default_str();
  run->add_option("--work-dir", o->work_dir,
                  "slurm: a folder the nodes share, for the spec snapshot, scripts and task logs (default: "
                  "wattlab-studies/NAME)");
  run->add_flag("--wait", o->wait, "slurm: wait until the arrays have ended, then print the study's state");
  run->add_option("--stale-after", o->stale_after, stale_help)->capture_default_str();
  run->add_flag("--quiet", o->quiet, "No progress lines");
  run->footer("Examples:\n  wattlab study example > green-cv.yaml\n  wattlab study run green-cv.yaml\n"
              "  wattlab --store postgresql://db/wattlab study run green-cv.yaml --executor slurm --max-parallel 4");
  run->callback([&global, o, exit_code] { *exit_code = run_study_command(global, *o); });

  auto* trial = study->add_subcommand("trial", "Run one trial of a study (what each Slurm array task runs)");
  trial->add_option("spec", o->spec_path, "The study spec")->required();
  trial->add_option("--index", o->index, "The trial's index in the study's run order (0-based)")->required();
  trial->add_option("--node-state", o->node_state,
                    "A file remembering this node's idle power, warm-up and last trial between tasks");
  trial->add_option("--stale-after", o->stale_after, stale_help)->capture_default_str();
  trial->add_flag("--quiet", o->quiet, "No progress lines");
  trial->callback([&global, o, exit_code] { *exit_code = run_trial_command(global, *o); });

  auto* status = study->add_subcommand("status", "Trials done, running, failed and pending; energy and time so far "
                                                 "and to go");
  status->add_option("name", o->name, "The study's name")->required();
  status->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  status->add_option("--stale-after", o->stale_after, stale_help)->capture_default_str();
  status->callback([&global, o, exit_code] { *exit_code = run_status_command(global, *o); });

  auto* ls = study->add_subcommand("ls", "The studies in the store");
  ls->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  ls->callback([&global, o, exit_code] { *exit_code = run_ls_command(global, *o); });

  auto* cancel = study->add_subcommand("cancel", "Stop a running study: its Slurm arrays, or its local executor");
  cancel->add_option("name", o->name, "The study's name")->required();
  cancel->callback([&global, o, exit_code] { *exit_code = run_cancel_command(global, *o); });

  auto* example = study->add_subcommand("example", "Print the built-in study spec (the quickstart's), to edit and run");
  example->callback([exit_code] {
    std::cout << kExampleStudySpec;
    *exit_code = 0;
  });
}

}  // namespace wattlab::cli
