#include "wattlab/analysis/estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "wattlab/analysis/energy_baseline.h"

namespace wattlab {

namespace {

std::string format(const char* fmt, auto... values) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, values...);
  return buf;
}

double carbon_g(double energy_j, const EstimateOptions& o) {
  auto carbon = estimate_carbon(energy_j, o.intensity, o.pue);
  return carbon.ok() ? carbon->co2e_g : NAN;
}

void set_carbon(TrainingEstimate& e, const EstimateOptions& o) {
  e.co2e_g = carbon_g(e.energy_j, o);
  e.co2e_low_g = carbon_g(e.energy_low_j, o);
  e.co2e_high_g = carbon_g(e.energy_high_j, o);
}

TrainingEstimate pre_estimate(const PreModel& model, const PreWorkload& workload, const PreModelCost& cost,
                              const EstimateOptions& o) {
  const PrePrediction p = predict_pre(model, workload, cost);
  const double epochs = o.epochs;
  TrainingEstimate e;
  e.method = EstimateMethod::kPre;
  e.training_runs = model.run_count();
  e.cv_mape = model.energy.cv.mape;
  e.method_text = format("PRE (kernel ridge regression) on %zu runs of %zu configurations, CV MAPE %.1f %% on energy "
                         "per epoch",
                         e.training_runs, model.configurations.size(), 100 * e.cv_mape);
  e.energy_j = p.energy_per_epoch_j * epochs;
  e.energy_low_j = p.energy_low_j * epochs;
  e.energy_high_j = p.energy_high_j * epochs;
  e.duration_s = p.duration_per_epoch_s * epochs;
  e.duration_low_s = p.duration_low_s * epochs;
  e.duration_high_s = p.duration_high_s * epochs;
  e.mean_power_w = p.mean_power_w;
  e.nearest = p.nearest;
  return e;
}

TrainingEstimate baseline_estimate(const PreWorkload& workload, const PreModelCost& cost, const std::string& reason,
                                   const EstimateOptions& o) {
  const BaselinePrediction b = baseline_prediction(workload, cost);
  const double epochs = o.epochs;
  TrainingEstimate e;
  e.method = EstimateMethod::kBaseline;
  e.method_text = "Green Algorithms baseline (TDP-based, not fitted to any run): " + reason;
  e.energy_j = b.energy_per_epoch_j * epochs;
  e.energy_low_j = b.energy_low_j * epochs;
  e.energy_high_j = b.energy_high_j * epochs;
  e.duration_s = b.duration_per_epoch_s * epochs;
  e.duration_low_s = b.duration_low_s * epochs;
  e.duration_high_s = b.duration_high_s * epochs;
  e.mean_power_w = b.power_w;
  e.assumptions = b.assumptions;
  return e;
}

bool matches_any(const PreEnvironment& e, const std::vector<std::string>& names) {
  if (names.empty()) return true;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return e.name == n || e.label().find(n) != std::string::npos;
  });
}

// The stop advice of the latest finished run of `model` on `hardware`'s hardware (of the 20 latest runs of it).
void add_advice(Store& store, const std::string& model, const PreEnvironment& hardware, const EstimateOptions& o,
                const TrainingEstimate& estimate, EstimateReport& report) {
  std::string quoted;
  for (char c : model) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  SearchRunsOptions search;
  search.filter = "params.model = '" + quoted + "' AND attributes.status = 'FINISHED'";
  search.max_results = 20;
  auto page = store.search_runs(search);
  if (!page.ok()) return;
  for (const RunData& listed : page->runs) {
    auto run = store.get_run(listed.info.run_id);
    if (!run.ok() || environment_of_run(*run).hardware_key() != hardware.hardware_key()) continue;
    auto epochs = epoch_progress_of_run(store, run->info.run_id);
    if (!epochs.ok()) continue;
    auto advice = advise_run_stop(*epochs, o.advice);
    if (!advice.ok()) continue;
    report.advice = *advice;
    report.advice_run_id = run->info.run_id;
    report.advice_sentence = "Latest comparable run (" + run->info.run_id.substr(0, 8) + "): " + advice->sentence;
    if (advice->diminishing && advice->stop_epoch < o.epochs) {
      const double per_epoch_j = estimate.energy_j / o.epochs;
      const double saved_j = per_epoch_j * (o.epochs - advice->stop_epoch);
      report.advice_sentence += format(" For this training, --epochs %d instead of %d would save about %.1f kJ (%.0f %%).",
                                       advice->stop_epoch, o.epochs, saved_j / 1000,
                                       100.0 * (o.epochs - advice->stop_epoch) / o.epochs);
    }
    return;
  }
}

}  // namespace

Result<EstimateReport> estimate_training(Store& store, const PreWorkload& workload, const ModelCostLookup& cost_lookup,
                                         const std::optional<std::vector<std::string>>& compare,
                                         const EstimateOptions& options, Clock& clock) {
  EstimateReport report;
  std::vector<PreObservation> observations;
  auto model = load_or_fit_pre(store, cost_lookup, options.fit, clock, &report.model_note, &observations);
  if (!model.ok()) return model.status();
  const PreModel* pre = model->has_value() ? &**model : nullptr;
  // PRE's model keeps the figures of the shapes it was fitted on: no model to build for those.
  auto known = pre != nullptr ? pre->model_costs.find(workload.shape.key()) : std::map<std::string, PreModelCost>::const_iterator();
  if (pre != nullptr && known != pre->model_costs.end()) {
    report.cost = known->second;
  } else {
    auto counted = cost_lookup(workload.shape);
    if (!counted.ok()) return counted.status();
    report.cost = *counted;
  }
  const PreModelCost& cost = report.cost;

  std::vector<PreEnvironment> environments = {workload.environment};
  if (compare) {
    std::vector<PreEnvironment> seen;
    if (pre != nullptr) {
      seen = pre->environments();
    } else {
      std::set<std::string> keys;
      for (const auto& o : observations) {
        if (keys.insert(o.workload.environment.key()).second) seen.push_back(o.workload.environment);
      }
    }
    environments.clear();
    for (const auto& e : seen) {
      if (matches_any(e, *compare)) environments.push_back(e);
    }
    if (environments.empty()) {
      std::string known;
      for (const auto& e : seen) known += "\n  " + e.label();
      return Status::not_found(seen.empty() ? "the store has no finished training run, so no environment to compare — "
                                              "train with `wattlab train` first"
                                            : "no environment in the store matches --compare-environments; there are:" +
                                                  known);
    }
  }

  for (const PreEnvironment& environment : environments) {
    PreWorkload w = workload;
    w.environment = environment;
    size_t comparable = 0;
    if (pre != nullptr) {
      comparable = pre->runs_on_hardware(environment);
    } else {
      for (const auto& o : observations) comparable += o.workload.environment.hardware_key() == environment.hardware_key();
    }
    TrainingEstimate e;
    if (pre != nullptr && comparable >= options.min_comparable_runs) {
      e = pre_estimate(*pre, w, cost, options);
    } else {
      const std::string runs = format("the store has %zu finished training run%s on this hardware", comparable,
                                      comparable == 1 ? "" : "s");
      const std::string reason =
          pre != nullptr ? runs + format(", PRE needs %zu", options.min_comparable_runs)
                         : runs + format(" (%zu usable in all); PRE needs runs of %zu configurations", observations.size(),
                                         options.fit.min_configurations);
      e = baseline_estimate(w, cost, reason, options);
    }
    e.environment = environment;
    e.comparable_runs = comparable;
    set_carbon(e, options);
    report.estimates.push_back(std::move(e));
  }
  if (compare) {
    std::stable_sort(report.estimates.begin(), report.estimates.end(),
                     [](const auto& a, const auto& b) { return a.energy_j < b.energy_j; });
  }
  add_advice(store, workload.shape.model, report.estimates.front().environment, options, report.estimates.front(),
             report);
  return report;
}

}  // namespace wattlab
