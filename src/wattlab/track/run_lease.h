// One trainer per run: a lease kept in the store, so that two processes never
// train the same run (both would append epochs and rewrite its checkpoint).
//
// A RUNNING run is held by the process named in its kLeaseTag (a process
// that trains it through a tracking server holds it the same way), unless
// that process is known to be gone:
//   - the run's heartbeat (kHeartbeatTag, written every 10 s by the tracking
//     client) is older than stale_after_ms (track/stale_runs.h), or
//   - the holder is a process of this machine (same host name and boot) that
//     no longer exists, is a zombie, or whose pid now names a process started
//     at another time: a trainer killed with kill -9 here can be resumed at
//     once, one on another machine once its heartbeat is stale.
// A RUNNING run without a heartbeat yet (a trainer just starting, an MLflow
// client's run) is held. A run that ended (FINISHED, FAILED, KILLED) is free:
// the lease ends with the run, nothing needs releasing.
//
// A new run belongs to the process that created it, which sets kLeaseTag with
// its first tags. A run that is resumed is taken with take_run_lease, a
// compare-and-set on kLeaseTag (Store::claim_run): of two processes resuming
// one run at once, one wins and the other is refused without writing.
#pragma once

#include <cstdint>
#include <string>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/store.h"

namespace wattlab {

// The tag naming a run's holder, as lease_holder() writes it.
inline constexpr const char* kLeaseTag = "wattlab.lease";

// Process `pid` (of env's proc root) as a lease holder:
// "pid=1234 host=node-7 boot=<boot id> start=<start time in clock ticks>".
// Fields that cannot be read are left empty (such a holder is never taken
// for gone: only its heartbeat can free the run).
std::string lease_holder(Env& env, int pid);

// OK when a process may take `run` (as read at `now_ms`) now; AlreadyExists
// naming the holder, when its heartbeat was last seen, and what to do
// ("... wait for it to end, stop it, or retry in 52 s, when its heartbeat
// will be stale") otherwise.
Status check_run_lease_free(Env& env, const RunData& run, int64_t now_ms, int64_t stale_after_ms);

// Takes `run`'s lease for `holder` (check_run_lease_free first): the run
// becomes RUNNING with no end time, kLeaseTag = holder and kHeartbeatTag =
// now_ms, in one transaction that fails with AlreadyExists, writing nothing,
// when another process changed the lease since `run` was read.
Status take_run_lease(Store& store, const RunData& run, const std::string& holder, int64_t now_ms);

}  // namespace wattlab
