// The records the experiment store keeps, after MLflow's entities
// (experiments, runs, params, tags, metrics) plus wattlab's energy windows,
// power samples and environment snapshot. Plain values: no behaviour beyond
// small helpers, so every layer above can build and read them freely.
// Energy windows and power samples are energy/'s own EnergyWindow and
// PowerSample.
#pragma once

#include "wattlab/energy/energy_window.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// Lifecycle of a run (MLflow's RunStatus).
enum class RunStatus { kRunning, kScheduled, kFinished, kFailed, kKilled };

// "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED".
const char* run_status_name(RunStatus status);
// Inverse of run_status_name (exact, upper case); InvalidArgument naming the
// text and the accepted values otherwise.
Result<RunStatus> parse_run_status(const std::string& text);

// MLflow's rule for metric, param and tag names: 1-250 characters of letters,
// digits, '_', '-', '.', ' ', '/' or ':', and as a path a plain relative one
// (no leading or trailing '/', no "//", no "." or ".." component: MLflow's
// path_not_unique). InvalidArgument naming `kind` ("metric", "param", "tag")
// and the key otherwise.
Status validate_entity_key(const std::string& kind, const std::string& key);
// 1 to kMaxExperimentNameLength bytes (MLflow's limit); InvalidArgument otherwise.
Status validate_experiment_name(const std::string& name);

// MLflow's limits: value lengths in bytes, and what one log-batch may carry.
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 5000;
inline constexpr size_t kMaxExperimentNameLength = 500;
inline constexpr size_t kMaxMetricsPerBatch = 1000;
inline constexpr size_t kMaxParamsTagsPerBatch = 100;  // params and tags, each
inline constexpr size_t kMaxEntitiesPerBatch = 1000;   // metrics + params + tags

// InvalidArgument naming the limit when a value is too long.
Status validate_param_value(const std::string& key, const std::string& value);
Status validate_tag_value(const std::string& key, const std::string& value);
// InvalidArgument when one log-batch carries more than MLflow allows.
Status validate_batch_size(size_t metrics, size_t params, size_t tags);

inline constexpr const char* kLifecycleActive = "active";
inline constexpr const char* kLifecycleDeleted = "deleted";

struct Experiment {
  std::string experiment_id;  // decimal, as MLflow spells it ("0" is "Default")
  std::string name;           // unique within a store
  std::string artifact_location;
  std::string lifecycle_stage = kLifecycleActive;
  int64_t creation_time_ms = 0;     // wall ms since the Unix epoch
  int64_t last_update_time_ms = 0;  // wall ms; bumped when a run is created or updated
  std::map<std::string, std::string> tags;
};

struct RunInfo {
  std::string run_id;  // 32 lower-case hex digits
  std::string experiment_id;
  std::string run_name;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time_ms = 0;               // wall ms
  std::optional<int64_t> end_time_ms;      // wall ms; empty while the run has not ended
  std::string lifecycle_stage = kLifecycleActive;
  std::string artifact_uri;
};

// One point of a metric's history. NaN and infinities are stored faithfully.
struct Metric {
  std::string key;
  double value = 0;
  int64_t timestamp_ms = 0;  // wall ms
  int64_t step = 0;
};

struct Param {
  std::string key;
  std::string value;
};

struct RunTag {
  std::string key;
  std::string value;
};

// A run's power samples read back: `samples[k].power_w[i]` is the power of
// `domains[i]`, NaN where that domain has no sample at that timestamp.
struct PowerTimeline {
  std::vector<std::string> domains;  // in order of first appearance
  std::vector<PowerSample> samples;  // in timestamp order
};

// Everything about one run except metric histories and power samples.
struct RunData {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, Metric> latest_metrics;  // by key: highest step, then latest timestamp
  std::vector<EnergyWindow> energy_windows;  // in the order they were logged
  std::map<std::string, std::string> environment;
};

}  // namespace wattlab
