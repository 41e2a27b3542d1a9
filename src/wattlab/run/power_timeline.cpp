#include "wattlab/run/power_timeline.h"

#include <algorithm>
#include <utility>

namespace wattlab {

PowerTimelineRecorder::PowerTimelineRecorder(Monitor& monitor, TrackingClient& client)
    : monitor_(monitor),
      client_(client),
      peak_w_(monitor.domains().size(), 0.0),
      downsampler_(monitor.interval_ms()) {
  for (const auto& d : monitor.domains()) domain_names_.push_back(d.name);
}

Status PowerTimelineRecorder::drain() {
  auto samples = monitor_.take_samples();
  for (const auto& s : samples) {
    for (size_t i = 0; i < peak_w_.size() && i < s.power_w.size(); ++i) peak_w_[i] = std::max(peak_w_[i], s.power_w[i]);
  }
  return log(downsampler_.add(std::move(samples)));
}

Status PowerTimelineRecorder::finish() {
  Status drained = drain();
  Status flushed = log(downsampler_.flush());
  return drained.ok() ? flushed : drained;
}

Status PowerTimelineRecorder::log(std::vector<PowerSample> buckets) {
  if (buckets.empty()) return Status();
  if (listener_) listener_(buckets);
  return client_.log_power_samples(domain_names_, std::move(buckets));
}

}  // namespace wattlab
