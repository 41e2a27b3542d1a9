#include "wattlab/cli/emissions_csv.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "wattlab/cli/run_view.h"
#include "wattlab/cli/table.h"

namespace wattlab::cli {

const std::vector<std::string>& codecarbon_columns() {
  static const std::vector<std::string> kColumns = {
      "timestamp",       "project_name",     "run_id",      "experiment_id",  "duration",
      "emissions",       "emissions_rate",   "cpu_power",   "gpu_power",      "ram_power",
      "cpu_energy",      "gpu_energy",       "ram_energy",  "energy_consumed", "country_name",
      "country_iso_code", "region",          "cloud_provider", "cloud_region", "os",
      "python_version",  "codecarbon_version", "cpu_count", "cpu_model",      "gpu_count",
      "gpu_model",       "longitude",        "latitude",    "ram_total_size", "tracking_mode",
      "on_cloud",        "pue"};
  return kColumns;
}

namespace {

// The shortest text that reads back as `value` (as Python's repr, which
// CodeCarbon's CSV holds); empty for NaN.
std::string number(double value) { return std::isfinite(value) ? nlohmann::json(value).dump() : ""; }

std::string as_uuid(const std::string& id) {
  if (id.size() != 32) return id;
  return id.substr(0, 8) + "-" + id.substr(8, 4) + "-" + id.substr(12, 4) + "-" + id.substr(16, 4) + "-" + id.substr(20);
}

struct Location {
  std::string country_name, country_iso_code, cloud_provider, cloud_region;
};

// From carbon.h's source texts: "FRA (France, 2023; OWID via CodeCarbon)",
// "gcp:europe-west1 (St. Ghislain, BEL; CodeCarbon)"; anything else (a
// number, the world average) names no place.
Location location_of(const std::string& source) {
  Location out;
  const size_t paren = source.find(" (");
  if (paren == std::string::npos) return out;
  const std::string head = source.substr(0, paren);
  const size_t close = source.find(';', paren);
  if (close == std::string::npos) return out;
  const std::string inside = source.substr(paren + 2, close - paren - 2);
  const size_t colon = head.find(':');
  if (colon != std::string::npos) {
    out.cloud_provider = head.substr(0, colon);
    out.cloud_region = head.substr(colon + 1);
    const size_t comma = inside.rfind(", ");
    if (comma != std::string::npos) out.country_iso_code = inside.substr(comma + 2);
    return out;
  }
  if (head.size() != 3) return out;
  out.country_iso_code = head;
  out.country_name = inside.substr(0, inside.find(','));
  return out;
}

std::string param(const RunData& run, const std::string& key) {
  auto it = run.params.find(key);
  return it == run.params.end() ? "" : it->second;
}

std::string environment(const RunData& run, const std::string& key) {
  auto it = run.environment.find(key);
  return it == run.environment.end() ? "" : it->second;
}

}  // namespace

std::vector<std::string> codecarbon_row(const RunData& run, const std::string& experiment_name) {
  // The whole run's window: "run", else the longest.
  const EnergyWindow* whole = nullptr;
  for (const auto& w : run.energy_windows) {
    if (w.name == "run") {
      whole = &w;
      break;
    }
    if (!whole || w.duration_s > whole->duration_s) whole = &w;
  }
  double cpu_j = NAN, gpu_j = NAN, ram_j = NAN;
  int gpu_domains = 0;
  if (whole) {
    cpu_j = gpu_j = ram_j = 0;
    for (const auto& d : whole->domains) {
      if (!d.counts_in_total) continue;
      if (d.name.rfind("gpu", 0) == 0) {
        gpu_j += d.energy_j;
        ++gpu_domains;
      } else if (d.name.rfind("dram", 0) == 0 || d.name.rfind("ram", 0) == 0) {
        ram_j += d.energy_j;
      } else {
        cpu_j += d.energy_j;
      }
    }
  }
  const double duration_s = std::isfinite(metric_or_nan(run, "duration_s")) || !whole ? duration_s_of(run)
                                                                                    : whole->duration_s;
  const double energy_j = metric_or_nan(run, "energy_j");
  const double emissions_kg = metric_or_nan(run, "co2e_g") / 1000.0;
  auto power_w = [&](double j) { return duration_s > 0 ? j / duration_s : NAN; };
  auto kwh = [](double j) { return j / 3.6e6; };
  const Location where = location_of(param(run, "carbon_source"));
  std::string gpu_count = environment(run, "gpu_count");
  if (gpu_count.empty() && whole) gpu_count = std::to_string(gpu_domains);
  const std::string pue = param(run, "pue");

  return {format_timestamp_ms(run.info.end_time_ms.value_or(run.info.start_time_ms), "%Y-%m-%dT%H:%M:%S"),
          experiment_name,
          as_uuid(run.info.run_id),
          run.info.experiment_id,
          number(duration_s),
          number(emissions_kg),
          number(duration_s > 0 ? emissions_kg / duration_s : NAN),
          number(power_w(cpu_j)),
          number(power_w(gpu_j)),
          number(power_w(ram_j)),
          number(kwh(cpu_j)),
          number(kwh(gpu_j)),
          number(kwh(ram_j)),
          number(kwh(energy_j)),
          where.country_name,
          where.country_iso_code,
          "",
          where.cloud_provider,
          where.cloud_region,
          environment(run, "os"),
          "",
          "",
          environment(run, "cpu_count"),
          environment(run, "cpu_model"),
          gpu_count,
          environment(run, "gpu_model"),
          "",
          "",
          environment(run, "ram_gib"),
          "machine",
          where.cloud_provider.empty() ? "N" : "Y",
          pue.empty() ? "1" : pue};
}

}  // namespace wattlab::cli
