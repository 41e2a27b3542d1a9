// Study-shaped and plain runs written straight into a store, for tests,
// benchmarks and demos of analysis/: the tags, metrics, energy windows and
// environment of CONTRACTS.md, without training anything. Part of the
// wattlab_analysis_testing library, never of the binary.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

struct SyntheticStudy {
  struct Model {
    std::string label;
    double energy_per_image_j;  // median in the reference environment
    double f1;                  // median F1
    double images_per_s;        // training speed in the reference environment
  };
  struct Environment {
    std::string label;
    int threads;
    double energy_factor;  // multiplies every model's energy per image
    double time_factor;    // multiplies every model's duration
  };
  std::string name = "green-cv";
  std::string experiment;  // empty: the study's name
  std::vector<Model> models;
  std::vector<Environment> environments;
  // Extra energy factor of (model, environment) pairs: an interaction.
  std::map<std::pair<std::string, std::string>, double> interaction;
  int repetitions = 5;
  double energy_noise = 0.05;  // sigma of the lognormal noise on energy
  double f1_noise = 0.004;     // sd of the normal noise on F1
  bool energy_estimated = false;
  bool with_warmup = true;  // one warm-up run (role warmup) that must never count
  int failed_trials = 0;    // extra trial runs left FAILED, which must never count
  uint64_t seed = 7;
};

// Three models x two environments with an interaction (the bigger model gains
// more from a second thread), 5 repetitions.
SyntheticStudy default_synthetic_study();

// Writes the study's runs (FINISHED, in a shuffled trial order) into
// `logger`; returns the ids of the trial runs that are observations.
Result<std::vector<std::string>> write_synthetic_study(RunLogger& logger, const SyntheticStudy& study);

// One FINISHED run per value in experiment `experiment`, each with metric
// `metric` = value, and `tags`. Returns the run ids.
Result<std::vector<std::string>> write_metric_runs(RunLogger& logger, const std::string& experiment,
                                                   const std::map<std::string, std::string>& tags,
                                                   const std::string& metric, const std::vector<double>& values);

}  // namespace wattlab
