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
  std::lock_guard lock(monitor->mu_);
  auto baseline = monitor->read_all_locked();
  if (!baseline.ok()) return baseline.status().with_context("monitor: first read");
  monitor->last_sample_ = std::move(baseline).value();
  return monitor;
}

Monitor::Monitor(Env& env, std::vector<std::unique_ptr<Meter>> meters, std::vector<EnergyDomain> domains,
                 MonitorOptions options)
    : env_(env), options_(options), domains_(std::move(domains)), meters_(std::move(meters)) {}

Monitor::~Monitor() { stop(); }

Result<Monitor::Reading> Monitor::read_all_locked() {
  Reading reading;
  reading.monotonic_ms = env_.clock().monotonic_ms();
  reading.wall_ms = env_.clock().wall_ms();
  reading.energy_j.reserve(domains_.size());
  std::vector<double> energy_j;
  for (const auto& meter : meters_) {
    energy_j.clear();
    Status status = meter->read_energy_j(&energy_j);
    if (!status.ok()) return status.with_context("meter \"" + meter->name() + "\"");
    if (energy_j.size() != meter->domains().size()) {
      return Status::internal("meter \"" + meter->name() + "\" returned " + std::to_string(energy_j.size()) +
                              " values for " + std::to_string(meter->domains().size()) + " domains");
    }
    reading.energy_j.insert(reading.energy_j.end(), energy_j.begin(), energy_j.end());
  }
  return reading;
}

Status Monitor::start() {
  std::lock_guard thread_lock(thread_mu_);
  if (thread_.joinable()) return Status();
  {
    std::lock_guard lock(mu_);
    auto baseline = read_all_locked();
    if (!baseline.ok()) return baseline.status().with_context("monitor: start");
    last_sample_ = std::move(baseline).value();
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
}

bool Monitor::running() const { return running_; }

void Monitor::run() {
  Clock& clock = env_.clock();
  const double interval_ms = options_.interval_ms;
  double next_ms = clock.monotonic_ms() + interval_ms;
  while (!stop_requested_) {
    const double wait_ms = next_ms - clock.monotonic_ms();
    if (wait_ms > 0 && clock.sleep_ms(wait_ms, &stop_interrupt_)) break;
    if (stop_requested_) break;
    sample();
    // Stay on the grid start + k × interval; skip ticks that were missed.
    const double now_ms = clock.monotonic_ms();
    next_ms += interval_ms;
    if (next_ms <= now_ms) next_ms += std::floor((now_ms - next_ms) / interval_ms + 1) * interval_ms;
  }
}

void Monitor::sample() {
  std::lock_guard lock(mu_);
  auto reading = read_all_locked();
  if (!reading.ok()) {
    if (sampling_error_.ok()) sampling_error_ = reading.status().with_context("monitor: sampling");
    return;
  }
  const double elapsed_s = (reading->monotonic_ms - last_sample_.monotonic_ms) / 1000.0;
  if (elapsed_s > 0) {
    PowerSample sample{reading->wall_ms, std::vector<double>(domains_.size())};
    for (size_t i = 0; i < domains_.size(); ++i) {
      sample.power_w[i] = (reading->energy_j[i] - last_sample_.energy_j[i]) / elapsed_s;
    }
    if (ring_.size() >= options_.ring_capacity) {
      ring_.pop_front();
      ++dropped_samples_;
    }
    ring_.push_back(std::move(sample));
  }
  last_sample_ = std::move(reading).value();
}

Result<WindowId> Monitor::begin_window(std::string name) {
  std::lock_guard lock(mu_);
  auto reading = read_all_locked();
  if (!reading.ok()) return reading.status().with_context("begin window \"" + name + "\"");
  const WindowId id = next_window_id_++;
  open_windows_.emplace(id, OpenWindow{std::move(name), std::move(reading).value()});
  return id;
}

Result<EnergyWindow> Monitor::end_window(WindowId id) {
  std::lock_guard lock(mu_);
  auto it = open_windows_.find(id);
  if (it == open_windows_.end()) {
    return Status::not_found("energy window " + std::to_string(id) + " is not open (never begun, or already ended)");
  }
  auto reading = read_all_locked();
  if (!reading.ok()) return reading.status().with_context("end window \"" + it->second.name + "\"");
  const Reading& start = it->second.start;
  EnergyWindow window;
  window.name = std::move(it->second.name);
  window.start_ms = start.wall_ms;
  window.end_ms = reading->wall_ms;
  window.duration_s = (reading->monotonic_ms - start.monotonic_ms) / 1000.0;
  window.domains.reserve(domains_.size());
  for (size_t i = 0; i < domains_.size(); ++i) {
    window.domains.push_back({domains_[i].name, reading->energy_j[i] - start.energy_j[i], domains_[i].estimated,
                              domains_[i].counts_in_total});
  }
  open_windows_.erase(it);
  return window;
}

std::vector<PowerSample> Monitor::take_samples() {
  std::lock_guard lock(mu_);
  std::vector<PowerSample> samples(std::make_move_iterator(ring_.begin()), std::make_move_iterator(ring_.end()));
  ring_.clear();
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
