// A study spec: the YAML file that says which models are trained in which
// training environments, how often, in what order, and how the machine is
// prepared between trials (idle baseline, warm-up, cool-down).
//
//   name: green-cv                      # [A-Za-z0-9_.-], required
//   experiment: green-cv                # where the runs go (default: the name)
//   store: postgresql://db/wattlab      # optional; --store / --tracking-uri win
//   dataset:                            # `wattlab train` flags, for every trial
//     data: /usr/share/datasets/fashion-mnist
//     subset: 2000
//   train:                              # more `train` flags for every trial
//     optimizer: adam
//   epochs: 5
//   early-stopping: {patience: 3, min-delta: 0.001, start-from-epoch: 1, monitor: loss}
//   budget: {energy: 50kJ, carbon: 10g} # per trial
//   carbon: FRA                         # grid intensity (train --carbon), and pue: 1.2
//   models:                             # each: a `model` and its own train flags
//     - model: cnn
//     - {model: mobilenet_v2, width-multiplier: 0.35, name: mobilenet_v2-x0.35}
//   environments:                       # each: a name, train flags, and where it runs
//     - name: 1-thread
//       threads: 1
//       batch-size: 64
//       slurm: {partition: cpu, cpus: 1, constraint: zen3, gres: "gpu:1", mem: 4G, time: "01:00:00"}
//   repetitions: 30
//   order: shuffled                     # or grouped (model by model, environment by environment)
//   order-seed: 2022
//   seed: 1                             # training seed of repetition 1; repetition r uses seed + r - 1
//   idle-baseline: 30s                  # measured once at the start
//   warmup: {duration: 10min, model: cnn}     # or {steps: 500, model: cnn}; metered and stored, never a trial
//   cooldown: {duration: 5min}                # or {until-idle-within: 10%, max: 10min}
//
// Training flags are `wattlab train`'s long flags without the dashes; which
// ones exist, and whether a value fits, a TrainFlagChecker says (the CLI
// supplies the real one). A flag may be set in one place per trial: the
// top-level keys (epochs, early-stopping, budget, carbon, pue) and `dataset`
// and `train` hold defaults that a model or an environment may override, but
// a model and an environment setting the same flag is an error.
//
// Every error is InvalidArgument "FILE:LINE: KEY: what was wrong; what is
// allowed", and an unknown key names the closest valid one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// One train flag as the spec sets it: its values (one, or a list) and where.
struct SpecSetting {
  std::vector<std::string> values;
  int line = 0;  // 1-based line of the spec that set it
};

// Train flags by name ("batch-size"), in name order.
using SpecSettings = std::map<std::string, SpecSetting>;

// Knows `wattlab train`'s flags.
class TrainFlagChecker {
 public:
  virtual ~TrainFlagChecker() = default;
  // Every flag name, without dashes.
  virtual std::vector<std::string> flag_names() const = 0;
  // OK if `values` suit flag `name` (one of flag_names()); otherwise
  // InvalidArgument saying what the flag takes, without file or line.
  virtual Status check(const std::string& name, const std::vector<std::string>& values) const = 0;
};

struct SpecModel {
  std::string name;      // its label in reports and tags (default: the model, "-x<width>" with a width multiplier)
  SpecSettings settings;  // includes "model"
  int line = 0;
};

// Where an environment's trials run under Slurm. Empty fields are left to the cluster's defaults.
struct SlurmResources {
  std::string partition;
  std::string constraint;
  std::string gres;      // e.g. "gpu:1"
  int cpus = 0;          // --cpus-per-task; 0: the train flag threads
  std::string mem;       // e.g. "4G"
  std::string time;      // e.g. "01:00:00"
  bool operator==(const SlurmResources&) const = default;
};

struct SpecEnvironment {
  std::string name;
  SpecSettings settings;
  SlurmResources slurm;
  int line = 0;
};

enum class TrialOrder { kShuffled, kGrouped };

struct WarmupSpec {
  double duration_s = 0;  // train for this long, or
  int64_t steps = 0;      // for this many steps (batches)
  std::string model;      // a model's name (default: the first model), in the first environment
};

struct CooldownSpec {
  double duration_s = 0;             // wait this long, or
  std::optional<double> idle_within;  // until power is within this fraction of the idle baseline (0.1 = 10 %)
  double max_s = 600;                // ...but at most this long
};

struct StudySpec {
  std::string path;  // the file it was read from (for messages)
  std::string text;  // the file's text, as read
  std::string hash;  // content_hash(text)
  std::string name;
  std::string experiment;  // default: name
  std::string store;       // empty: the command line's
  SpecSettings common;     // dataset, train and the top-level training keys
  std::vector<SpecModel> models;
  std::vector<SpecEnvironment> environments;
  int repetitions = 1;
  TrialOrder order = TrialOrder::kShuffled;
  uint64_t order_seed = 2022;
  uint64_t seed = 1;  // training seed of repetition 1
  double idle_baseline_s = 0;               // 0: none
  std::optional<WarmupSpec> warmup;
  std::optional<CooldownSpec> cooldown;
};

// Parses spec `text` read from `path` (the path is only for messages),
// checking every training flag with `checker`.
Result<StudySpec> parse_study_spec(const std::string& path, const std::string& text, const TrainFlagChecker& checker);
// Reads and parses the file at `path`. NotFound when it does not exist.
Result<StudySpec> read_study_spec(const std::string& path, const TrainFlagChecker& checker);

// "10s", "5min", "1.5h", "250ms", "2m" (minutes), or a bare number of seconds,
// as seconds (>= 0); InvalidArgument otherwise.
Result<double> parse_duration_s(const std::string& text);

// The candidate closest to `word` by edit distance, if it is close enough to
// be a likely typo (at most a third of the word's letters off); empty otherwise.
std::string closest_word(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace wattlab
