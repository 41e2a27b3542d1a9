// Monitor: samples a set of meters on a background thread into a bounded
// power timeline, and measures named energy windows exactly.
//
//   auto monitor = Monitor::create(env, std::move(meters)).value();
//   monitor->start();
//   auto epoch = monitor->begin_window("epoch 3").value();
//   ... train ...
//   EnergyWindow window = monitor->end_window(epoch).value();
//
// Windows do not depend on the sampler: begin_window() and end_window() read
// every meter synchronously and exactly (Meter::read_energy_j), so a window's
// energy is the exact difference of the cumulative counters, whatever the
// sampling interval. The sampler keeps hardware counters from wrapping unseen
// (Meter::max_read_interval_ms()) and records the power timeline from the
// meters' cheaper sampling reads (Meter::sample_energy_j), between an exact
// reading at start() and, if at least half an interval has passed since the
// last sample, a final exact one at stop(). The timeline's cumulative energy
// never decreases: an interval whose reading fell below the previous one (a
// cheap reading that ran ahead, put right by the next exact one) has power 0
// until the readings catch up. All public methods are thread-safe.
//
// The sampler runs every interval for the whole run, so its tick allocates
// nothing: the readings reuse their storage and the ring's is reserved by
// create() (bench/monitor_overhead measures what a tick costs).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/energy_window.h"
#include "wattlab/energy/meter.h"

namespace wattlab {

using WindowId = uint64_t;

struct MonitorOptions {
  // Sampling period; at least 1. The sampler runs at the smaller of this and
  // every meter's max_read_interval_ms() (never below 1), so no counter wraps
  // unseen and power-only meters integrate finely enough.
  double interval_ms = 100;
  // Samples kept (an hour at 100 ms); the oldest are dropped. create()
  // reserves the whole ring (ring_capacity × (8 + 8 × domains) bytes, resident
  // only as it fills).
  size_t ring_capacity = 36'000;
};

class Monitor {
 public:
  // Takes ownership of `meters` and reads each once as the baseline. Fails on
  // an empty or null meter list, interval_ms < 1, ring_capacity 0 or too
  // large to reserve, a domain name that two meters share, or a first read
  // that fails. `env` (whose clock drives the sampler) must outlive the Monitor.
  static Result<std::unique_ptr<Monitor>> create(Env& env, std::vector<std::unique_ptr<Meter>> meters,
                                                 MonitorOptions options = {});
  // Stops the sampler.
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Starts the sampling thread; a no-op while running. Takes a fresh reading
  // as the first sample's baseline; fails if that read fails or the thread
  // cannot be created.
  Status start();
  // Stops and joins the sampling thread promptly (it interrupts its sleep),
  // then records a last sample from an exact reading if at least half an
  // interval has passed since the previous sample (a shorter one would turn
  // counter granularity into spurious peaks; a failed read is recorded as
  // sampling_error()). A no-op when not running. Open windows stay open and
  // can still be ended.
  void stop();
  bool running() const;
  // The sampling period actually used (see MonitorOptions::interval_ms).
  double interval_ms() const { return options_.interval_ms; }

  // Every meter's domains, concatenated in meter order; names are unique.
  const std::vector<EnergyDomain>& domains() const { return domains_; }

  // Opens a window now. Windows may nest and overlap freely. Fails if a
  // meter read fails (the message names the meter).
  Result<WindowId> begin_window(std::string name);
  // Closes window `id` now and returns its energy per domain. NotFound for an
  // unknown or already ended id; on a failed meter read the window stays open.
  Result<EnergyWindow> end_window(WindowId id);
  // Window `id`'s energy from its start until now, leaving it open (an exact
  // read of every meter, as end_window). Errors as end_window's.
  Result<EnergyWindow> window_so_far(WindowId id);

  // Removes and returns the buffered samples, oldest first.
  std::vector<PowerSample> take_samples();
  // Samples dropped because the ring was full since the monitor was created.
  uint64_t dropped_samples() const;
  // The first meter error the sampler met, or OK. The sampler skips a failed
  // sample and keeps going.
  Status sampling_error() const;

 private:
  struct Reading {
    double monotonic_ms = 0;
    int64_t wall_ms = 0;
    std::vector<double> energy_j;  // per domain, cumulative
  };
  struct OpenWindow {
    std::string name;
    Reading start;
  };

  enum class ReadKind { kExact, kSample };  // Meter::read_energy_j or Meter::sample_energy_j

  Monitor(Env& env, std::vector<std::unique_ptr<Meter>> meters, std::vector<EnergyDomain> domains,
          MonitorOptions options);
  // Reads every meter into `reading`, reusing its storage. Caller holds mu_.
  Status read_all_locked(ReadKind kind, Reading* reading);
  // One sampler tick: read, turn the energy since the last sample into power.
  // Does nothing if less than `min_elapsed_ms` has passed since the last one.
  void sample(ReadKind kind, double min_elapsed_ms);
  // Appends a sample to the ring (dropping the oldest when full); its power
  // per domain is in sample_power_w_. Caller holds mu_.
  void push_sample_locked(int64_t timestamp_ms);
  // Window `id` from its start to a fresh exact reading. Caller holds mu_.
  Result<EnergyWindow> read_window_locked(WindowId id);
  void run();

  Env& env_;
  const MonitorOptions options_;
  const std::vector<EnergyDomain> domains_;

  mutable std::mutex mu_;  // guards everything below, and every Meter call
  std::vector<std::unique_ptr<Meter>> meters_;
  Reading last_sample_;                   // the sampler's previous reading
  Reading next_sample_;                   // the sampler's reading in progress (storage reused)
  std::vector<double> meter_energy_j_;    // one meter's values in read_all_locked (storage reused)
  std::vector<double> sample_power_w_;    // the sample being recorded, per domain (sized by create())
  // The ring of samples, flat so that create() can reserve it whole and
  // recording one allocates nothing: sample k (0 the oldest) is in slot
  // (ring_first_ + k) % ring slots, its time in ring_timestamp_ms_[slot] and
  // its power per domain in ring_power_w_[slot × domains_.size() ...]. Slots
  // are added as needed up to options_.ring_capacity, within the capacity
  // create() reserved; ring_first_ is 0 until the ring is full.
  std::vector<int64_t> ring_timestamp_ms_;
  std::vector<double> ring_power_w_;
  size_t ring_first_ = 0;                 // slot of the oldest sample
  size_t ring_size_ = 0;                  // samples held, at most options_.ring_capacity
  uint64_t dropped_samples_ = 0;
  Status sampling_error_;                 // first sampler error
  std::map<WindowId, OpenWindow> open_windows_;
  WindowId next_window_id_ = 1;

  std::mutex thread_mu_;      // serialises start() and stop()
  std::thread thread_;        // the sampler, when running; guarded by thread_mu_
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};  // tells the sampler to exit
  SleepInterrupt stop_interrupt_;            // ends the sampler's sleep on stop()
};

}  // namespace wattlab
