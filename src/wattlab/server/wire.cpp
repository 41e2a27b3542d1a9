#include "wattlab/server/wire.h"

#include <cmath>
#include <limits>

namespace wattlab {

using json = nlohmann::json;

namespace {

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }

Status bad_field(const std::string& what, const std::string& field, const std::string& expected) {
  return Status::invalid_argument(what + ": field '" + field + "' must be " + expected);
}

}  // namespace

json metric_value_to_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

json energy_window_to_json(const EnergyWindow& w) {
  json domains = json::array();
  for (const auto& d : w.domains) {
    domains.push_back({{"name", d.name},
                       {"energy_j", finite_or_null(d.energy_j)},
                       {"estimated", d.estimated},
                       {"counts_in_total", d.counts_in_total}});
  }
  return {{"name", w.name},
          {"start_ms", w.start_ms},
          {"end_ms", w.end_ms},
          {"duration_s", finite_or_null(w.duration_s)},
          {"energy_j", finite_or_null(w.energy_j())},
          {"estimated", w.estimated()},
          {"domains", domains}};
}

Result<EnergyWindow> energy_window_from_json(const json& j) {
  const std::string what = "energy window";
  if (!j.is_object()) return Status::invalid_argument(what + " must be a JSON object");
  EnergyWindow w;
  if (!j.contains("name") || !j["name"].is_string()) return bad_field(what, "name", "a string");
  w.name = j["name"].get<std::string>();
  for (const char* field : {"start_ms", "end_ms"}) {
    if (!j.contains(field) || !j[field].is_number_integer()) return bad_field(what, field, "an integer (ms)");
  }
  w.start_ms = j["start_ms"].get<int64_t>();
  w.end_ms = j["end_ms"].get<int64_t>();
  if (j.contains("duration_s") && j["duration_s"].is_number()) {
    w.duration_s = j["duration_s"].get<double>();
  } else if (j.contains("duration_s") && !j["duration_s"].is_null()) {
    return bad_field(what, "duration_s", "a number of seconds");
  } else {
    w.duration_s = std::numeric_limits<double>::quiet_NaN();
  }
  if (!j.contains("domains") || !j["domains"].is_array()) return bad_field(what, "domains", "an array");
  for (const auto& d : j["domains"]) {
    if (!d.is_object() || !d.contains("name") || !d["name"].is_string()) {
      return bad_field(what, "domains[].name", "a string");
    }
    DomainEnergy domain;
    domain.name = d["name"].get<std::string>();
    if (d.contains("energy_j") && d["energy_j"].is_number()) {
      domain.energy_j = d["energy_j"].get<double>();
    } else if (d.contains("energy_j") && !d["energy_j"].is_null()) {
      return bad_field(what, "domains[].energy_j", "a number of joules");
    } else {
      domain.energy_j = std::numeric_limits<double>::quiet_NaN();
    }
    if (d.contains("estimated") && !d["estimated"].is_boolean()) return bad_field(what, "domains[].estimated", "true or false");
    if (d.contains("counts_in_total") && !d["counts_in_total"].is_boolean()) {
      return bad_field(what, "domains[].counts_in_total", "true or false");
    }
    domain.estimated = d.value("estimated", false);
    domain.counts_in_total = d.value("counts_in_total", true);
    w.domains.push_back(std::move(domain));
  }
  return w;
}

json power_sample_to_json(const PowerSample& sample) {
  json power = json::array();
  for (double w : sample.power_w) power.push_back(finite_or_null(w));
  return {{"timestamp_ms", sample.timestamp_ms}, {"power_w", power}};
}

Result<PowerSample> power_sample_from_json(const json& j) {
  const std::string what = "power sample";
  if (!j.is_object()) return Status::invalid_argument(what + " must be a JSON object");
  if (!j.contains("timestamp_ms") || !j["timestamp_ms"].is_number_integer()) {
    return bad_field(what, "timestamp_ms", "an integer (ms)");
  }
  if (!j.contains("power_w") || !j["power_w"].is_array()) return bad_field(what, "power_w", "an array of watts");
  PowerSample sample;
  sample.timestamp_ms = j["timestamp_ms"].get<int64_t>();
  for (const auto& w : j["power_w"]) {
    if (w.is_null()) {
      sample.power_w.push_back(std::numeric_limits<double>::quiet_NaN());
    } else if (w.is_number()) {
      sample.power_w.push_back(w.get<double>());
    } else {
      return bad_field(what, "power_w[]", "numbers of watts or null");
    }
  }
  return sample;
}

}  // namespace wattlab
