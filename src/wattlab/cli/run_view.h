// What the CLI shows of a run beyond its records: where its energy figures
// come from, the figures derived from its metrics (accuracy per kJ, J and
// gCO2e per image), and the client-side ordering by them.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/entities.h"

namespace wattlab::cli {

// Where a run's energy figures come from.
enum class EnergyState {
  kMeasured,    // hardware counters only (tag wattlab.energy_estimated = false)
  kEstimated,   // at least one modelled domain (the tag is true)
  kUnlabelled,  // an energy_j metric without wattlab's label (logged by hand)
  kNone,        // no energy data at all (e.g. a run of the plain MLflow client)
};

// From the tag wattlab.energy_estimated, the energy_j metric and the energy
// windows: no energy_j and no window is kNone whatever the tag says.
EnergyState energy_state(const RunData& run);
// "measured", "estimated", "unlabelled", "none" (JSON, CSV).
const char* energy_state_key(EnergyState state);
// "measured", "estimated", "not labelled", "no energy data" (tables).
const char* energy_state_text(EnergyState state);

double metric_or_nan(const RunData& run, const std::string& key);
// The param, else the environment's value, else "".
std::string param_or_environment(const RunData& run, const std::string& key);
// Wall time from the run's start to its end in seconds, pauses between the
// sessions of a resumed run included; NaN while the run has not ended.
double elapsed_s_of(const RunInfo& info);
// The run's duration_s metric (the time its sessions were metered, pauses
// between them excluded), else elapsed_s_of: one meaning for duration_s.
double duration_s_of(const RunData& run);

// Figures derived from a run's metrics, by key:
//   accuracy_per_kj     accuracy / (energy_j / 1000)
//   f1_per_kj           f1_macro / (energy_j / 1000)
//   energy_per_image_j  the metric energy_per_image_j (training energy per
//                       training image), else energy_j / images (inference)
//   co2e_per_image_g    energy_per_image_j × co2e_g / energy_j
// NaN where an input is missing or energy_j is not positive.
const std::vector<std::string>& derived_keys();
// InvalidArgument naming the key and the derived keys when unknown.
Result<double> derived_value(const RunData& run, const std::string& key);

struct RunOrder {
  std::string key;  // a derived key, or metrics.X / params.X / tags.X / attributes.X
  bool descending = false;
};
// "accuracy_per_kj DESC" and the like; InvalidArgument naming the term.
Result<RunOrder> parse_run_order(const std::string& term);
// True when any term names a derived key (the store cannot sort by those).
bool orders_by_derived(const std::vector<RunOrder>& order);
// Sorts by the terms in turn (NaN and missing values last, either way),
// then by start time, newest first.
void sort_runs(std::vector<RunData>& runs, const std::vector<RunOrder>& order);

}  // namespace wattlab::cli
