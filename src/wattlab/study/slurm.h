// The Slurm executor: a study's unfinished trials become sbatch job arrays,
// one per training environment (each environment asks for its own partition,
// constraint, GRES and CPUs), whose tasks each run
//   wattlab --store STORE study trial SPEC --index I --node-state /tmp/...
// against a store every node reaches (PostgreSQL, or a SQLite file on a
// shared filesystem). The idle baseline, warm-up and cool-downs happen per
// node (the node-state file in the node's /tmp). Submitting again after a
// crash or a `scancel` submits only what is unfinished.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/study/executor.h"
#include "wattlab/study/spec.h"
#include "wattlab/track/store.h"

namespace wattlab {

struct SlurmOptions {
  std::string wattlab_binary;  // absolute path of the wattlab the nodes run
  std::string store;           // --store every task uses; nodes must reach it
  std::string work_dir;        // a folder on a filesystem the nodes share: spec snapshot, scripts, task logs
  int max_parallel = 0;        // at most this many tasks of an array at once (sbatch --array=...%N); 0: no limit
  int64_t stale_after_ms = kDefaultStaleAfterMs;
};

struct SlurmArray {
  std::string environment;
  std::vector<int> indices;  // trial index of each task, by SLURM_ARRAY_TASK_ID
  std::string script_path;
  std::string job_id;        // set once submitted
};

// The sbatch script of one array: `indices` of `environment`'s trials, run
// from the spec snapshot at `spec_path`, with the node state in
// `node_state_path`.
std::string sbatch_script(const StudySpec& spec, const SpecEnvironment& environment, const std::vector<int>& indices,
                          const SlurmOptions& options, const std::string& spec_path, const std::string& node_state_path);

// Writes the spec snapshot and a script per environment that has unfinished
// trials into options.work_dir, submits each with `sbatch --parsable`, and
// records the job ids with the study (study note "slurm_jobs"). Refuses
// (AlreadyExists) while arrays of an earlier submission are still in
// Slurm's queue, and (InvalidArgument) an incompatible spec. Returns the
// arrays submitted (none when every trial is finished or running).
Result<std::vector<SlurmArray>> submit_study_to_slurm(Store& store, const StudySpec& spec, const SlurmOptions& options,
                                                      StudyListener* listener = nullptr);

// The ids among `job_ids` that squeue still lists (pending or running).
Result<std::vector<std::string>> queued_slurm_jobs(const std::vector<std::string>& job_ids);
// The study's recorded job ids (empty when it was never submitted).
Result<std::vector<std::string>> study_slurm_jobs(Store& store, const std::string& experiment_id,
                                                  const std::string& study_name);
// scancel of every id.
Status cancel_slurm_jobs(const std::vector<std::string>& job_ids);

}  // namespace wattlab
