// When more energy stops paying: advice in numbers and one plain sentence.
//
//  - For a run: the epoch after which the F1 gained per extra kJ fell below a
//    threshold for good (diminishing returns), and the energy that stopping
//    there would have saved.
//  - For a study: the configurations on the Pareto front of (median energy,
//    median F1), the F1 gained per extra kJ between neighbours on it, and the
//    configuration where climbing further stops paying.
//
// F1 is the macro F1 each epoch logs (`f1_macro`, step = epoch), as a
// fraction; the threshold is in F1 per kJ (0.001 = 0.1 F1 point per kJ).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/run_catalog.h"
#include "wattlab/track/store.h"

namespace wattlab {

struct AdviceOptions {
  double min_f1_gain_per_kj = 0.001;  // below this, more energy is not worth it
};

// ---- A run ----

struct EpochProgress {
  int epoch = 0;        // 1-based
  double f1 = 0;        // after this epoch
  double energy_j = 0;  // this epoch's energy (training, validation, evaluation)
};

struct RunStopAdvice {
  // True when the run went on past stop_epoch; false when every epoch it
  // trained still paid (stop_epoch is then the last one).
  bool diminishing = false;
  int stop_epoch = 0;     // the earliest epoch after which no later epoch paid the threshold
  int last_epoch = 0;
  double f1_at_stop = 0;  // F1 after stop_epoch
  double f1_last = 0;     // F1 after the last epoch
  double energy_at_stop_j = 0;  // epochs 1..stop_epoch
  double energy_total_j = 0;    // every epoch
  double saved_energy_j = 0;    // energy_total_j − energy_at_stop_j
  double gain_after_stop_per_kj = 0;  // F1 per kJ from stop_epoch to the last epoch
  double threshold_per_kj = 0;
  // "Stopping after epoch 4 of 10 would have saved 2.1 kJ (58 %) for 0.3 F1
  // points (0.871 instead of 0.874): the 6 epochs after it gained 0.14 F1
  // points per kJ, under the 0.1-per-kJ threshold." / "Every epoch still
  // paid ...".
  std::string sentence;
};

// Advice for epochs in order (at least one; InvalidArgument otherwise, or for
// a non-finite figure or a negative energy).
Result<RunStopAdvice> advise_run_stop(std::span<const EpochProgress> epochs, const AdviceOptions& options = {});

// The epochs of a stored run: f1_macro and the epoch energies (train_energy_j
// + eval_energy_j + val_energy_j, step = epoch) from their histories.
// NotFound for an unknown run; InvalidArgument when it logged no epoch.
Result<std::vector<EpochProgress>> epoch_progress_of_run(Store& store, const std::string& run_id);
// The same from a run catalog (a store or a tracking server).
Result<std::vector<EpochProgress>> epoch_progress_of_run(RunCatalog& catalog, const std::string& run_id);

// ---- A study ----

struct ConfigurationOutcome {
  std::string label;  // "mobilenet_v2 on 2-threads"
  double energy_j = 0;  // median energy of its runs
  double f1 = 0;        // median F1 of its runs
  size_t runs = 0;
};

struct ParetoStep {
  size_t from = 0, to = 0;  // indices into StudyAdvice::front (to = from + 1)
  double f1_gain = 0;       // F1 of `to` minus F1 of `from`
  double extra_energy_j = 0;
  double f1_gain_per_kj = 0;
};

struct StudyAdvice {
  std::vector<ConfigurationOutcome> front;  // non-dominated configurations, cheapest first
  std::vector<ParetoStep> steps;            // between neighbours on the front
  size_t recommended = 0;  // index into front: the first whose step up gains less than the threshold
  // "mobilenet_v2 on 2-threads: 0.4 F1 points lower than resnet18 on 2-threads
  // (0.912 vs 0.916) for 71 % less energy (12.3 kJ vs 42.4 kJ); the next step
  // up, cnn on 1-thread, costs 3.1 kJ per 0.1 F1 point."
  std::string sentence;
};

// The front and advice for configurations (at least one; InvalidArgument
// otherwise or for a non-finite figure). A configuration no worse in both
// energy and F1 than another, and better in one, dominates it.
Result<StudyAdvice> advise_study(std::vector<ConfigurationOutcome> configurations, const AdviceOptions& options = {});

// The configurations of a study's FINISHED trial runs (CONTRACTS.md: tags
// wattlab.study, wattlab.study.role = trial, wattlab.study.model and
// .environment), with the median energy_j and f1_macro of each. NotFound
// when the study has no finished trial with both metrics.
Result<std::vector<ConfigurationOutcome>> study_outcomes(Store& store, const std::string& study);

}  // namespace wattlab
