// What `wattlab estimate` answers, as a library call: the energy, time and
// carbon a training would take, before it starts, with an interval and the
// method that gave them:
//
//  - PRE (analysis/pre.h) when the store's finished runs fit a model and at
//    least min_comparable_runs of them ran on the same hardware (CPU model,
//    GPU model and device kind; threads may differ, they are a feature);
//  - otherwise the Green-Algorithms-style baseline (analysis/energy_baseline.h),
//    labelled as such, with the reason.
//
// With several environments (compare_environments) each gets its own
// estimate and they are ranked by energy. Advice comes from the most recent
// finished run of the same model on the same hardware: where its F1 stopped
// paying for its energy (analysis/advice.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "wattlab/analysis/advice.h"
#include "wattlab/analysis/pre.h"
#include "wattlab/core/clock.h"
#include "wattlab/energy/carbon.h"

namespace wattlab {

struct EstimateOptions {
  int epochs = 1;
  CarbonIntensity intensity = world_average_carbon_intensity();
  double pue = 1.0;
  size_t min_comparable_runs = 3;
  PreFitOptions fit;
  AdviceOptions advice;
};

enum class EstimateMethod { kPre, kBaseline };

struct TrainingEstimate {
  PreEnvironment environment;
  EstimateMethod method = EstimateMethod::kBaseline;
  // "PRE (kernel ridge regression) on 42 runs of 14 configurations, CV MAPE
  // 5.2 % on energy per epoch" or "Green Algorithms baseline (TDP-based; not
  // fitted to any run): the store has 1 run on this hardware, PRE needs 3".
  std::string method_text;
  double energy_j = 0, energy_low_j = 0, energy_high_j = 0;  // the whole training; 90 % interval for PRE
  double duration_s = 0, duration_low_s = 0, duration_high_s = 0;
  double co2e_g = 0, co2e_low_g = 0, co2e_high_g = 0;
  double mean_power_w = 0;
  size_t comparable_runs = 0;  // finished runs on the same hardware
  size_t training_runs = 0;    // runs PRE was fitted on (0 for the baseline)
  double cv_mape = NAN;        // PRE's cross-validated MAPE on energy per epoch
  std::vector<PreNeighbour> nearest;  // PRE: the configurations the prediction leans on
  std::string assumptions;            // baseline: what it assumed
};

struct EstimateReport {
  PreModelCost cost;                        // the workload's model
  std::vector<TrainingEstimate> estimates;  // one, or one per environment, least energy first
  std::string model_note;                   // how PRE's model was obtained, or why there is none
  // From the latest comparable run of the same model, when there is one.
  std::optional<RunStopAdvice> advice;
  std::string advice_run_id;
  std::string advice_sentence;  // advice.sentence, and what it means for `epochs`
};

// Estimates `workload` for options.epochs epochs on workload.environment;
// or, with `compare` set, on every environment the store has finished
// training runs of (PRE's configurations', or the runs' when they are too few
// for a model) whose name or label contains one of the names in *compare
// (all of them when it is empty), the workload's threads and device then
// coming from each environment. `cost_lookup` counts models (the workload's,
// unless PRE's stored model has its figures, and those of the store's runs
// when PRE is fitted). NotFound, naming the environments there are, when no
// environment matches; the lookup's error when it cannot count the
// workload's model; otherwise fails only when the store does.
Result<EstimateReport> estimate_training(Store& store, const PreWorkload& workload, const ModelCostLookup& cost_lookup,
                                         const std::optional<std::vector<std::string>>& compare,
                                         const EstimateOptions& options, Clock& clock);

}  // namespace wattlab
