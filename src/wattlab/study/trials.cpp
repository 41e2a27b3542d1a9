#include "wattlab/study/trials.h"

#include <random>


namespace wattlab {
namespace {

// A uniform integer in [0, n) from `rng`, by rejection (no modulo bias), so
// the order depends only on mt19937_64's specified output.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

}  // namespace

std::string trial_key(const std::string& model, const std::string& environment, int repetition) {
  return model + "/" + environment + "/r" + std::to_string(repetition);
}

SpecSettings trial_settings(const StudySpec& spec, const SpecModel& model, const SpecEnvironment& environment,
                            uint64_t seed) {
  SpecSettings settings = spec.common;
  for (const auto& [flag, setting] : model.settings) settings[flag] = setting;
  for (const auto& [flag, setting] : environment.settings) settings[flag] = setting;
  settings["seed"] = SpecSetting{{std::to_string(seed)}, 0};
  return settings;
}

std::string settings_text(const SpecSettings& settings) {
  std::string text;
  for (const auto& [flag, setting] : settings) {
    text += flag + ": ";
    if (setting.values.size() == 1) {
      text += setting.values.front();
    } else {
      text += "[";
      for (size_t i = 0; i < setting.values.size(); ++i) text += (i ? ", " : "") + setting.values[i];
      text += "]";
    }
    text += "\n";
  }
  return text;
}

SpecSettings Trial::settings() const {
  SpecSettings all = *base_settings;
  all["seed"] = SpecSetting{{std::to_string(seed)}, 0};
  return all;
}

std::vector<Trial> expand_trials(const StudySpec& spec) {
  std::vector<Trial> trials;
  trials.reserve(spec.models.size() * spec.environments.size() * static_cast<size_t>(spec.repetitions));
  for (const auto& m : spec.models) {
    for (const auto& e : spec.environments) {
      // Once per pair: its flags, and their text on either side of the seed's line.
      auto base = std::make_shared<SpecSettings>(trial_settings(spec, m, e, 0));
      base->erase("seed");
      SpecSettings before_seed, after_seed;
      for (const auto& [flag, setting] : *base) (flag < "seed" ? before_seed : after_seed)[flag] = setting;
      const std::string before = settings_text(before_seed), after = settings_text(after_seed);
      for (int r = 1; r <= spec.repetitions; ++r) {
        Trial t;
        t.key = trial_key(m.name, e.name, r);
        t.model = m.name;
        t.environment = e.name;
        t.repetition = r;
        t.seed = spec.seed + static_cast<uint64_t>(r) - 1;
        t.base_settings = base;
        t.settings_text = before + "seed: " + std::to_string(t.seed) + "\n" + after;
        t.slurm = &e.slurm;
        trials.push_back(std::move(t));
      }
    }
  }
  if (spec.order == TrialOrder::kShuffled) {
    std::mt19937_64 rng(spec.order_seed);
    for (size_t i = trials.size(); i > 1; --i) std::swap(trials[i - 1], trials[uniform_below(rng, i)]);
  }
  for (size_t i = 0; i < trials.size(); ++i) trials[i].index = static_cast<int>(i);
  return trials;
}

}  // namespace wattlab
