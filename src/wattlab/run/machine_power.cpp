#include "wattlab/run/machine_power.h"

#include <algorithm>

#include "wattlab/core/env.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/run/power_timeline.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"

namespace wattlab {
namespace {

// Sleeps `duration_s` in short slices; false when a stop was requested.
bool sleep_unless_stopped(Clock& clock, double duration_s) {
  const double end_ms = clock.monotonic_ms() + duration_s * 1000;
  while (!stop_requested()) {
    const double left_ms = end_ms - clock.monotonic_ms();
    if (left_ms <= 0) return true;
    clock.sleep_ms(std::min(left_ms, 200.0));
  }
  return false;
}

Result<std::unique_ptr<Monitor>> started_monitor(Env& env, const MeterOptions& meter) {
  auto meters = make_meters(env, meter);
  if (!meters.ok()) return meters.status();
  auto monitor = Monitor::create(env, std::move(*meters), MonitorOptions{});
  if (!monitor.ok()) return monitor.status();
  WATTLAB_RETURN_IF_ERROR((*monitor)->start());
  return std::move(*monitor);
}

}  // namespace

Result<double> record_idle_baseline(RunLogger& logger, const std::string& experiment, const std::string& run_name,
                                    const std::map<std::string, std::string>& tags, double duration_s,
                                    const MeterOptions& meter) {
  Env& env = Env::system();
  auto monitor = started_monitor(env, meter);
  if (!monitor.ok()) return monitor.status();
  auto client = TrackingClient::start_run(&logger, experiment, run_name,
                                          TrackingClientOptions{.heartbeat_interval_ms = kDefaultHeartbeatIntervalMs});
  if (!client.ok()) return client.status();
  TrackingClient& tracking = **client;
  bool estimated = false;
  for (const auto& d : (*monitor)->domains()) estimated |= d.estimated;
  for (const auto& [key, value] : tags) tracking.set_tag(key, value);
  tracking.set_tag("mlflow.runName", run_name);
  tracking.set_tag("wattlab.energy_estimated", estimated ? "true" : "false");
  tracking.set_environment(collect_environment(env, EnvironmentExtras{}));

  PowerTimelineRecorder timeline(**monitor, tracking);
  auto window = (*monitor)->begin_window("idle-baseline");
  if (!window.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return window.status();
  }
  const bool completed = sleep_unless_stopped(env.clock(), duration_s);
  auto measured = (*monitor)->end_window(*window);
  (*monitor)->stop();
  Status logged = timeline.finish();
  if (!measured.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return measured.status();
  }
  tracking.log_energy_window(*measured);
  const double power_w = measured->duration_s > 0 ? measured->energy_j() / measured->duration_s : 0;
  tracking.log_metric("idle_power_w", power_w);
  tracking.log_metric("energy_j", measured->energy_j());
  tracking.log_metric("duration_s", measured->duration_s);
  Status ended = tracking.end_run(completed ? RunStatus::kFinished : RunStatus::kKilled);
  if (!completed) return Status::cancelled("the idle baseline was stopped by a signal");
  WATTLAB_RETURN_IF_ERROR(logged);
  WATTLAB_RETURN_IF_ERROR(ended);
  return power_w;
}

Result<double> measure_power_w(const MeterOptions& meter, double window_s) {
  Env& env = Env::system();
  auto monitor = started_monitor(env, meter);
  if (!monitor.ok()) return monitor.status();
  auto window = (*monitor)->begin_window("power");
  if (!window.ok()) return window.status();
  sleep_unless_stopped(env.clock(), window_s);
  auto measured = (*monitor)->end_window(*window);
  (*monitor)->stop();
  if (!measured.ok()) return measured.status();
  return measured->duration_s > 0 ? measured->energy_j() / measured->duration_s : 0;
}

}  // namespace wattlab
