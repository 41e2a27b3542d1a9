// A study's trials: every model x environment x repetition of a spec, in the
// order they run, each with the train flags it runs with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/study/spec.h"

namespace wattlab {

struct Trial {
  int index = 0;            // position in the run order, 0-based (a Slurm array task runs one index)
  std::string key;          // "MODEL/ENVIRONMENT/rREPETITION": the trial's identity whatever the order
  std::string model;        // SpecModel::name
  std::string environment;  // SpecEnvironment::name
  int repetition = 1;       // 1-based
  uint64_t seed = 0;        // training seed: spec.seed + repetition - 1
  // The train flags the spec sets for its model x environment (not the seed),
  // shared by the repetitions.
  std::shared_ptr<const SpecSettings> base_settings;
  std::string settings_text;  // settings() as "flag: value" lines in flag order: what a change is checked against
  const SlurmResources* slurm = nullptr;  // the environment's; points into the spec

  // Every train flag the spec sets for it: base_settings and "seed".
  SpecSettings settings() const;
};

// Every trial of `spec` in run order: shuffled (Fisher-Yates driven by
// mt19937_64 seeded with spec.order_seed, so the same seed gives the same
// order on every platform) or grouped (model, then environment, then
// repetition). The result points into `spec`, which must outlive it.
std::vector<Trial> expand_trials(const StudySpec& spec);

// The settings of a trial that uses `model` in `environment` with `seed`:
// spec.common, overridden by the model's and the environment's own flags.
SpecSettings trial_settings(const StudySpec& spec, const SpecModel& model, const SpecEnvironment& environment,
                            uint64_t seed);

// "flag: value" lines ("mean: [0.5, 0.5]" for lists) in flag order.
std::string settings_text(const SpecSettings& settings);

// The trial key of a model, environment and repetition.
std::string trial_key(const std::string& model, const std::string& environment, int repetition);

}  // namespace wattlab
