#include "wattlab/analysis/study_data.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "wattlab/analysis/observations.h"

namespace wattlab {

using namespace study_tags;

namespace {

double metric(const RunData& run, const std::string& key) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

std::string tag(const RunData& run, const std::string& key) {
  auto it = run.tags.find(key);
  return it == run.tags.end() ? "" : it->second;
}

int tag_int(const RunData& run, const std::string& key, int missing) {
  const std::string text = tag(run, key);
  if (text.empty()) return missing;
  try {
    return std::stoi(text);
  } catch (...) {
    return missing;
  }
}

}  // namespace

Result<StudyData> load_study(Store& store, const std::string& name) {
  RunSelection selection;
  selection.study = name;
  auto runs = select_runs(store, selection);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) {
    return Status::not_found("no trial runs of study \"" + name +
                             "\" in the store (runs tagged wattlab.study = " + name +
                             " and wattlab.study.role = trial) — run it with `wattlab study run`, or check --store");
  }
  StudyData study;
  study.name = name;
  size_t unfinished = 0, without_energy = 0, without_labels = 0;
  for (const RunData& run : *runs) {
    if (run.info.status != RunStatus::kFinished) {
      ++unfinished;
      continue;
    }
    StudyRun r;
    r.run_id = run.info.run_id;
    r.run_name = run.info.run_name;
    r.model = tag(run, kStudyModelTag);
    r.environment = tag(run, kStudyEnvironmentTag);
    r.energy_per_image_j = metric(run, "energy_per_image_j");
    if (r.model.empty() || r.environment.empty()) {
      ++without_labels;
      continue;
    }
    if (!std::isfinite(r.energy_per_image_j)) {
      ++without_energy;
      continue;
    }
    r.repetition = tag_int(run, kStudyRepetitionTag, 0);
    r.trial = tag_int(run, kStudyTrialTag, -1);
    r.energy_j = metric(run, "energy_j");
    r.duration_s = metric(run, "duration_s");
    r.f1_macro = metric(run, "f1_macro");
    r.accuracy = metric(run, "accuracy");
    r.energy_estimated = tag(run, "wattlab.energy_estimated") == "true";
    r.params = run.params;
    if (study.spec_hash.empty()) study.spec_hash = tag(run, kStudySpecHashTag);
    study.runs.push_back(std::move(r));
  }
  std::vector<std::string> reasons;
  if (unfinished) reasons.push_back(std::to_string(unfinished) + " not FINISHED");
  if (without_labels) reasons.push_back(std::to_string(without_labels) + " without a model or environment tag");
  if (without_energy) reasons.push_back(std::to_string(without_energy) + " without energy_per_image_j");
  study.left_out = unfinished + without_labels + without_energy;
  for (const auto& r : reasons) study.left_out_reason += (study.left_out_reason.empty() ? "" : ", ") + r;
  if (study.runs.empty()) {
    return Status::invalid_argument("study \"" + name + "\" has no finished trial run with energy per image (" +
                                    study.left_out_reason + ")");
  }
  std::stable_sort(study.runs.begin(), study.runs.end(), [](const StudyRun& a, const StudyRun& b) {
    return a.trial != b.trial ? a.trial < b.trial : a.run_name < b.run_name;
  });
  std::set<std::string> models, environments;
  for (StudyRun& r : study.runs) {
    models.insert(r.model);
    environments.insert(r.environment);
    auto full = store.get_run(r.run_id);
    if (!full.ok()) return full.status().with_context("reading the environment of run " + r.run_id);
    r.snapshot = std::move(full->environment);
  }
  study.models.assign(models.begin(), models.end());
  study.environments.assign(environments.begin(), environments.end());
  return study;
}

}  // namespace wattlab
