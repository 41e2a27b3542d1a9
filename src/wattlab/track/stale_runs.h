// Runs whose process died without a word (kill -9, a lost node) stay RUNNING
// in the store; their heartbeat (track/client.h kHeartbeatTag) tells them
// apart from live ones. Study executors, `wattlab runs gc` and the tracking
// server all end them through here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/client.h"
#include "wattlab/track/store.h"

namespace wattlab {

// How long a run may go without a heartbeat before it counts as lost: six
// missed beats at the default interval.
inline constexpr int64_t kDefaultStaleAfterMs = 6 * kDefaultHeartbeatIntervalMs;

// True when `run` is RUNNING and carries a heartbeat older than
// `stale_after_ms` at `now_ms`. Runs without a heartbeat (an MLflow client's)
// are never stale: nothing says their process is gone.
bool is_stale(const RunData& run, int64_t now_ms, int64_t stale_after_ms);
// The wall ms of the run's latest heartbeat, if it has one.
std::optional<int64_t> last_heartbeat_ms(const RunData& run);

// Marks every stale run (of `experiment_ids`, or of every experiment when
// nullopt) KILLED, with its end time set to its last heartbeat and the tag
// wattlab.stop_reason saying when it was last seen. Returns the runs it
// ended, as they are now.
Result<std::vector<RunInfo>> end_stale_runs(Store& store, int64_t now_ms, int64_t stale_after_ms,
                                            const std::optional<std::vector<std::string>>& experiment_ids);
// Ends one run that is_stale() found stale, as end_stale_runs does.
Result<RunInfo> end_stale_run(Store& store, const RunData& run);

}  // namespace wattlab
