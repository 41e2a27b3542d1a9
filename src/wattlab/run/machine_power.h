// The machine's power when no training runs: the idle baseline a study
// measures once (recorded as a run of its own) and the readings its
// cool-downs wait on.
#pragma once

#include <map>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/energy/meters.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

// Meters the machine for `duration_s` with `meter` and records it as a run
// `run_name` of `experiment` with `tags`: an energy window "idle-baseline",
// the metrics idle_power_w (the machine total) and energy_j, the power
// timeline and the environment. Returns the mean total power, W. A stop
// request (core/stop_signal.h) ends it early: the run is KILLED and the
// result Cancelled.
Result<double> record_idle_baseline(RunLogger& logger, const std::string& experiment, const std::string& run_name,
                                    const std::map<std::string, std::string>& tags, double duration_s,
                                    const MeterOptions& meter);

// The machine's mean total power over the next `window_s`, W, metered with `meter`.
Result<double> measure_power_w(const MeterOptions& meter, double window_s);

}  // namespace wattlab
