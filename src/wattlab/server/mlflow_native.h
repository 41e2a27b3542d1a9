// How wattlab's own facts travel through a plain MLflow server (one without
// wattlab's endpoints, ServerKind::kMlflow), so that wattlab can be the
// energy meter of a team's existing MLflow:
//
//   environment    tags "wattlab.env.<key>" (values cut to MLflow's 5000
//                  bytes) and the artifact wattlab/environment.json (whole)
//   energy windows metrics "energy/<window>/energy_j", ".../duration_s" and
//                  ".../<domain>_j" (step 0, stamped with the window's end),
//                  and the artifact wattlab/energy_windows.json (every window
//                  in wattlab's wire shape, server/wire.h)
//   power timeline MLflow's system metrics, which its UI charts: a GPU as
//                  "system/gpu_<N>_power_usage_watts" (MLflow's own name),
//                  any other domain as "system/<domain>_power_watts" ('-' and
//                  '/' become '_'); step = the sample's index in the run,
//                  timestamp = the sample's; the tag wattlab.power_domains
//                  maps each metric back to its domain (JSON object)
//
// Pure functions: RestRunLogger writes with them, RestRunCatalog reads back
// with the inverses.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"
#include "wattlab/track/entities.h"

namespace wattlab {

inline constexpr const char* kEnvironmentArtifact = "wattlab/environment.json";
inline constexpr const char* kEnergyWindowsArtifact = "wattlab/energy_windows.json";
inline constexpr const char* kEnvironmentTagPrefix = "wattlab.env.";
inline constexpr const char* kPowerDomainsTag = "wattlab.power_domains";

// `text` as a metric-key part MLflow accepts: characters other than letters,
// digits, '_', '-', '.', ' ' and '/' become '_'; empty segments ("//", a
// leading or trailing '/') are dropped.
std::string mlflow_metric_key(const std::string& text);

// The system-metric name of a power domain ("gpu-0" ->
// "system/gpu_0_power_usage_watts", "package-0" -> "system/package_0_power_watts").
std::string power_metric_name(const std::string& domain);

// The metrics of one energy window (see above).
std::vector<Metric> energy_window_metrics(const EnergyWindow& window);
// The power samples as system metrics, steps from `first_step`; NaN power is
// left out (MLflow would chart it as a gap anyway).
std::vector<Metric> power_sample_metrics(const std::vector<std::string>& domains,
                                         const std::vector<PowerSample>& samples, int64_t first_step);
// The wattlab.power_domains tag's value for `domains`.
std::string power_domains_tag(const std::vector<std::string>& domains);
// The timeline back from the tag's value and each metric's history (by
// metric name): samples by step, in step order, NaN where a domain has no
// point at a step. Corrupt when the tag is not a JSON object of strings.
Result<PowerTimeline> power_timeline_from_metrics(const std::string& power_domains_tag,
                                                  const std::map<std::string, std::vector<Metric>>& histories);
// The environment as tags.
std::vector<RunTag> environment_tags(const std::map<std::string, std::string>& environment);
// The inverse of environment_tags over a run's tags (cut values stay cut).
std::map<std::string, std::string> environment_from_tags(const std::map<std::string, std::string>& tags);

// wattlab/energy_windows.json's text / parse; Corrupt naming the artifact.
std::string energy_windows_json(const std::vector<EnergyWindow>& windows);
Result<std::vector<EnergyWindow>> parse_energy_windows_json(const std::string& text);

// The note wattlab prints once when it logs to such a server at `uri`.
std::string mlflow_native_note(const std::string& uri);

}  // namespace wattlab
