#include "wattlab/study/study_state.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "wattlab/track/stale_runs.h"

namespace wattlab {
namespace {

// The spec is kept in experiment tags of at most this many bytes each (tag values are bounded).
constexpr size_t kSpecPartBytes = 4000;

std::string note_key(const std::string& name, const std::string& key) { return "wattlab.study." + name + "." + key; }

std::string tag(const RunData& run, const char* key) {
  auto it = run.tags.find(key);
  return it == run.tags.end() ? "" : it->second;
}

double metric(const RunData& run, const char* key) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

TrialState state_of(const RunData& run) {
  switch (run.info.status) {
    case RunStatus::kFinished: return TrialState::kFinished;
    case RunStatus::kFailed: return TrialState::kFailed;
    case RunStatus::kKilled: return TrialState::kKilled;
    case RunStatus::kRunning:
    case RunStatus::kScheduled: return TrialState::kRunning;
  }
  return TrialState::kPending;
}

// "flag: value" lines as a map, for telling what changed.
std::map<std::string, std::string> settings_lines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(": ");
    if (colon != std::string::npos) out[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> trial_tags(const StudySpec& spec, const Trial& trial) {
  return {{kStudyTag, spec.name},
          {kStudyRoleTag, kRoleTrial},
          {kStudyTrialTag, std::to_string(trial.index)},
          {kStudyTrialKeyTag, trial.key},
          {kStudyModelTag, trial.model},
          {kStudyEnvironmentTag, trial.environment},
          {kStudyRepetitionTag, std::to_string(trial.repetition)},
          {kStudySpecHashTag, spec.hash},
          {kStudySettingsTag, trial.settings_text}};
}

const char* trial_state_name(TrialState state) {
  switch (state) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kFinished: return "finished";
    case TrialState::kFailed: return "failed";
    case TrialState::kKilled: return "killed";
  }
  return "?";
}

Result<StudyState> load_study_state(Store& store, const StudySpec& spec, const std::vector<Trial>& trials,
                                    int64_t now_ms, int64_t stale_after_ms, bool end_stale,
                                    const std::string& only_key) {
  StudyState state;
  for (const Trial& t : trials) state.trials.push_back({&t, TrialState::kPending, std::nullopt});
  auto experiment = store.get_experiment_by_name(spec.experiment);
  if (!experiment.ok()) {
    if (experiment.status().code() == Status::Code::kNotFound) return state;
    return experiment.status();
  }
  state.experiment_id = experiment->experiment_id;

  std::map<std::string, size_t> by_key;
  for (size_t i = 0; i < trials.size(); ++i) by_key[trials[i].key] = i;
  SearchRunsOptions search;
  search.experiment_ids = std::vector<std::string>{state.experiment_id};
  // Names and keys are [A-Za-z0-9_.-] and '/' (spec.h), so they need no quoting. The trial's key
  // comes first: the store reads the runs of the first equality's range.
  search.filter = "tags.`" + std::string(kStudyTag) + "` = '" + spec.name + "'";
  if (!only_key.empty()) {
    search.filter = "tags.`" + std::string(kStudyTrialKeyTag) + "` = '" + only_key + "' AND " + search.filter;
  }
  search.order_by = {"attributes.start_time ASC"};
  search.max_results = kSearchMaxResultsLimit;
  do {
    auto page = store.search_runs(search);
    if (!page.ok()) return page.status();
    for (RunData& run : page->runs) {
      if (end_stale && is_stale(run, now_ms, stale_after_ms)) {
        auto ended = end_stale_run(store, run);
        if (!ended.ok()) return ended.status();
        run.info = *ended;
        state.ended_stale.push_back(*ended);
      }
      if (tag(run, kStudyRoleTag) != kRoleTrial) {
        state.other_runs.push_back(std::move(run));
        continue;
      }
      auto it = by_key.find(tag(run, kStudyTrialKeyTag));
      if (it == by_key.end()) {
        state.stray_trials.push_back(std::move(run));
        continue;
      }
      TrialRecord& record = state.trials[it->second];
      // Runs come oldest first: a later run replaces an earlier one unless that one finished.
      if (record.run && record.state == TrialState::kFinished) continue;
      record.state = state_of(run);
      record.run = std::move(run);
    }
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  return state;
}

std::vector<std::string> incompatible_changes(const StudyState& state) {
  std::vector<std::string> changes;
  for (const TrialRecord& r : state.trials) {
    if (r.state != TrialState::kFinished || !r.run) continue;
    const std::string before_text = tag(*r.run, kStudySettingsTag);
    if (before_text == r.trial->settings_text) continue;
    auto before = settings_lines(before_text);
    auto after = settings_lines(r.trial->settings_text);
    std::string what;
    for (const auto& [flag, value] : after) {
      auto it = before.find(flag);
      if (it == before.end()) {
        what += (what.empty() ? "" : ", ") + flag + " now " + value;
      } else if (it->second != value) {
        what += (what.empty() ? "" : ", ") + flag + " " + it->second + " -> " + value;
      }
    }
    for (const auto& [flag, value] : before) {
      if (!after.count(flag)) what += (what.empty() ? "" : ", ") + flag + " " + value + " no longer set";
    }
    changes.push_back(r.trial->key + ": " + what);
  }
  return changes;
}

Result<std::string> record_study(Store& store, const StudySpec& spec) {
  auto id = store.get_or_create_experiment(spec.experiment);
  if (!id.ok()) return id.status();
  // Cut on UTF-8 character boundaries, so every part is valid text.
  std::vector<std::string> parts;
  for (size_t at = 0; at < spec.text.size();) {
    size_t end = std::min(spec.text.size(), at + kSpecPartBytes);
    while (end < spec.text.size() && end > at + 1 && (static_cast<unsigned char>(spec.text[end]) & 0xC0) == 0x80) --end;
    parts.push_back(spec.text.substr(at, end - at));
    at = end;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    WATTLAB_RETURN_IF_ERROR(store.set_experiment_tag(*id, note_key(spec.name, "spec." + std::to_string(i)), parts[i]));
  }
  WATTLAB_RETURN_IF_ERROR(store.set_experiment_tag(*id, note_key(spec.name, "spec_parts"), std::to_string(parts.size())));
  WATTLAB_RETURN_IF_ERROR(store.set_experiment_tag(*id, note_key(spec.name, "spec_hash"), spec.hash));
  return *id;
}

Result<std::vector<StudyListing>> list_studies(Store& store) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  std::vector<StudyListing> out;
  const std::string prefix = "wattlab.study.", suffix = ".spec_hash";
  for (const Experiment& e : *experiments) {
    if (e.lifecycle_stage != kLifecycleActive) continue;
    for (const auto& [key, value] : e.tags) {
      if (key.size() <= prefix.size() + suffix.size() || key.rfind(prefix, 0) != 0 || !key.ends_with(suffix)) continue;
      out.push_back({key.substr(prefix.size(), key.size() - prefix.size() - suffix.size()), e.experiment_id, e.name,
                     value});
    }
  }
  std::sort(out.begin(), out.end(), [](const StudyListing& a, const StudyListing& b) { return a.name < b.name; });
  return out;
}

Result<std::string> recorded_study_spec(Store& store, const std::string& name) {
  auto studies = list_studies(store);
  if (!studies.ok()) return studies.status();
  std::string names;
  for (const StudyListing& s : *studies) {
    names += (names.empty() ? "" : ", ") + s.name;
    if (s.name != name) continue;
    auto experiment = store.get_experiment(s.experiment_id);
    if (!experiment.ok()) return experiment.status();
    auto& tags = experiment->tags;
    auto parts = tags.find(note_key(name, "spec_parts"));
    if (parts == tags.end()) return Status::corrupt("study " + name + " has no stored spec in experiment " + s.experiment);
    std::string text;
    for (int i = 0; i < std::stoi(parts->second); ++i) {
      auto part = tags.find(note_key(name, "spec." + std::to_string(i)));
      if (part == tags.end()) return Status::corrupt("study " + name + "'s stored spec lacks part " + std::to_string(i));
      text += part->second;
    }
    return text;
  }
  return Status::not_found("no study '" + name + "' in this store" +
                           (names.empty() ? " (it holds none; start one with wattlab study run SPEC.yaml)"
                                          : " (it holds: " + names + ")"));
}

Status set_study_note(Store& store, const std::string& experiment_id, const std::string& name, const std::string& key,
                      const std::string& value) {
  return store.set_experiment_tag(experiment_id, note_key(name, key), value);
}

Result<std::string> study_note(Store& store, const std::string& experiment_id, const std::string& name,
                               const std::string& key) {
  auto experiment = store.get_experiment(experiment_id);
  if (!experiment.ok()) return experiment.status();
  auto it = experiment->tags.find(note_key(name, key));
  if (it == experiment->tags.end()) return Status::not_found("study " + name + " has no " + key);
  return it->second;
}

StudySummary summarize(const StudyState& state) {
  StudySummary s;
  s.total = static_cast<int>(state.trials.size());
  struct Mean {
    double energy_j = 0, duration_s = 0;
    int n = 0;
  };
  std::map<const SpecSettings*, Mean> by_pair;  // a model x environment's trials share their base settings
  Mean all;
  for (const TrialRecord& r : state.trials) {
    switch (r.state) {
      case TrialState::kPending: ++s.pending; break;
      case TrialState::kRunning: ++s.running; break;
      case TrialState::kFinished: ++s.finished; break;
      case TrialState::kFailed: ++s.failed; break;
      case TrialState::kKilled: ++s.killed; break;
    }
    if (!r.run) continue;
    const double energy_j = metric(*r.run, "energy_j"), duration_s = metric(*r.run, "duration_s");
    if (std::isfinite(energy_j)) s.energy_j += energy_j;
    if (std::isfinite(duration_s)) s.duration_s += duration_s;
    s.energy_estimated |= tag(*r.run, "wattlab.energy_estimated") == "true";
    // A running trial's STEP projection (run/run_projection.h) stands in for its total.
    const double projected_j = metric(*r.run, "projected_energy_j"), projected_s = metric(*r.run, "projected_duration_s");
    const bool finished = r.state == TrialState::kFinished && std::isfinite(energy_j) && std::isfinite(duration_s);
    const bool projected = r.state == TrialState::kRunning && std::isfinite(projected_j) && std::isfinite(projected_s);
    if (finished || projected) {
      for (Mean* m : {&by_pair[r.trial->base_settings.get()], &all}) {
        m->energy_j += finished ? energy_j : projected_j;
        m->duration_s += finished ? duration_s : projected_s;
        ++m->n;
      }
    }
  }
  if (all.n == 0) {
    s.remaining_energy_j = s.remaining_s = s.finished == s.total ? 0 : NAN;
    return s;
  }
  for (const TrialRecord& r : state.trials) {
    if (r.state == TrialState::kFinished) continue;
    if (r.state == TrialState::kRunning && r.run) {  // what its projection says is left
      const double left_j = metric(*r.run, "projected_remaining_energy_j"), left_s = metric(*r.run, "projected_remaining_s");
      if (std::isfinite(left_j) && std::isfinite(left_s)) {
        s.remaining_energy_j += left_j;
        s.remaining_s += left_s;
        continue;
      }
    }
    auto it = by_pair.find(r.trial->base_settings.get());
    const Mean& m = it != by_pair.end() ? it->second : all;
    s.remaining_energy_j += m.energy_j / m.n;
    s.remaining_s += m.duration_s / m.n;
  }
  return s;
}

}  // namespace wattlab
