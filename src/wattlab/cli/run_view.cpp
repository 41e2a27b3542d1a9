#include "wattlab/cli/run_view.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <variant>

namespace wattlab::cli {

EnergyState energy_state(const RunData& run) {
  const bool has_energy = run.latest_metrics.count("energy_j") > 0 || !run.energy_windows.empty();
  if (!has_energy) return EnergyState::kNone;
  auto tag = run.tags.find("wattlab.energy_estimated");
  if (tag != run.tags.end()) return tag->second == "true" ? EnergyState::kEstimated : EnergyState::kMeasured;
  if (run.energy_windows.empty()) return EnergyState::kUnlabelled;
  for (const auto& w : run.energy_windows)
    if (w.estimated()) return EnergyState::kEstimated;
  return EnergyState::kMeasured;
}

const char* energy_state_key(EnergyState state) {
  switch (state) {
    case EnergyState::kMeasured: return "measured";
    case EnergyState::kEstimated: return "estimated";
    case EnergyState::kUnlabelled: return "unlabelled";
    case EnergyState::kNone: return "none";
  }
  return "none";
}

const char* energy_state_text(EnergyState state) {
  switch (state) {
    case EnergyState::kMeasured: return "measured";
    case EnergyState::kEstimated: return "estimated";
    case EnergyState::kUnlabelled: return "not labelled";
    case EnergyState::kNone: return "no energy data";
  }
  return "no energy data";
}

double metric_or_nan(const RunData& run, const std::string& key) {
  auto it = run.latest_metrics.find(key);
  return it == run.latest_metrics.end() ? NAN : it->second.value;
}

std::string param_or_environment(const RunData& run, const std::string& key) {
  if (auto it = run.params.find(key); it != run.params.end()) return it->second;
  if (auto it = run.environment.find(key); it != run.environment.end()) return it->second;
  return "";
}

double elapsed_s_of(const RunInfo& info) {
  return info.end_time_ms ? static_cast<double>(*info.end_time_ms - info.start_time_ms) / 1000.0 : NAN;
}

double duration_s_of(const RunData& run) {
  const double metered_s = metric_or_nan(run, "duration_s");
  return std::isfinite(metered_s) ? metered_s : elapsed_s_of(run.info);
}

const std::vector<std::string>& derived_keys() {
  static const std::vector<std::string> kKeys = {"accuracy_per_kj", "f1_per_kj", "energy_per_image_j",
                                                 "co2e_per_image_g"};
  return kKeys;
}

namespace {

double per_kj(double figure, double energy_j) { return energy_j > 0 ? figure / (energy_j / 1000.0) : NAN; }

double energy_per_image_j(const RunData& run) {
  const double metric = metric_or_nan(run, "energy_per_image_j");
  if (!std::isnan(metric)) return metric;
  const double images = metric_or_nan(run, "images");
  return images > 0 ? metric_or_nan(run, "energy_j") / images : NAN;
}

}  // namespace

Result<double> derived_value(const RunData& run, const std::string& key) {
  const double energy_j = metric_or_nan(run, "energy_j");
  if (key == "accuracy_per_kj") return per_kj(metric_or_nan(run, "accuracy"), energy_j);
  if (key == "f1_per_kj") return per_kj(metric_or_nan(run, "f1_macro"), energy_j);
  if (key == "energy_per_image_j") return energy_per_image_j(run);
  if (key == "co2e_per_image_g") {
    return energy_j > 0 ? energy_per_image_j(run) * metric_or_nan(run, "co2e_g") / energy_j : NAN;
  }
  std::string known;
  for (const auto& k : derived_keys()) known += (known.empty() ? "" : ", ") + k;
  return Status::invalid_argument("no derived column \"" + key + "\" (derived columns: " + known + ")");
}

Result<RunOrder> parse_run_order(const std::string& term) {
  RunOrder out;
  std::string text = term;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  const size_t space = text.find_last_of(" \t");
  if (space != std::string::npos) {
    std::string direction = text.substr(space + 1);
    for (char& c : direction) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (direction == "ASC" || direction == "DESC") {
      out.descending = direction == "DESC";
      text = text.substr(0, space);
    }
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  if (text.empty()) return Status::invalid_argument("--order-by \"" + term + "\" names no column");
  out.key = text;
  return out;
}

bool orders_by_derived(const std::vector<RunOrder>& order) {
  for (const auto& o : order)
    if (std::find(derived_keys().begin(), derived_keys().end(), o.key) != derived_keys().end()) return true;
  return false;
}

namespace {

// A run's value for an order key: a number, a string, or nothing.
using SortValue = std::variant<std::monostate, double, std::string>;

SortValue sort_value(const RunData& run, const std::string& key) {
  auto derived = derived_value(run, key);
  if (derived.ok()) return std::isnan(*derived) ? SortValue() : SortValue(*derived);
  const size_t dot = key.find('.');
  const std::string kind = dot == std::string::npos ? "attributes" : key.substr(0, dot);
  const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
  auto from = [&](const std::map<std::string, std::string>& map) -> SortValue {
    auto it = map.find(name);
    return it == map.end() ? SortValue() : SortValue(it->second);
  };
  if (kind == "metrics" || kind == "metric") {
    const double v = metric_or_nan(run, name);
    return std::isnan(v) ? SortValue() : SortValue(v);
  }
  if (kind == "params" || kind == "param") return from(run.params);
  if (kind == "tags" || kind == "tag") return from(run.tags);
  if (name == "start_time") return static_cast<double>(run.info.start_time_ms);
  if (name == "end_time") return run.info.end_time_ms ? SortValue(static_cast<double>(*run.info.end_time_ms)) : SortValue();
  if (name == "run_name") return run.info.run_name;
  if (name == "status") return std::string(run_status_name(run.info.status));
  if (name == "run_id") return run.info.run_id;
  return SortValue();
}

}  // namespace

void sort_runs(std::vector<RunData>& runs, const std::vector<RunOrder>& order) {
  std::stable_sort(runs.begin(), runs.end(), [&](const RunData& a, const RunData& b) {
    for (const auto& o : order) {
      const SortValue x = sort_value(a, o.key), y = sort_value(b, o.key);
      const bool x_missing = std::holds_alternative<std::monostate>(x);
      const bool y_missing = std::holds_alternative<std::monostate>(y);
      if (x_missing || y_missing) {
        if (x_missing != y_missing) return y_missing;  // missing values last
        continue;
      }
      if (x == y) continue;
      return o.descending ? y < x : x < y;
    }
    return a.info.start_time_ms > b.info.start_time_ms;
  });
}

}  // namespace wattlab::cli
