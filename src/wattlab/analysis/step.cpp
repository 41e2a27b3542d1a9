#include "wattlab/analysis/step.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "wattlab/analysis/matrix_profile.h"

namespace wattlab {

namespace {

// The timeline averaged into `bins` equal bins of [from_ms, to_ms], each
// sample spread over the interval it covers (from the previous sample's
// timestamp; the first one as wide as the second). Bins no sample reaches
// take the previous bin's value.
std::vector<double> bin_power(std::span<const PowerPoint> power, int64_t from_ms, int64_t to_ms, size_t bins) {
  const double width = static_cast<double>(to_ms - from_ms) / static_cast<double>(bins);
  std::vector<double> energy(bins, 0.0), covered(bins, 0.0);
  for (size_t p = 0; p < power.size(); ++p) {
    const double end = static_cast<double>(power[p].timestamp_ms - from_ms);
    const double span = p > 0 ? static_cast<double>(power[p].timestamp_ms - power[p - 1].timestamp_ms)
                        : (power.size() > 1 ? static_cast<double>(power[1].timestamp_ms - power[0].timestamp_ms) : width);
    double start = end - span;
    if (end <= 0 || start >= width * static_cast<double>(bins) || !std::isfinite(power[p].power_w)) continue;
    start = std::max(start, 0.0);
    for (size_t b = static_cast<size_t>(start / width); b < bins && width * static_cast<double>(b) < end; ++b) {
      const double lo = std::max(start, width * static_cast<double>(b));
      const double hi = std::min(end, width * static_cast<double>(b + 1));
      if (hi <= lo) continue;
      energy[b] += power[p].power_w * (hi - lo);
      covered[b] += hi - lo;
    }
  }
  std::vector<double> series(bins);
  double last = NAN;
  for (size_t b = 0; b < bins; ++b) {
    if (covered[b] > 0) last = energy[b] / covered[b];
    series[b] = last;
  }
  // Leading bins before the first sample take the first value seen.
  auto first = std::find_if(series.begin(), series.end(), [](double v) { return std::isfinite(v); });
  if (first == series.end()) return {};
  std::fill(series.begin(), first, *first);
  return series;
}

struct RegimeSearch {
  bool used = false;  // FLUSS ran (else `note` says why not)
  int candidate = 1;  // first epoch at or after the regime change
  std::string note;
  std::optional<int64_t> change_ms;
};

RegimeSearch find_regime_change(std::span<const EpochEnergy> epochs, std::span<const PowerPoint> power,
                                const StepOptions& o) {
  RegimeSearch r;
  if (power.size() < 2) {
    r.note = "no power timeline; FLUSS needs one";
    return r;
  }
  const bool timed = std::all_of(epochs.begin(), epochs.end(), [](const EpochEnergy& e) { return e.end_ms > e.start_ms; });
  if (!timed) {
    r.note = "the epochs carry no timestamps; FLUSS needs them";
    return r;
  }
  const int64_t from_ms = epochs.front().start_ms;
  if (power.front().timestamp_ms > epochs.front().end_ms) {
    r.note = "the power timeline starts after epoch 1 (a resumed run); FLUSS needs the whole run";
    return r;
  }
  // Samples are taken every interval, so the last one falls a little before
  // an epoch's end: an epoch counts as covered when the timeline reaches to
  // within two sampling intervals (the median of the latest gaps) of its end.
  std::vector<int64_t> gaps;
  for (size_t i = power.size() - 1; i > 0 && gaps.size() < 16; --i) {
    gaps.push_back(power[i].timestamp_ms - power[i - 1].timestamp_ms);
  }
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  const int64_t timeline_end_ms = power.back().timestamp_ms + 2 * gaps[gaps.size() / 2];
  int covered = 0;
  for (const EpochEnergy& e : epochs) covered += e.end_ms <= timeline_end_ms ? 1 : 0;
  char buf[160];
  if (covered < o.min_profile_epochs) {
    std::snprintf(buf, sizeof buf, "the power timeline covers %d epoch%s; FLUSS needs %d", covered,
                  covered == 1 ? "" : "s", o.min_profile_epochs);
    r.note = buf;
    return r;
  }
  const int64_t to_ms = epochs[static_cast<size_t>(covered) - 1].end_ms;
  size_t in_range = 0;
  for (const PowerPoint& p : power) in_range += (p.timestamp_ms > from_ms && p.timestamp_ms <= to_ms) ? 1 : 0;
  const size_t bins = std::min(in_range, o.max_profile_points);
  const size_t window = std::max<size_t>(
      2, static_cast<size_t>(std::lround(static_cast<double>(bins) / covered / std::max(o.subsequences_per_epoch, 1))));
  const size_t edge = window * o.exclusion_factor;
  if (bins < window + matrix_profile_exclusion_zone(window) + 1 || bins < window + 2 * edge + 2) {
    std::snprintf(buf, sizeof buf, "the power timeline has %zu samples over %d epochs; FLUSS needs more", in_range,
                  covered);
    r.note = buf;
    return r;
  }
  std::vector<double> series = bin_power(power, from_ms, to_ms, bins);
  auto profile = compute_matrix_profile(series, window);
  if (!profile.ok()) {
    r.note = profile.status().message();
    return r;
  }
  r.used = true;
  const std::vector<double> cac = corrected_arc_curve(profile->index, window, o.exclusion_factor);
  const size_t at = regime_change_locations(cac, 2, window, o.exclusion_factor).front();
  if (cac[at] >= o.regime_change_cac) {
    std::snprintf(buf, sizeof buf, "FLUSS: no regime change (lowest arc curve %.2f)", cac[at]);
    r.note = buf;
    return r;
  }
  const double bin_ms = static_cast<double>(to_ms - from_ms) / static_cast<double>(bins);
  const int64_t change_ms = from_ms + static_cast<int64_t>(std::llround(bin_ms * static_cast<double>(at)));
  const int64_t slack_ms = static_cast<int64_t>(std::llround(bin_ms * static_cast<double>(window)));
  r.change_ms = change_ms;
  r.candidate = static_cast<int>(epochs.size()) + 1;
  int change_epoch = static_cast<int>(epochs.size());
  for (const EpochEnergy& e : epochs) {
    if (e.start_ms >= change_ms - slack_ms) {
      r.candidate = e.epoch;
      break;
    }
  }
  for (const EpochEnergy& e : epochs) {
    if (change_ms < e.end_ms) {
      change_epoch = e.epoch;
      break;
    }
  }
  std::snprintf(buf, sizeof buf, "FLUSS: regime change in epoch %d (arc curve %.2f)", change_epoch, cac[at]);
  r.note = buf;
  return r;
}

// Whether the energies of epochs [first, last] (0-based indices) spread by at
// most `tolerance` of their mean (max − min ≤ tolerance × mean).
bool within_tolerance(std::span<const EpochEnergy> epochs, size_t first, size_t last, double tolerance) {
  double mean = 0, low = INFINITY, high = -INFINITY;
  for (size_t i = first; i <= last; ++i) {
    mean += epochs[i].energy_j;
    low = std::min(low, epochs[i].energy_j);
    high = std::max(high, epochs[i].energy_j);
  }
  mean /= static_cast<double>(last - first + 1);
  return high - low <= tolerance * mean;
}

Status check_figures(const EpochEnergy& e) {
  if (!std::isfinite(e.energy_j) || e.energy_j < 0 || !std::isfinite(e.duration_s) || e.duration_s < 0) {
    return Status::invalid_argument("STEP: epoch " + std::to_string(e.epoch) +
                                    " has a negative or non-finite energy or duration");
  }
  return Status();
}

Status check_epochs(std::span<const EpochEnergy> epochs) {
  for (size_t i = 0; i < epochs.size(); ++i) {
    if (epochs[i].epoch != static_cast<int>(i) + 1) {
      return Status::invalid_argument("STEP: epochs must be numbered 1, 2, ... in order (got epoch " +
                                      std::to_string(epochs[i].epoch) + " in place " + std::to_string(i + 1) + ")");
    }
    WATTLAB_RETURN_IF_ERROR(check_figures(epochs[i]));
  }
  return Status();
}

}  // namespace

const char* stability_method_name(StabilityMethod method) {
  return method == StabilityMethod::kMatrixProfile ? "matrix profile (FLUSS)" : "epoch energies (fallback)";
}

Stabilisation detect_stabilisation(std::span<const EpochEnergy> epochs, std::span<const PowerPoint> power,
                                   const StepOptions& options) {
  Stabilisation s;
  if (epochs.empty()) {
    s.note = "no epoch yet";
    return s;
  }
  const RegimeSearch regime = find_regime_change(epochs, power, options);
  s.method = regime.used ? StabilityMethod::kMatrixProfile : StabilityMethod::kEpochEnergy;
  s.note = regime.note;
  s.regime_change_ms = regime.change_ms;
  const size_t n = epochs.size();
  const size_t window = static_cast<size_t>(std::max(options.window_epochs, 1));
  const size_t needed = static_cast<size_t>(std::max(options.min_stable_epochs, 1));
  for (size_t k = static_cast<size_t>(regime.candidate) - 1; k < n; ++k) {
    const size_t last = std::min(k + window, n) - 1;
    if (last - k + 1 < needed) break;
    if (within_tolerance(epochs, k, last, options.tolerance)) {
      s.stable = true;
      s.stable_epoch = static_cast<int>(k) + 1;
      break;
    }
  }
  return s;
}

Result<StepProjection> project_step(std::span<const EpochEnergy> epochs, std::span<const PowerPoint> power,
                                    int total_epochs, std::optional<RunSoFar> so_far, const StepOptions& options) {
  if (epochs.empty()) return Status::invalid_argument("STEP: no epoch to project from yet");
  WATTLAB_RETURN_IF_ERROR(check_epochs(epochs));
  const int e = static_cast<int>(epochs.size());
  if (total_epochs < e) {
    return Status::invalid_argument("STEP: " + std::to_string(e) + " epochs ran but the run has only " +
                                    std::to_string(total_epochs));
  }
  StepProjection p;
  p.made_at_epoch = e;
  p.total_epochs = total_epochs;
  p.stabilisation = detect_stabilisation(epochs, power, options);
  p.window_last_epoch = e;
  // The latest window_epochs epochs: of the stable stretch, or, before there
  // is one, all but epoch 1 (which holds the warm-up) once there are two.
  const int first_usable = p.stabilisation.stable ? p.stabilisation.stable_epoch : std::min(e, 2);
  p.window_first_epoch = std::max(first_usable, e - std::max(options.window_epochs, 1) + 1);
  double energy = 0, duration = 0, low = INFINITY, high = 0;
  for (int k = p.window_first_epoch; k <= e; ++k) {
    const EpochEnergy& epoch = epochs[static_cast<size_t>(k) - 1];
    energy += epoch.energy_j;
    duration += epoch.duration_s;
    low = std::min(low, epoch.energy_j);
    high = std::max(high, epoch.energy_j);
  }
  const double count = static_cast<double>(e - p.window_first_epoch + 1);
  p.energy_per_epoch_j = energy / count;
  RunSoFar measured;
  if (so_far) {
    measured = *so_far;
  } else {
    for (const EpochEnergy& epoch : epochs) {
      measured.energy_j += epoch.energy_j;
      measured.duration_s += epoch.duration_s;
    }
  }
  const double remaining = static_cast<double>(total_epochs - e);
  p.energy_j = measured.energy_j + p.energy_per_epoch_j * remaining;
  p.energy_low_j = measured.energy_j + low * remaining;
  p.energy_high_j = measured.energy_j + high * remaining;
  p.remaining_energy_j = p.energy_per_epoch_j * remaining;
  p.remaining_duration_s = duration / count * remaining;
  p.duration_s = measured.duration_s + p.remaining_duration_s;
  auto carbon = estimate_carbon(p.energy_j, options.intensity, options.pue);
  p.co2e_g = carbon.ok() ? carbon->co2e_g : NAN;
  return p;
}

StepProjector::StepProjector(int total_epochs, StepOptions options)
    : total_epochs_(total_epochs), options_(std::move(options)) {}

Status StepProjector::add_epoch(const EpochEnergy& epoch) {
  if (epoch.epoch != epochs() + 1) {
    return Status::invalid_argument("STEP: expected epoch " + std::to_string(epochs() + 1) + ", got " +
                                    std::to_string(epoch.epoch));
  }
  WATTLAB_RETURN_IF_ERROR(check_figures(epoch));
  epochs_.push_back(epoch);
  return Status();
}

void StepProjector::add_power(std::span<const PowerPoint> points) { power_.insert(power_.end(), points.begin(), points.end()); }

Result<StepProjection> StepProjector::project() const {
  return project_step(epochs_, power_, std::max(total_epochs_, epochs()), so_far_, options_);
}

std::vector<EpochEnergy> epochs_of_run(const RunData& run) {
  // epoch -> phase -> window (a later window of the same phase replaces an earlier one)
  std::map<int, std::map<std::string, const EnergyWindow*>> phases;
  for (const EnergyWindow& w : run.energy_windows) {
    int epoch = 0;
    char phase[32] = {0};
    if (std::sscanf(w.name.c_str(), "epoch-%d/%31s", &epoch, phase) != 2 || epoch < 1) continue;
    const std::string name = phase;
    if (name != "train" && name != "validate" && name != "eval") continue;
    phases[epoch][name] = &w;
  }
  std::vector<EpochEnergy> epochs;
  for (const auto& [number, windows] : phases) {
    if (number != static_cast<int>(epochs.size()) + 1) break;  // a gap: the rest cannot be placed
    EpochEnergy e;
    e.epoch = number;
    e.start_ms = INT64_MAX;
    for (const auto& [name, w] : windows) {
      e.energy_j += w->energy_j();
      e.duration_s += w->duration_s;
      e.start_ms = std::min(e.start_ms, w->start_ms);
      e.end_ms = std::max(e.end_ms, w->end_ms);
    }
    epochs.push_back(e);
  }
  return epochs;
}

std::vector<PowerPoint> total_power_of_run(const RunData& run, const PowerTimeline& timeline) {
  std::set<std::string> counted;
  for (const EnergyWindow& w : run.energy_windows) {
    if (w.name != "run") continue;
    for (const DomainEnergy& d : w.domains) {
      if (d.counts_in_total) counted.insert(d.name);
    }
  }
  std::vector<bool> use(timeline.domains.size());
  for (size_t i = 0; i < use.size(); ++i) use[i] = counted.empty() || counted.count(timeline.domains[i]) > 0;
  std::vector<PowerPoint> points;
  points.reserve(timeline.samples.size());
  for (const PowerSample& s : timeline.samples) {
    double total = 0;
    bool any = false;
    for (size_t i = 0; i < s.power_w.size() && i < use.size(); ++i) {
      if (use[i] && std::isfinite(s.power_w[i])) {
        total += s.power_w[i];
        any = true;
      }
    }
    if (any) points.push_back({s.timestamp_ms, total});
  }
  return points;
}

Result<StepProjection> project_stored_run(const RunData& run, const PowerTimeline& timeline, int at_epoch,
                                          const StepOptions& options) {
  int total_epochs = 0;
  for (const auto* source : {&run.tags, &run.params}) {
    auto it = source->find(source == &run.tags ? "wattlab.epochs" : "epochs");
    if (it != source->end() && total_epochs == 0) total_epochs = std::atoi(it->second.c_str());
  }
  if (total_epochs < 1) {
    return Status::invalid_argument("run " + run.info.run_id + " records no epoch count (tag wattlab.epochs or param "
                                    "epochs), so STEP cannot project it");
  }
  std::vector<EpochEnergy> epochs = epochs_of_run(run);
  if (at_epoch < 1 || static_cast<int>(epochs.size()) < at_epoch) {
    return Status::invalid_argument("run " + run.info.run_id + " has " + std::to_string(epochs.size()) +
                                    " epochs with energy windows; cannot project from epoch " +
                                    std::to_string(at_epoch));
  }
  epochs.resize(static_cast<size_t>(at_epoch));
  std::vector<PowerPoint> power = total_power_of_run(run, timeline);
  const int64_t end_ms = epochs.back().end_ms;
  std::erase_if(power, [&](const PowerPoint& p) { return p.timestamp_ms > end_ms; });
  // The set-up before epoch 1: from the run's start, its time, and its energy from the timeline.
  RunSoFar so_far;
  const int64_t setup_end_ms = epochs.front().start_ms;
  for (size_t i = 0; i < power.size(); ++i) {
    const int64_t from = i > 0 ? power[i - 1].timestamp_ms : run.info.start_time_ms;
    const int64_t to = std::min(power[i].timestamp_ms, setup_end_ms);
    if (to > from) so_far.energy_j += power[i].power_w * static_cast<double>(to - from) / 1000.0;
  }
  so_far.duration_s = std::max<double>(0, static_cast<double>(setup_end_ms - run.info.start_time_ms) / 1000.0);
  for (const EpochEnergy& e : epochs) {
    so_far.energy_j += e.energy_j;
    so_far.duration_s += e.duration_s;
  }
  return project_step(epochs, power, std::max(total_epochs, at_epoch), so_far, options);
}

}  // namespace wattlab
