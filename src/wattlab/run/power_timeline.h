// PowerTimelineRecorder: moves a Monitor's buffered power samples into a
// run's stored timeline, downsampled so that the store stays bounded however
// long the run (energy/timeline_downsampler.h), and keeps each domain's peak
// power from the samples at full resolution.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/energy/timeline_downsampler.h"
#include "wattlab/track/client.h"

namespace wattlab {

class PowerTimelineRecorder {
 public:
  // `monitor` and `client` must outlive the recorder.
  PowerTimelineRecorder(Monitor& monitor, TrackingClient& client);

  // Takes the samples buffered so far and logs the completed buckets.
  Status drain();
  // drain(), then the last partial bucket: once, after the monitor stopped.
  Status finish();
  // Highest sampled power of each domain so far, in Monitor::domains() order.
  const std::vector<double>& peak_w() const { return peak_w_; }
  // Hands every batch of buckets to `listener` too, before logging it (STEP
  // watches the timeline as it grows: run/run_projection.h).
  void set_listener(std::function<void(const std::vector<PowerSample>&)> listener) { listener_ = std::move(listener); }

 private:
  Status log(std::vector<PowerSample> buckets);

  Monitor& monitor_;
  TrackingClient& client_;
  std::vector<std::string> domain_names_;
  std::vector<double> peak_w_;
  TimelineDownsampler downsampler_;
  std::function<void(const std::vector<PowerSample>&)> listener_;  // may be empty
};

}  // namespace wattlab
