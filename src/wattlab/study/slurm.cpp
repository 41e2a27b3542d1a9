#include "wattlab/study/slurm.h"

#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "wattlab/core/env.h"
#include "wattlab/core/subprocess.h"
#include "wattlab/run/run_artifacts.h"

namespace wattlab {
namespace {

// `text` in single quotes for bash.
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::vector<std::string> split_ids(const std::string& text) {
  std::vector<std::string> ids;
  std::stringstream in(text);
  std::string id;
  while (std::getline(in, id, ',')) {
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

// What a failed Slurm command printed, for messages.
std::string command_failure(const std::string& what, const CapturedOutput& out) {
  std::string text = out.stderr_text.empty() ? out.stdout_text : out.stderr_text;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return what + " failed (exit " + std::to_string(out.exit_code) + "): " + text;
}

}  // namespace

std::string sbatch_script(const StudySpec& spec, const SpecEnvironment& environment, const std::vector<int>& indices,
                          const SlurmOptions& options, const std::string& spec_path, const std::string& node_state_path) {
  const SlurmResources& r = environment.slurm;
  int cpus = r.cpus;
  if (cpus == 0) {
    auto threads = environment.settings.find("threads");
    cpus = threads != environment.settings.end() ? std::max(1, std::atoi(threads->second.values.front().c_str())) : 1;
  }
  const std::string job = "wattlab-" + spec.name + "-" + environment.name;
  std::ostringstream s;
  s << "#!/bin/bash\n";
  s << "#SBATCH --job-name=" << job << "\n";
  s << "#SBATCH --array=0-" << indices.size() - 1;
  if (options.max_parallel > 0) s << "%" << options.max_parallel;
  s << "\n";
  s << "#SBATCH --output=" << (std::filesystem::path(options.work_dir) / "logs" / (job + "-%A_%a.out")).string() << "\n";
  s << "#SBATCH --cpus-per-task=" << cpus << "\n";
  if (!r.partition.empty()) s << "#SBATCH --partition=" << r.partition << "\n";
  if (!r.constraint.empty()) s << "#SBATCH --constraint=" << r.constraint << "\n";
  if (!r.gres.empty()) s << "#SBATCH --gres=" << r.gres << "\n";
  if (!r.mem.empty()) s << "#SBATCH --mem=" << r.mem << "\n";
  if (!r.time.empty()) s << "#SBATCH --time=" << r.time << "\n";
  s << "# wattlab study " << spec.name << " (spec " << spec.hash << "), environment " << environment.name << ": "
    << indices.size() << " trial(s). Written by `wattlab study run --executor slurm`; running it again is safe.\n";
  s << "INDICES=(";
  for (size_t i = 0; i < indices.size(); ++i) s << (i ? " " : "") << indices[i];
  s << ")\n";
  s << "exec " << shell_quote(options.wattlab_binary) << " --store " << shell_quote(options.store) << " study trial "
    << shell_quote(spec_path) << " --index \"${INDICES[$SLURM_ARRAY_TASK_ID]}\" --node-state "
    << shell_quote(node_state_path) << " --stale-after " << options.stale_after_ms << "ms\n";
  return s.str();
}

Result<std::vector<std::string>> study_slurm_jobs(Store& store, const std::string& experiment_id,
                                                  const std::string& study_name) {
  auto note = study_note(store, experiment_id, study_name, "slurm_jobs");
  if (!note.ok()) {
    if (note.status().code() == Status::Code::kNotFound) return std::vector<std::string>{};
    return note.status();
  }
  return split_ids(*note);
}

Result<std::vector<std::string>> queued_slurm_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return std::vector<std::string>{};
  std::string list;
  for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
  // squeue lists an array by its tasks ("12_3"); a finished job is no error with --noheader and -h.
  auto out = run_and_capture({"squeue", "--noheader", "--format=%F", "--jobs=" + list});
  if (!out.ok()) return out.status().with_context("cannot ask Slurm which jobs are queued (is squeue on PATH?)");
  // An id Slurm has forgotten makes squeue fail with "Invalid job id": nothing of it is queued.
  if (out->exit_code != 0 && out->stderr_text.find("Invalid job id") == std::string::npos) {
    return Status::unavailable(command_failure("squeue", *out));
  }
  std::set<std::string> queued;
  std::stringstream in(out->stdout_text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) queued.insert(line);
  }
  std::vector<std::string> still;
  for (const auto& id : job_ids) {
    if (queued.count(id)) still.push_back(id);
  }
  return still;
}

Status cancel_slurm_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return Status();
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), job_ids.begin(), job_ids.end());
  auto out = run_and_capture(argv);
  if (!out.ok()) return out.status().with_context("cannot cancel the study's Slurm jobs (is scancel on PATH?)");
  if (out->exit_code != 0) return Status::unavailable(command_failure("scancel", *out));
  return Status();
}

Result<std::vector<SlurmArray>> submit_study_to_slurm(Store& store, const StudySpec& spec, const SlurmOptions& options,
                                                      StudyListener* listener) {
  StudyListener silent;
  StudyListener& note = listener ? *listener : silent;
  const std::vector<Trial> trials = expand_trials(spec);
  auto state =
      load_study_state(store, spec, trials, Env::system().clock().wall_ms(), options.stale_after_ms, true);
  if (!state.ok()) return state.status();
  WATTLAB_RETURN_IF_ERROR(check_spec_compatible(spec, *state));
  if (!state->experiment_id.empty()) {
    auto earlier = study_slurm_jobs(store, state->experiment_id, spec.name);
    if (!earlier.ok()) return earlier.status();
    auto queued = queued_slurm_jobs(*earlier);
    if (!queued.ok()) return queued.status();
    if (!queued->empty()) {
      std::string ids;
      for (const auto& id : *queued) ids += (ids.empty() ? "" : ", ") + id;
      return Status::already_exists("study " + spec.name + " still has job arrays in Slurm's queue (" + ids +
                                         "): wait for them (wattlab study status " + spec.name +
                                         ") or cancel them (wattlab study cancel " + spec.name + ") first");
    }
  }
  auto experiment_id = record_study(store, spec);
  if (!experiment_id.ok()) return experiment_id.status();

  std::map<std::string, std::vector<int>> by_environment;
  for (const TrialRecord& r : state->trials) {
    if (r.state == TrialState::kFinished) continue;
    if (r.state == TrialState::kRunning) {
      note.on_note("trial " + r.trial->key + " is running (run " + r.run->info.run_id + "): not submitted again");
      continue;
    }
    by_environment[r.trial->environment].push_back(r.trial->index);
  }
  std::vector<SlurmArray> arrays;
  if (by_environment.empty()) return arrays;

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(options.work_dir) / "logs", ec);
  if (ec) return Status::io_error("cannot create " + options.work_dir + "/logs: " + ec.message());
  const std::string spec_path = fs::absolute(fs::path(options.work_dir) / ("spec-" + spec.hash + ".yaml")).string();
  WATTLAB_RETURN_IF_ERROR(write_file_atomically(spec_path, spec.text));
  // One node-state file per submission, so a node warms up again for a new one.
  const std::string node_state = "/tmp/wattlab-study-" + spec.name + "-" + std::to_string(::time(nullptr)) + ".json";

  std::string job_ids;
  for (const SpecEnvironment& e : spec.environments) {
    auto it = by_environment.find(e.name);
    if (it == by_environment.end()) continue;
    SlurmArray array;
    array.environment = e.name;
    array.indices = it->second;
    array.script_path = fs::absolute(fs::path(options.work_dir) / (spec.name + "-" + e.name + ".sbatch")).string();
    WATTLAB_RETURN_IF_ERROR(
        write_file_atomically(array.script_path, sbatch_script(spec, e, array.indices, options, spec_path, node_state)));
    auto out = run_and_capture({"sbatch", "--parsable", array.script_path});
    if (!out.ok()) return out.status().with_context("cannot submit to Slurm (is sbatch on PATH?)");
    if (out->exit_code != 0) return Status::unavailable(command_failure("sbatch " + array.script_path, *out));
    array.job_id = out->stdout_text.substr(0, out->stdout_text.find_first_of(";\n"));
    job_ids += (job_ids.empty() ? "" : ",") + array.job_id;
    // Recorded after every submission, so a failure later still leaves the earlier arrays cancellable.
    WATTLAB_RETURN_IF_ERROR(set_study_note(store, *experiment_id, spec.name, "slurm_jobs", job_ids));
    arrays.push_back(std::move(array));
  }
  return arrays;
}

}  // namespace wattlab
