// The JSON shapes a wattlab server and its clients exchange for what MLflow's
// API has no shape for (energy windows, power samples), and MLflow's encoding
// of metric values. One definition, used by server/ (responses, request
// parsing) and RestRunLogger (requests).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"

namespace wattlab {

// A metric value as MLflow writes it: a number, or "NaN" / "Infinity" /
// "-Infinity".
nlohmann::json metric_value_to_json(double value);

// {"name", "start_ms", "end_ms", "duration_s", "energy_j" (the total),
//  "estimated", "domains": [{"name", "energy_j", "estimated", "counts_in_total"}]};
// non-finite numbers are null.
nlohmann::json energy_window_to_json(const EnergyWindow& window);
// The inverse ("energy_j" and "estimated" of the window are derived, so
// ignored). InvalidArgument naming the field at fault.
Result<EnergyWindow> energy_window_from_json(const nlohmann::json& json);

// {"timestamp_ms", "power_w": [per domain]}; non-finite power is null.
nlohmann::json power_sample_to_json(const PowerSample& sample);
// The inverse; null power reads as NaN. InvalidArgument naming the field.
Result<PowerSample> power_sample_from_json(const nlohmann::json& json);

}  // namespace wattlab
