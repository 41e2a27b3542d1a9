#include "wattlab/energy/monitor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <system_error>

namespace wattlab {

Result<std::unique_ptr<Monitor>> Monitor::create(Env& env, std::vector<std::unique_ptr<Meter>> meters,
                                                 MonitorOptions options) {
  if (!(options.interval_ms >= 1)) {
    return Status::invalid_argument("monitor: interval_ms must be at least 1, got " +
                                    std::to_string(options.interval_ms));
  }
  if (options.ring_capacity == 0) return Status::invalid_argument("monitor: ring_capacity must be at least 1");
  if (meters.empty()) return Status::invalid_argument("monitor: no meters to sample");
  std::vector<EnergyDomain> domains;
  std::set<std::string> names;
  for (const auto& meter : meters) {
    if (!meter) return Status::invalid_argument("monitor: null meter");
    for (const EnergyDomain& domain : meter->domains()) {
      if (!names.insert(domain.name).second) {
        return Status::invalid_argument("monitor: domain \"" + domain.name + "\" is reported twice (meter \"" +
                                        meter->name() + "\" repeats it); use one meter per source");
      }
      domains.push_back(domain);
    }
  }
  for (const auto& meter : meters) {
    const double limit_ms = meter->max_read_interval_ms();
    if (limit_ms < options.interval_ms) options.interval_ms = std::max(1.0, limit_ms);
  }
  std::unique_ptr<Monitor> monitor(new Monitor(env, std::move(meters), std::move(domains), options));
  // Storage for everything the sampler's tick writes, now, so that the tick
  // never allocates: the reading in progress, the sample's power, and the
  // whole ring (whose pages become resident only as it fills).
  const size_t n = monitor->domains_.size();
  bool reserved = n == 0 || options.ring_capacity <= monitor->ring_power_w_.max_size() / n;
  if (reserved) {
    try {
      monitor->next_sample_.energy_j.reserve(n);
      monitor->sample_power_w_.resize(n);
      monitor->ring_timestamp_ms_.reserve(options.ring_capacity);
      monitor->ring_power_w_.reserve(options.ring_capacity * n);
    } catch (const std::exception&) {  // bad_alloc, length_error
      reserved = false;
    }
  }
  if (!reserved) {
    return Status::invalid_argument("monitor: cannot reserve memory for a ring of " +
                                    std::to_string(options.ring_capacity) + " samples of " + std::to_string(n) +
                                    " domains; lower ring_capacity");
  }
  std::lock_guard lock(monitor->mu_);
  Status first = monitor->read_all_locked(ReadKind::kExact, &monitor->last_sample_);
  if (!first.ok()) return first.with_context("monitor: first read");
  return monitor;
}

Monitor::Monitor(Env& env, std::vector<std::unique_ptr<Meter>> meters, std::vector<EnergyDomain> domains,
                 MonitorOptions options)
    : env_(env), options_(options), domains_(std::move(domains)), meters_(std::move(meters)) {}

Monitor::~Monitor() { stop(); }

Status Monitor::read_all_locked(ReadKind kind, Reading* reading) {
  reading->monotonic_ms = env_.clock().monotonic_ms();
  reading->wall_ms = env_.clock().wall_ms();
  reading->energy_j.clear();
  for (const auto& meter : meters_) {
    meter_energy_j_.clear();
    Status status = kind == ReadKind::kExact ? meter->read_energy_j(&meter_energy_j_)
                                             : meter->sample_energy_j(&meter_energy_j_);
    if (!status.ok()) return status.with_context("meter \"" + meter->name() + "\"");
    if (meter_energy_j_.size() != meter->domains().size()) {
      return Status::internal("meter \"" + meter->name() + "\" returned " + std::to_string(meter_energy_j_.size()) +
                              " values for " + std::to_string(meter->domains().size()) + " domains");
    }
    reading->energy_j.insert(reading->energy_j.end(), meter_energy_j_.begin(), meter_energy_j_.end());
  }
  return Status();
}

Status Monitor::start() {
  std::lock_guard thread_lock(thread_mu_);
  if (thread_.joinable()) return Status();
  {
    std::lock_guard lock(mu_);
    Status baseline = read_all_locked(ReadKind::kExact, &last_sample_);
    if (!baseline.ok()) return baseline.with_context("monitor: start");
  }
  stop_requested_ = false;
  try {
    thread_ = std::thread(&Monitor::run, this);
  } catch (const std::system_error& e) {
    return Status::internal(std::string("monitor: cannot start the sampling thread: ") + e.what());
  }
  running_ = true;
  return Status();
}

void Monitor::stop() {
  std::lock_guard thread_lock(thread_mu_);
  if (!thread_.joinable()) return;
  stop_requested_ = true;
  stop_interrupt_.trigger();
  thread_.join();
  stop_interrupt_.reset();
  stop_requested_ = false;
  running_ = false;
  sample(ReadKind::kExact, options_.interval_ms / 2);
}

bool Monitor::running() const { return running_; }

void Monitor::run() {
  Clock& clock = env_.clock();
  const double interval_ms = options_.interval_ms;
  double now_ms = clock.monotonic_ms();
  double next_ms = now_ms + interval_ms;
  while (!stop_requested_) {
    if (next_ms > now_ms && clock.sleep_ms(next_ms - now_ms, &stop_interrupt_)) break;
    if (stop_requested_) break;
    sample(ReadKind::kSample, 0);
    // Stay on the grid start + k × interval; skip ticks that were missed.
    now_ms = clock.monotonic_ms();
    next_ms += interval_ms;
    if (next_ms <= now_ms) next_ms += std::floor((now_ms - next_ms) / interval_ms + 1) * interval_ms;
  }
}

void Monitor::sample(ReadKind kind, double min_elapsed_ms) {
  std::lock_guard lock(mu_);
  if (min_elapsed_ms > 0 && env_.clock().monotonic_ms() - last_sample_.monotonic_ms < min_elapsed_ms) return;
  Status status = read_all_locked(kind, &next_sample_);
  if (!status.ok()) {
    if (sampling_error_.ok()) sampling_error_ = status.with_context("monitor: sampling");
    return;
  }
  const double elapsed_s = (next_sample_.monotonic_ms - last_sample_.monotonic_ms) / 1000.0;
  if (elapsed_s <= 0) return;
  for (size_t i = 0; i < domains_.size(); ++i) {
    double& energy_j = next_sample_.energy_j[i];
    energy_j = std::max(energy_j, last_sample_.energy_j[i]);  // never backwards; see the header
    sample_power_w_[i] = (energy_j - last_sample_.energy_j[i]) / elapsed_s;
  }
  push_sample_locked(next_sample_.wall_ms);
  std::swap(last_sample_, next_sample_);
}

void Monitor::push_sample_locked(int64_t timestamp_ms) {
  const size_t n = domains_.size();
  size_t slot;
  if (ring_size_ < options_.ring_capacity) {  // ring_first_ is 0 until the ring is full
    slot = ring_size_++;
    if (slot == ring_timestamp_ms_.size()) {
      ring_timestamp_ms_.push_back(0);
      ring_power_w_.resize(ring_power_w_.size() + n);
    }
  } else {
    slot = ring_first_;
    ring_first_ = (ring_first_ + 1) % options_.ring_capacity;
    ++dropped_samples_;
  }
  ring_timestamp_ms_[slot] = timestamp_ms;
  std::copy(sample_power_w_.begin(), sample_power_w_.end(), ring_power_w_.begin() + static_cast<std::ptrdiff_t>(slot * n));
}

Result<WindowId> Monitor::begin_window(std::string name) {
  std::lock_guard lock(mu_);
  Reading reading;
  Status status = read_all_locked(ReadKind::kExact, &reading);
  if (!status.ok()) return status.with_context("begin window \"" + name + "\"");
  const WindowId id = next_window_id_++;
  open_windows_.emplace(id, OpenWindow{std::move(name), std::move(reading)});
  return id;
}

Result<EnergyWindow> Monitor::read_window_locked(WindowId id) {
  auto it = open_windows_.find(id);
  if (it == open_windows_.end()) {
    return Status::not_found("energy window " + std::to_string(id) + " is not open (never begun, or already ended)");
  }
  Reading end;
  Status status = read_all_locked(ReadKind::kExact, &end);
  if (!status.ok()) return status.with_context("read window \"" + it->second.name + "\"");
  const Reading& start = it->second.start;
  EnergyWindow window;
  window.name = it->second.name;
  window.start_ms = start.wall_ms;
  window.end_ms = end.wall_ms;
  window.duration_s = (end.monotonic_ms - start.monotonic_ms) / 1000.0;
  window.domains.reserve(domains_.size());
  for (size_t i = 0; i < domains_.size(); ++i) {
    window.domains.push_back({domains_[i].name, end.energy_j[i] - start.energy_j[i], domains_[i].estimated,
                              domains_[i].counts_in_total});
  }
  return window;
}

Result<EnergyWindow> Monitor::end_window(WindowId id) {
  std::lock_guard lock(mu_);
  auto window = read_window_locked(id);
  if (window.ok()) open_windows_.erase(id);
  return window;
}

Result<EnergyWindow> Monitor::window_so_far(WindowId id) {
  std::lock_guard lock(mu_);
  return read_window_locked(id);
}

std::vector<PowerSample> Monitor::take_samples() {
  std::lock_guard lock(mu_);
  const size_t n = domains_.size();
  std::vector<PowerSample> samples(ring_size_);
  for (size_t k = 0; k < ring_size_; ++k) {
    const size_t slot = (ring_first_ + k) % ring_timestamp_ms_.size();
    const auto first = ring_power_w_.begin() + static_cast<std::ptrdiff_t>(slot * n);
    samples[k].timestamp_ms = ring_timestamp_ms_[slot];
    samples[k].power_w.assign(first, first + static_cast<std::ptrdiff_t>(n));
  }
  ring_first_ = 0;
  ring_size_ = 0;
  return samples;
}

uint64_t Monitor::dropped_samples() const {
  std::lock_guard lock(mu_);
  return dropped_samples_;
}

Status Monitor::sampling_error() const {
  std::lock_guard lock(mu_);
  return sampling_error_;
}

}  // namespace wattlab
