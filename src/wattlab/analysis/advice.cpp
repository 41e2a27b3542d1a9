#include "wattlab/analysis/advice.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace wattlab {

namespace {

std::string format(const char* fmt, auto... values) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, values...);
  return buf;
}

// "2.1 kJ", "350 J", "4.20 MJ".
std::string energy_text(double energy_j) {
  const double a = std::fabs(energy_j);
  if (a >= 1e6) return format("%.2f MJ", energy_j / 1e6);
  if (a >= 1e3) return format("%.1f kJ", energy_j / 1e3);
  return format("%.0f J", energy_j);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

Result<RunStopAdvice> advise_run_stop(std::span<const EpochProgress> epochs, const AdviceOptions& options) {
  if (epochs.empty()) return Status::invalid_argument("stop advice needs at least one epoch");
  for (const auto& e : epochs) {
    if (!std::isfinite(e.f1) || !std::isfinite(e.energy_j) || e.energy_j < 0) {
      return Status::invalid_argument("stop advice: epoch " + std::to_string(e.epoch) + " has a non-finite F1 or energy");
    }
  }
  const size_t n = epochs.size();
  std::vector<double> cumulative_j(n);
  for (size_t i = 0; i < n; ++i) cumulative_j[i] = (i ? cumulative_j[i - 1] : 0) + epochs[i].energy_j;
  // The earliest epoch from which no later epoch reached the threshold rate.
  size_t stop = n - 1;
  for (size_t s = 0; s < n; ++s) {
    bool pays = false;
    for (size_t k = s + 1; k < n && !pays; ++k) {
      const double kj = (cumulative_j[k] - cumulative_j[s]) / 1000;
      const double gain = epochs[k].f1 - epochs[s].f1;
      pays = kj <= 0 ? gain > 0 : gain / kj >= options.min_f1_gain_per_kj;
    }
    if (!pays) {
      stop = s;
      break;
    }
  }
  RunStopAdvice a;
  a.stop_epoch = epochs[stop].epoch;
  a.last_epoch = epochs.back().epoch;
  a.diminishing = stop + 1 < n;
  a.f1_at_stop = epochs[stop].f1;
  a.f1_last = epochs.back().f1;
  a.energy_at_stop_j = cumulative_j[stop];
  a.energy_total_j = cumulative_j.back();
  a.saved_energy_j = a.energy_total_j - a.energy_at_stop_j;
  a.threshold_per_kj = options.min_f1_gain_per_kj;
  const double kj_after = a.saved_energy_j / 1000;
  a.gain_after_stop_per_kj = kj_after > 0 ? (a.f1_last - a.f1_at_stop) / kj_after : 0;
  const std::string threshold = format("%.2g F1 points per kJ", 100 * a.threshold_per_kj);
  if (!a.diminishing) {
    a.sentence = format("Every epoch up to the last (%d) gained at least %s; training longer may still pay.",
                        a.last_epoch, threshold.c_str());
    return a;
  }
  const double saved_pct = a.energy_total_j > 0 ? 100 * a.saved_energy_j / a.energy_total_j : 0;
  const double f1_points = 100 * (a.f1_last - a.f1_at_stop);
  const int after = a.last_epoch - a.stop_epoch;
  a.sentence = format("Stopping after epoch %d of %d would have saved %s (%.0f %%) for %s%.1f F1 points (%.3f instead "
                      "of %.3f): the %d epoch%s after it gained %.2g F1 points per kJ, under the %s threshold.",
                      a.stop_epoch, a.last_epoch, energy_text(a.saved_energy_j).c_str(), saved_pct,
                      f1_points >= 0 ? "" : "a gain of ", std::fabs(f1_points), a.f1_at_stop, a.f1_last, after,
                      after == 1 ? "" : "s", 100 * a.gain_after_stop_per_kj, threshold.c_str());
  return a;
}

namespace {

// epoch_progress_of_run over `read_history(key)`, a metric's history.
template <typename History>
Result<std::vector<EpochProgress>> epoch_progress(const std::string& run_id, History read_history) {
  auto f1 = read_history("f1_macro");
  if (!f1.ok()) return f1.status();
  std::map<int64_t, EpochProgress> by_epoch;
  for (const Metric& m : *f1) by_epoch[m.step] = {static_cast<int>(m.step), m.value, 0};
  for (const char* key : {"train_energy_j", "eval_energy_j", "val_energy_j"}) {
    auto history = read_history(key);
    if (!history.ok()) return history.status();
    std::map<int64_t, double> latest;  // a resumed epoch logged twice counts once
    for (const Metric& m : *history) latest[m.step] = m.value;
    for (const auto& [step, value] : latest) {
      if (auto it = by_epoch.find(step); it != by_epoch.end() && std::isfinite(value)) it->second.energy_j += value;
    }
  }
  std::vector<EpochProgress> epochs;
  for (const auto& [step, e] : by_epoch) {
    if (step >= 1) epochs.push_back(e);
  }
  if (epochs.empty()) return Status::invalid_argument("run " + run_id + " logged no epoch (no f1_macro history)");
  return epochs;
}

}  // namespace

Result<std::vector<EpochProgress>> epoch_progress_of_run(Store& store, const std::string& run_id) {
  return epoch_progress(run_id, [&](const char* key) { return store.get_metric_history(run_id, key); });
}

Result<std::vector<EpochProgress>> epoch_progress_of_run(RunCatalog& catalog, const std::string& run_id) {
  return epoch_progress(run_id, [&](const char* key) { return catalog.get_metric_history(run_id, key); });
}

Result<StudyAdvice> advise_study(std::vector<ConfigurationOutcome> configurations, const AdviceOptions& options) {
  if (configurations.empty()) return Status::invalid_argument("study advice needs at least one configuration");
  for (const auto& c : configurations) {
    if (!std::isfinite(c.energy_j) || !std::isfinite(c.f1)) {
      return Status::invalid_argument("study advice: configuration " + c.label + " has a non-finite energy or F1");
    }
  }
  // Cheapest first (then best F1); a configuration is on the front when it
  // beats the best F1 of every cheaper one.
  std::sort(configurations.begin(), configurations.end(), [](const auto& a, const auto& b) {
    return a.energy_j != b.energy_j ? a.energy_j < b.energy_j : a.f1 > b.f1;
  });
  StudyAdvice advice;
  for (const auto& c : configurations) {
    if (advice.front.empty() || c.f1 > advice.front.back().f1) advice.front.push_back(c);
  }
  for (size_t i = 0; i + 1 < advice.front.size(); ++i) {
    ParetoStep step;
    step.from = i;
    step.to = i + 1;
    step.f1_gain = advice.front[i + 1].f1 - advice.front[i].f1;
    step.extra_energy_j = advice.front[i + 1].energy_j - advice.front[i].energy_j;
    step.f1_gain_per_kj = step.f1_gain / (step.extra_energy_j / 1000);
    advice.steps.push_back(step);
  }
  advice.recommended = advice.front.size() - 1;
  for (const ParetoStep& step : advice.steps) {
    if (step.f1_gain_per_kj < options.min_f1_gain_per_kj) {
      advice.recommended = step.from;
      break;
    }
  }
  const ConfigurationOutcome& best = advice.front.back();
  const ConfigurationOutcome& pick = advice.front[advice.recommended];
  if (advice.recommended + 1 == advice.front.size()) {
    advice.sentence = format("%s has the highest F1 (%.3f) at %s, and every step up the front to it paid at least %.2g "
                             "F1 points per kJ.",
                             best.label.c_str(), best.f1, energy_text(best.energy_j).c_str(),
                             100 * options.min_f1_gain_per_kj);
    return advice;
  }
  const ParetoStep& next = advice.steps[advice.recommended];
  const double less_pct = best.energy_j > 0 ? 100 * (best.energy_j - pick.energy_j) / best.energy_j : 0;
  advice.sentence = format("%s: %.1f F1 points lower than %s (%.3f vs %.3f) for %.0f %% less energy (%s vs %s); the "
                           "next step up, %s, costs %s per 0.1 F1 point.",
                           pick.label.c_str(), 100 * (best.f1 - pick.f1), best.label.c_str(), pick.f1, best.f1,
                           less_pct, energy_text(pick.energy_j).c_str(), energy_text(best.energy_j).c_str(),
                           advice.front[next.to].label.c_str(),
                           energy_text(next.f1_gain > 0 ? next.extra_energy_j * 0.001 / next.f1_gain : INFINITY).c_str());
  return advice;
}

Result<std::vector<ConfigurationOutcome>> study_outcomes(Store& store, const std::string& study) {
  std::string quoted;
  for (char c : study) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  SearchRunsOptions search;
  search.filter = "tags.`wattlab.study` = '" + quoted + "' AND tags.`wattlab.study.role` = 'trial' AND "
                  "attributes.status = 'FINISHED'";
  search.max_results = kSearchMaxResultsLimit;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> groups;  // label -> (energy, f1)
  do {
    auto page = store.search_runs(search);
    if (!page.ok()) return page.status();
    for (const RunData& run : page->runs) {
      auto energy = run.latest_metrics.find("energy_j");
      auto f1 = run.latest_metrics.find("f1_macro");
      if (energy == run.latest_metrics.end() || f1 == run.latest_metrics.end()) continue;
      auto tag = [&](const char* key) {
        auto it = run.tags.find(key);
        return it == run.tags.end() ? std::string("?") : it->second;
      };
      auto& group = groups[tag("wattlab.study.model") + " on " + tag("wattlab.study.environment")];
      group.first.push_back(energy->second.value);
      group.second.push_back(f1->second.value);
    }
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  if (groups.empty()) {
    return Status::not_found("study \"" + study + "\" has no finished trial run with energy_j and f1_macro — run it "
                             "with `wattlab study run`");
  }
  std::vector<ConfigurationOutcome> out;
  for (const auto& [label, values] : groups) {
    out.push_back({label, median(values.first), median(values.second), values.first.size()});
  }
  return out;
}

}  // namespace wattlab
