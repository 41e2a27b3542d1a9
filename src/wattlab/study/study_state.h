// A study as the store holds it: its spec (experiment tags), its runs (tagged
// with the study, role, trial key...), and what each trial's state is. Every
// executor and `wattlab study status|ls` read studies through here, so a
// study can be run, stopped, resumed and inspected from any machine that
// reaches the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/study/spec.h"
#include "wattlab/study/trials.h"
#include "wattlab/track/store.h"

namespace wattlab {

// Tags of every run a study makes (see CONTRACTS in README's "Studies").
inline constexpr const char* kStudyTag = "wattlab.study";                   // the study's name
inline constexpr const char* kStudyRoleTag = "wattlab.study.role";          // one of the roles below
inline constexpr const char* kStudyTrialTag = "wattlab.study.trial";        // index in the run order
inline constexpr const char* kStudyTrialKeyTag = "wattlab.study.trial_key"; // Trial::key
inline constexpr const char* kStudyModelTag = "wattlab.study.model";
inline constexpr const char* kStudyEnvironmentTag = "wattlab.study.environment";
inline constexpr const char* kStudyRepetitionTag = "wattlab.study.repetition";
inline constexpr const char* kStudySpecHashTag = "wattlab.study.spec_hash";
inline constexpr const char* kStudySettingsTag = "wattlab.study.settings";  // Trial::settings_text
// Roles: a trial (an observation), the warm-up, the idle baseline (never
// observations), and a trial's earlier attempt that a new run replaced.
inline constexpr const char* kRoleTrial = "trial";
inline constexpr const char* kRoleWarmup = "warmup";
inline constexpr const char* kRoleIdleBaseline = "idle-baseline";
inline constexpr const char* kRoleSuperseded = "superseded";

// The tags a study's trial run carries.
std::map<std::string, std::string> trial_tags(const StudySpec& spec, const Trial& trial);

enum class TrialState { kPending, kRunning, kFinished, kFailed, kKilled };
// "pending", "running", "finished", "failed", "killed".
const char* trial_state_name(TrialState state);

struct TrialRecord {
  const Trial* trial = nullptr;  // points into the trials given to load_study_state
  TrialState state = TrialState::kPending;
  std::optional<RunData> run;    // the trial's run, once one was started
};

struct StudyState {
  std::string experiment_id;        // empty while the study's experiment does not exist
  std::vector<TrialRecord> trials;  // in the order of the trials given
  std::vector<RunData> stray_trials;  // trial runs of keys the spec no longer has
  std::vector<RunData> other_runs;    // warm-ups, idle baselines, superseded attempts
  std::vector<RunInfo> ended_stale;   // RUNNING runs found without a recent heartbeat and ended KILLED
};

// Reads the runs of `spec`'s study and matches them to `trials` by key. With
// `end_stale`, a RUNNING run whose heartbeat is older than `stale_after_ms` at
// `now_ms` is ended KILLED first (track/stale_runs.h). A key with several
// trial runs takes the FINISHED one, else the most recently started. With
// `only_key`, only the runs of that trial are read (what one Slurm task
// needs, whatever the study's size); the others stay pending.
Result<StudyState> load_study_state(Store& store, const StudySpec& spec, const std::vector<Trial>& trials,
                                    int64_t now_ms, int64_t stale_after_ms, bool end_stale,
                                    const std::string& only_key = "");

// One line per finished trial whose settings the spec now changes, naming the
// trial and each changed flag ("cnn/1-thread/r1: batch-size 64 -> 128"); empty
// when the spec is compatible. New models, environments and repetitions are.
std::vector<std::string> incompatible_changes(const StudyState& state);

// Creates the study's experiment if needed and stores `spec` with it (its
// text and hash as experiment tags, replacing an earlier version). Returns the
// experiment's id.
Result<std::string> record_study(Store& store, const StudySpec& spec);

// A study recorded in the store.
struct StudyListing {
  std::string name;
  std::string experiment_id;
  std::string experiment;
  std::string spec_hash;
};
// Every study recorded in the store, by name.
Result<std::vector<StudyListing>> list_studies(Store& store);
// The spec text last recorded for study `name`; NotFound naming the store's studies otherwise.
Result<std::string> recorded_study_spec(Store& store, const std::string& name);
// Stores `value` under the study's experiment tag "wattlab.study.NAME.KEY" (e.g. slurm_jobs); read it back with
// study_note().
Status set_study_note(Store& store, const std::string& experiment_id, const std::string& name, const std::string& key,
                      const std::string& value);
Result<std::string> study_note(Store& store, const std::string& experiment_id, const std::string& name,
                               const std::string& key);

// Where a study stands: counts by state, what its trial runs spent, and a
// projection of what the unfinished trials will (each: the mean of the
// finished trials of its model x environment, else of all finished trials; a
// running trial with a STEP projection (run/run_projection.h) counts its
// projected remainder, and its projected total among those means; one
// without counts whole).
struct StudySummary {
  int total = 0, pending = 0, running = 0, finished = 0, failed = 0, killed = 0;
  double energy_j = 0;      // every trial run so far, finished or not
  double duration_s = 0;
  double remaining_energy_j = 0;  // NaN before any trial finished
  double remaining_s = 0;
  bool energy_estimated = false;  // some run's energy was estimated
};
StudySummary summarize(const StudyState& state);

}  // namespace wattlab
