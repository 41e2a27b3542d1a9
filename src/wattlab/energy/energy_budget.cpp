#include "wattlab/energy/energy_budget.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace wattlab {

namespace {

// Splits "50 kJ" into 50 and "kj" (lower case, spaces dropped); false when no
// number leads.
bool split_quantity(const std::string& text, double* value, std::string* unit) {
  const char* begin = text.c_str();
  char* end = nullptr;
  *value = std::strtod(begin, &end);
  if (end == begin) return false;
  unit->clear();
  for (const char* p = end; *p; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p))) unit->push_back(static_cast<char>(std::tolower(*p)));
  }
  return true;
}

Result<double> parse_quantity(const std::string& text, const std::vector<std::pair<std::string, double>>& units,
                              const std::string& what, const std::string& accepted) {
  double value = 0;
  std::string unit;
  if (!split_quantity(text, &value, &unit) || !std::isfinite(value)) {
    return Status::invalid_argument(what + " \"" + text + "\" is not a number with a unit (" + accepted + ")");
  }
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    if (!(value > 0)) return Status::invalid_argument(what + " \"" + text + "\" must be more than zero");
    return value * factor;
  }
  return Status::invalid_argument(what + " \"" + text + "\": unknown unit \"" + unit + "\" (" + accepted + ")");
}

std::string format_energy(double joules) {
  char buf[64];
  if (joules >= 1e6) std::snprintf(buf, sizeof buf, "%.3g MJ", joules / 1e6);
  else if (joules >= 1e3) std::snprintf(buf, sizeof buf, "%.3g kJ", joules / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g J", joules);
  return buf;
}

}  // namespace

Result<double> parse_energy_j(const std::string& text) {
  return parse_quantity(text,
                        {{"", 1.0}, {"j", 1.0}, {"kj", 1e3}, {"mj", 1e6}, {"gj", 1e9}, {"wh", 3600.0},
                         {"kwh", 3.6e6}, {"mwh", 3.6e9}},
                        "energy budget", "J, kJ, MJ, Wh or kWh; e.g. 50kJ");
}

Result<double> parse_carbon_g(const std::string& text) {
  return parse_quantity(text, {{"", 1.0}, {"g", 1.0}, {"kg", 1e3}, {"t", 1e6}}, "carbon budget",
                        "g, kg or t of CO2e; e.g. 10g");
}

EnergyBudget::EnergyBudget(const EnergyBudgetOptions& options) {
  if (options.energy_j) {
    limit_j_ = *options.energy_j;
    limit_text_ = format_energy(*options.energy_j);
  }
  if (options.carbon_g && options.intensity.g_per_kwh > 0 && options.pue > 0) {
    // co2e_g = energy_kwh × intensity × pue, so the energy it allows is:
    const double carbon_limit_j = *options.carbon_g / (options.intensity.g_per_kwh * options.pue) * 3.6e6;
    if (!limit_j_ || carbon_limit_j < *limit_j_) {
      limit_j_ = carbon_limit_j;
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.3g g CO2e (%s at %.0f g/kWh, PUE %.2f)", *options.carbon_g,
                    format_energy(carbon_limit_j).c_str(), options.intensity.g_per_kwh, options.pue);
      limit_text_ = buf;
    }
  }
}

std::string EnergyBudget::after_epoch(int epoch, double used_j) const {
  if (!limit_j_ || epoch < 1) return "";
  const double next_j = used_j / epoch;
  if (used_j + next_j <= *limit_j_) return "";
  return "energy budget at epoch " + std::to_string(epoch) + ": " + format_energy(used_j) + " used, the next epoch " +
         "would take about " + format_energy(next_j) + ", over the " + limit_text_ + " budget";
}

}  // namespace wattlab
