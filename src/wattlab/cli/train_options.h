// `wattlab train`'s options: what the command line (and --config, and a
// study's trials, trial_options.h) can set for one tracked training run.
// `train` and `estimate` parse them from argv; `study` from a spec's
// settings, through the same definitions, so a trial is exactly the `train`
// run its flags describe. Torch-free.
#pragma once

#include <memory>
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "wattlab/cli/config_file.h"
#include "wattlab/run/tracked_training.h"

namespace wattlab::cli {

struct TrainCommandOptions {
  TrackedTrainingOptions run;
  std::string tracking_uri;   // empty: --store
  std::string energy_budget;  // "50kJ"; empty: none
  std::string carbon_budget;  // "10g"; empty: none
  std::string carbon;         // country, provider:region or g/kWh; empty: world average
  std::string config_path;    // --config: flags from a YAML file; empty: none
  std::string resume;         // --resume: the id of the run to continue; empty: a new run
  bool quiet = false;
};

// Keys a config file cannot set, and those the stored configuration leaves
// out (a tracking URI may carry a password).
inline const std::set<std::string> kNotSettable = {"config", "resume"};
inline const std::set<std::string> kNotStored = {"config", "resume", "tracking-uri"};

// Registers every option of `wattlab train` on `cmd`, bound to `o` (which
// must outlive `cmd`).
void add_train_options(CLI::App* cmd, TrainCommandOptions& o);

// --energy-budget, --carbon-budget, --carbon and --pue into o.run.budget;
// InvalidArgument naming the flag otherwise.
Status resolve_budget(TrainCommandOptions& o);

}  // namespace wattlab::cli
