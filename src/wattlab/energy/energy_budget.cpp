#include "wattlab/energy/energy_budget.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace wattlab {

namespace {

// Splits "50 kJ" into 50 and "kJ" (spaces dropped); false when no number leads.
bool split_quantity(const std::string& text, double* value, std::string* unit) {
  const char* begin = text.c_str();
  char* end = nullptr;
  *value = std::strtod(begin, &end);
  if (end == begin) return false;
  unit->clear();
  for (const char* p = end; *p; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p))) unit->push_back(*p);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Unit {
  const char* name;  // as written: "kJ", "MJ", "mJ"
  double factor;
};

// `units` match as written; a unit whose lower-case spelling no other unit
// shares ("kj", "kwh") also matches in any case, but "mj" (mJ or MJ?) does not.
Result<double> parse_quantity(const std::string& text, const std::vector<Unit>& units, const std::string& what,
                              const std::string& accepted) {
  double value = 0;
  std::string unit;
  if (!split_quantity(text, &value, &unit) || !std::isfinite(value)) {
    return Status::invalid_argument(what + " \"" + text + "\" is not a number with a unit (" + accepted + ")");
  }
  const Unit* match = nullptr;
  int same_lower_case = 0;
  for (const auto& u : units) {
    if (unit == u.name) match = &u;
    if (lower(unit) == lower(u.name)) ++same_lower_case;
  }
  if (!match && same_lower_case == 1) {
    for (const auto& u : units)
      if (lower(unit) == lower(u.name)) match = &u;
  }
  if (!match) {
    return Status::invalid_argument(what + " \"" + text + "\": unknown unit \"" + unit + "\" (" + accepted + ")");
  }
  if (!(value > 0)) return Status::invalid_argument(what + " \"" + text + "\" must be more than zero");
  return value * match->factor;
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
                        {{"", 1.0}, {"J", 1.0}, {"mJ", 1e-3}, {"kJ", 1e3}, {"MJ", 1e6}, {"GJ", 1e9}, {"Wh", 3600.0},
                         {"kWh", 3.6e6}, {"MWh", 3.6e9}},
                        "energy budget", "J, mJ, kJ, MJ, GJ, Wh, kWh or MWh; e.g. 50kJ");
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

std::string EnergyBudget::after_epoch(int epoch, double used_j, std::optional<double> next_epoch_j) const {
  if (!limit_j_ || epoch < 1) return "";
  const double next_j = next_epoch_j.value_or(used_j / epoch);
  if (used_j + next_j <= *limit_j_) return "";
  return "energy budget at epoch " + std::to_string(epoch) + ": " + format_energy(used_j) + " used, the next epoch " +
         "would take about " + format_energy(next_j) + (next_epoch_j ? " (projected from the stable epochs)" : "") +
         ", over the " + limit_text_ + " budget";
}

std::string EnergyBudget::before_batch(int epoch, const std::string& phase, int64_t images_done,
                                       int64_t images_total, double used_j, double next_j) const {
  if (!limit_j_ || used_j + next_j <= *limit_j_) return "";
  return "energy budget in epoch " + std::to_string(epoch) + " (" + phase + ", " + std::to_string(images_done) +
         " of " + std::to_string(images_total) + " images): " + format_energy(used_j) +
         " used, the next batch would take about " + format_energy(next_j) + ", over the " + limit_text_ + " budget";
}

}  // namespace wattlab
