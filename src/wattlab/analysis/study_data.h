// A study's observations read back from the store: its FINISHED trial runs
// (CONTRACTS.md: tags wattlab.study, wattlab.study.role = trial,
// wattlab.study.model, wattlab.study.environment), with the figures a report
// needs and every run's environment snapshot.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab {

// The tags a study puts on its runs (CONTRACTS.md). In their own namespace:
// study/study_state.h, a module above this one, declares the same names in
// `wattlab`, and a file may include both.
namespace study_tags {
inline constexpr const char* kStudyTag = "wattlab.study";
inline constexpr const char* kStudyRoleTag = "wattlab.study.role";
inline constexpr const char* kStudyTrialTag = "wattlab.study.trial";
inline constexpr const char* kStudyModelTag = "wattlab.study.model";
inline constexpr const char* kStudyEnvironmentTag = "wattlab.study.environment";
inline constexpr const char* kStudyRepetitionTag = "wattlab.study.repetition";
inline constexpr const char* kStudySpecHashTag = "wattlab.study.spec_hash";
}  // namespace study_tags

struct StudyRun {
  std::string run_id;
  std::string run_name;
  std::string model;        // wattlab.study.model
  std::string environment;  // wattlab.study.environment
  int repetition = 0;       // 1-based; 0 when the tag is missing
  int trial = -1;           // 0-based run-order index; -1 when missing
  // Final metrics; NaN when the run did not log them.
  double energy_per_image_j = 0;
  double energy_j = 0;
  double duration_s = 0;
  double f1_macro = 0;
  double accuracy = 0;
  bool energy_estimated = false;  // tag wattlab.energy_estimated = "true"
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> snapshot;  // RunData::environment: cpu_model, threads, os...
};

struct StudyData {
  std::string name;
  std::string spec_hash;  // of the first run; "" when absent
  std::vector<StudyRun> runs;  // observations, in trial order
  std::vector<std::string> models, environments;  // labels present, sorted
  size_t left_out = 0;     // trial runs that are not observations
  std::string left_out_reason;  // "2 not FINISHED, 1 without energy_per_image_j"
};

// Reads study `name`: every trial run FINISHED with an energy_per_image_j
// metric, a model and an environment becomes an observation; the other trial
// runs are counted in left_out. Reads each observation's environment
// snapshot with get_run. NotFound naming the study when it has no trial
// run, InvalidArgument when none of its trial runs is an observation.
Result<StudyData> load_study(Store& store, const std::string& name);

}  // namespace wattlab
