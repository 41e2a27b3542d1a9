#include "wattlab/run/run_projection.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wattlab {

namespace {

StepOptions step_options(const EnergyBudgetOptions& budget) {
  StepOptions o;
  o.intensity = budget.intensity;
  o.pue = budget.pue;
  return o;
}

// "80.1 kJ"
std::string energy_text(double energy_j) {
  char buf[32];
  if (energy_j >= 1e6) std::snprintf(buf, sizeof buf, "%.3g MJ", energy_j / 1e6);
  else if (energy_j >= 1e3) std::snprintf(buf, sizeof buf, "%.3g kJ", energy_j / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g J", energy_j);
  return buf;
}

}  // namespace

RunProjection::RunProjection(int epochs, const EnergyBudgetOptions& budget, const std::vector<EnergyDomain>& domains,
                             const std::optional<RunData>& resumed)
    : projector_(epochs, step_options(budget)), budget_(budget) {
  for (const EnergyDomain& d : domains) counted_.push_back(d.counts_in_total);
  if (resumed) {
    for (const EpochEnergy& e : epochs_of_run(*resumed)) broken_ |= !projector_.add_epoch(e).ok();
  }
}

void RunProjection::on_window(const EnergyWindow& window) {
  int epoch = 0;
  if (std::sscanf(window.name.c_str(), "epoch-%d/", &epoch) != 1 || epoch < 1) return;
  if (epoch != current_.epoch) current_ = {epoch, 0, 0, window.start_ms, window.end_ms};
  current_.energy_j += window.energy_j();
  current_.duration_s += window.duration_s;
  current_.start_ms = std::min(current_.start_ms, window.start_ms);
  current_.end_ms = std::max(current_.end_ms, window.end_ms);
}

void RunProjection::on_power(const std::vector<PowerSample>& samples) {
  std::vector<PowerPoint> points;
  for (const PowerSample& s : samples) {
    double total = 0;
    bool any = false;
    for (size_t i = 0; i < s.power_w.size() && i < counted_.size(); ++i) {
      if (counted_[i] && std::isfinite(s.power_w[i])) {
        total += s.power_w[i];
        any = true;
      }
    }
    if (any) points.push_back({s.timestamp_ms, total});
  }
  projector_.add_power(points);
}

std::optional<StepProjection> RunProjection::on_epoch_end(int epoch) {
  latest_.reset();
  if (broken_ || current_.epoch != epoch || !projector_.add_epoch(current_).ok()) {
    broken_ = true;
    return std::nullopt;
  }
  auto p = projector_.project();
  if (!p.ok() || !p->stabilisation.stable) return std::nullopt;
  latest_ = *p;
  return latest_;
}

std::vector<std::pair<std::string, double>> RunProjection::metrics(const StepProjection& p) {
  std::vector<std::pair<std::string, double>> out = {{"projected_energy_j", p.energy_j},
                                                     {"projected_duration_s", p.duration_s},
                                                     {"projected_remaining_energy_j", p.remaining_energy_j},
                                                     {"projected_remaining_s", p.remaining_duration_s}};
  if (std::isfinite(p.co2e_g)) out.push_back({"projected_co2e_g", p.co2e_g});
  return out;
}

std::string RunProjection::budget_stop_reason(int epoch, double used_j) const {
  return budget_.after_epoch(epoch, used_j,
                             latest_ ? std::optional<double>(latest_->energy_per_epoch_j) : std::nullopt);
}

std::string RunProjection::budget_note() {
  if (noted_ || !latest_ || !budget_.enabled() || latest_->energy_j <= *budget_.limit_j()) return "";
  noted_ = true;
  return "STEP projects " + energy_text(latest_->energy_j) + " for the " + std::to_string(latest_->total_epochs) +
         " epochs, over the " + energy_text(*budget_.limit_j()) + " budget: the run will stop before it exceeds it";
}

}  // namespace wattlab
