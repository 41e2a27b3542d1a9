// A study trial's `train` options (train_options.h), read from a spec's
// settings: in wattlab-torch only, as they are checked as `train` checks its
// command line, CUDA device included.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "wattlab/cli/train_options.h"
#include "wattlab/study/spec.h"

namespace wattlab::cli {

// A parsed `train` configuration outside a command line: its CLI11 app and
// the options bound to it.
struct ParsedTrainOptions {
  std::unique_ptr<CLI::App> app;
  std::unique_ptr<TrainCommandOptions> options;
};

// The `train` options a study trial's `settings` give (each located in
// `spec_path` at its line), checked as `train` checks its command line
// (validate() and the budget, errors located in the spec); the run's
// config_yaml is set. Data-dependent checks wait for the data.
Result<ParsedTrainOptions> train_options_from_settings(const std::string& spec_path, const SpecSettings& settings);

// `wattlab train`'s flags, for study specs.
class TrainCommandFlags : public TrainFlagChecker {
 public:
  TrainCommandFlags();
  std::vector<std::string> flag_names() const override { return names_; }
  Status check(const std::string& name, const std::vector<std::string>& values) const override;

 private:
  std::vector<std::string> names_;
};

}  // namespace wattlab::cli
