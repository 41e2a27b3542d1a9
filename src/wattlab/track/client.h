// The tracking client: how a training loop (or the CLI) records one run.
// Logging calls only queue the record and return; a background writer thread
// moves the queue into the store in batches, one transaction per batch, so a
// slow disk never stalls training.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/run_logger.h"

namespace wattlab {

// The tag a client's heartbeat sets: the wall ms of its latest beat. A RUNNING
// run whose beat is old lost its process (see track/stale_runs.h).
inline constexpr const char* kHeartbeatTag = "wattlab.heartbeat_ms";
// How often tracked runs beat by default.
inline constexpr int kDefaultHeartbeatIntervalMs = 10000;

struct TrackingClientOptions {
  int flush_interval_ms = 200;   // the writer writes what is queued at least this often
  // Every this many ms (and once at the start) the writer sets kHeartbeatTag
  // to the clock's wall time; 0: no heartbeat.
  int heartbeat_interval_ms = 0;
  size_t max_batch_items = 1000;  // ...and as soon as this many records are queued
  Clock* clock = nullptr;        // stamps metrics and the end time; default: the system clock
};

class TrackingClient {
 public:
  // Creates experiment `experiment_name` if needed and a RUNNING run in it
  // started now, and returns a client logging to that run. `store` must
  // outlive the client.
  static Result<std::unique_ptr<TrackingClient>> start_run(RunLogger* store, const std::string& experiment_name,
                                                           const std::string& run_name,
                                                           TrackingClientOptions options = {});

  // A client logging to the existing run `run_id` (a full id). `store` must
  // outlive the client.
  TrackingClient(RunLogger* store, std::string run_id, TrackingClientOptions options = {});
  // Flushes what is queued (it does not end the run). Errors nobody collected
  // with flush()/end_run() are printed to stderr, one line each.
  ~TrackingClient();
  TrackingClient(const TrackingClient&) = delete;
  TrackingClient& operator=(const TrackingClient&) = delete;

  const std::string& run_id() const { return run_id_; }

  // The log calls queue a record and return at once; they are thread-safe.
  // They fail immediately (and queue nothing) for an invalid key, for a param
  // this client already logged with another value, or after end_run().
  // Failures found while writing are reported by the next flush()/end_run().

  // Appends a point to metric `key`, stamped with the clock's wall time.
  Status log_metric(const std::string& key, double value, int64_t step = 0);
  // Appends a point with its own timestamp.
  Status log_metric(Metric metric);
  // Params are write-once (see Store::log_batch).
  Status log_param(const std::string& key, const std::string& value);
  Status set_tag(const std::string& key, const std::string& value);
  Status log_energy_window(EnergyWindow window);
  // `samples[k].power_w[i]` belongs to `domain_names[i]`.
  Status log_power_samples(std::vector<std::string> domain_names, std::vector<PowerSample> samples);
  // Merges keys into the run's environment snapshot.
  Status set_environment(std::map<std::string, std::string> environment);

  // Blocks until everything queued before the call is in the store. Returns
  // the first write failure since the last flush()/end_run() (with a count of
  // any others), or OK; each failure is reported once.
  Status flush();
  // Flushes, then records `status` and the clock's wall time as the run's
  // end. Later log calls fail. Returns the first failure of either step.
  Status end_run(RunStatus status = RunStatus::kFinished);

 private:
  // Records waiting for the writer.
  struct Pending {
    std::vector<Metric> metrics;
    std::vector<Param> params;
    std::vector<RunTag> tags;
    std::vector<EnergyWindow> windows;
    std::vector<std::pair<std::vector<std::string>, std::vector<PowerSample>>> power;
    std::map<std::string, std::string> environment;
    size_t items = 0;  // number of records above (a power sample counts as one)

    // Empties it, keeping the vectors' capacity for the next batch.
    void clear();
  };

  Status enqueue_check_locked() const;
  void added_locked(size_t items);
  void writer_loop();
  std::vector<Status> write(Pending& batch);
  Status take_errors_locked();

  RunLogger* store_;  // not owned
  const std::string run_id_;
  const TrackingClientOptions options_;
  Clock* clock_;  // not owned

  std::mutex mu_;
  std::condition_variable writer_cv_;   // wakes the writer: batch full, flush requested, stopping
  std::condition_variable written_cv_;  // wakes flush(): written_ advanced
  Pending pending_;                     // guarded by mu_
  uint64_t enqueued_ = 0;               // records ever queued; guarded by mu_
  uint64_t written_ = 0;                // records whose write has been attempted; guarded by mu_
  bool flush_requested_ = false;        // guarded by mu_
  bool stopping_ = false;               // guarded by mu_; set by the destructor
  bool ended_ = false;                  // guarded by mu_; set by end_run()
  std::optional<int64_t> last_heartbeat_ms_;  // wall ms of the latest beat queued; writer thread only
  std::vector<Status> errors_;          // write failures not yet reported; guarded by mu_
  std::map<std::string, std::string> params_;  // params this client queued; guarded by mu_
  std::thread writer_;                  // runs writer_loop(); started last
};

}  // namespace wattlab
