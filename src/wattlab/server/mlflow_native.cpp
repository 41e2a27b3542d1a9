#include "wattlab/server/mlflow_native.h"

#include <cctype>
#include <algorithm>
#include <cmath>

#include "wattlab/server/wire.h"

namespace wattlab {

using json = nlohmann::json;

std::string mlflow_metric_key(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    const bool allowed = std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ' ' || c == '/';
    if (c == '/' && (out.empty() || out.back() == '/')) continue;  // no empty segment
    out += allowed ? static_cast<char>(c) : '_';
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

namespace {

// A domain's name as one metric-key segment: "package-0/core" -> "package_0_core".
std::string domain_key(const std::string& domain) {
  std::string key;
  for (char c : mlflow_metric_key(domain)) key += c == '-' || c == '/' || c == ' ' ? '_' : c;
  return key;
}

}  // namespace

std::string power_metric_name(const std::string& domain) {
  const std::string key = domain_key(domain);
  const bool gpu = key.rfind("gpu_", 0) == 0 && key.size() > 4 && key.find_first_not_of("0123456789", 4) == std::string::npos;
  return "system/" + key + (gpu ? "_power_usage_watts" : "_power_watts");
}

std::vector<Metric> energy_window_metrics(const EnergyWindow& window) {
  const std::string name = mlflow_metric_key(window.name);
  const std::string prefix = "energy/" + (name.empty() ? "unnamed" : name) + "/";
  std::vector<Metric> out = {{prefix + "energy_j", window.energy_j(), window.end_ms, 0},
                             {prefix + "duration_s", window.duration_s, window.end_ms, 0}};
  for (const auto& d : window.domains) out.push_back({prefix + domain_key(d.name) + "_j", d.energy_j, window.end_ms, 0});
  return out;
}

std::vector<Metric> power_sample_metrics(const std::vector<std::string>& domains,
                                         const std::vector<PowerSample>& samples, int64_t first_step) {
  std::vector<std::string> names;
  for (const auto& d : domains) names.push_back(power_metric_name(d));
  std::vector<Metric> out;
  int64_t step = first_step;
  for (const auto& s : samples) {
    for (size_t i = 0; i < names.size() && i < s.power_w.size(); ++i) {
      if (std::isfinite(s.power_w[i])) out.push_back({names[i], s.power_w[i], s.timestamp_ms, step});
    }
    ++step;
  }
  return out;
}

std::string power_domains_tag(const std::vector<std::string>& domains) {
  json map = json::object();
  for (const auto& d : domains) map[power_metric_name(d)] = d;
  return map.dump();
}

Result<PowerTimeline> power_timeline_from_metrics(const std::string& power_domains_tag,
                                                  const std::map<std::string, std::vector<Metric>>& histories) {
  json map = json::parse(power_domains_tag, nullptr, /*allow_exceptions=*/false);
  if (!map.is_object()) return Status::corrupt(std::string("tag ") + kPowerDomainsTag + " is not a JSON object");
  PowerTimeline out;
  std::vector<std::string> metrics;
  for (const auto& [metric, domain] : map.items()) {
    if (!domain.is_string()) return Status::corrupt(std::string("tag ") + kPowerDomainsTag + ": " + metric + " names no domain");
    metrics.push_back(metric);
    out.domains.push_back(domain.get<std::string>());
  }
  std::map<int64_t, PowerSample> by_step;
  for (size_t i = 0; i < metrics.size(); ++i) {
    auto it = histories.find(metrics[i]);
    if (it == histories.end()) continue;
    for (const Metric& m : it->second) {
      PowerSample& s = by_step[m.step];
      if (s.power_w.empty()) s.power_w.assign(metrics.size(), std::nan(""));
      s.timestamp_ms = std::max(s.timestamp_ms, m.timestamp_ms);
      s.power_w[i] = m.value;
    }
  }
  for (auto& [step, sample] : by_step) out.samples.push_back(std::move(sample));
  return out;
}

std::vector<RunTag> environment_tags(const std::map<std::string, std::string>& environment) {
  std::vector<RunTag> out;
  for (const auto& [key, value] : environment) {
    std::string tag_key = kEnvironmentTagPrefix + mlflow_metric_key(key);
    out.push_back({tag_key, value.substr(0, kMaxTagValueLength)});
  }
  return out;
}

std::map<std::string, std::string> environment_from_tags(const std::map<std::string, std::string>& tags) {
  std::map<std::string, std::string> out;
  const std::string prefix = kEnvironmentTagPrefix;
  for (const auto& [key, value] : tags) {
    if (key.rfind(prefix, 0) == 0) out[key.substr(prefix.size())] = value;
  }
  return out;
}

std::string energy_windows_json(const std::vector<EnergyWindow>& windows) {
  json list = json::array();
  for (const auto& w : windows) list.push_back(energy_window_to_json(w));
  return json{{"energy_windows", list}}.dump(2);
}

Result<std::vector<EnergyWindow>> parse_energy_windows_json(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("energy_windows") || !doc["energy_windows"].is_array()) {
    return Status::corrupt(std::string(kEnergyWindowsArtifact) + " is not {\"energy_windows\": [...]}");
  }
  std::vector<EnergyWindow> out;
  for (const json& item : doc["energy_windows"]) {
    auto w = energy_window_from_json(item);
    if (!w.ok()) return Status::corrupt(std::string(kEnergyWindowsArtifact) + ": " + w.status().message());
    out.push_back(std::move(*w));
  }
  return out;
}

std::string mlflow_native_note(const std::string& uri) {
  return uri + " is an MLflow server without wattlab's endpoints, so wattlab logs through MLflow's own API: the "
               "environment as tags wattlab.env.* and " + std::string(kEnvironmentArtifact) +
         ", energy windows as metrics energy/<window>/... and " + kEnergyWindowsArtifact +
         ", the power timeline as system/*_power_* metrics (MLflow's System metrics charts), files through its "
         "artifact proxy";
}

}  // namespace wattlab
