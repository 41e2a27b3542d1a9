#include "wattlab/energy/timeline_downsampler.h"

#include <algorithm>

namespace wattlab {

TimelineDownsampler::TimelineDownsampler(double interval_ms, size_t points_per_level)
    : points_per_level_(std::max<size_t>(1, points_per_level)),
      bucket_ms_(std::max(1.0, interval_ms)),
      interval_ms_(std::max(1.0, interval_ms)) {}

std::vector<PowerSample> TimelineDownsampler::add(std::vector<PowerSample> samples) {
  std::vector<PowerSample> out;
  for (PowerSample& sample : samples) {
    // A sample's span is the time since the previous one; timestamps that do
    // not advance (coarse wall clock) get no weight of their own.
    const double span_ms = have_previous_ ? std::max(0.0, static_cast<double>(sample.timestamp_ms - last_timestamp_ms_))
                                          : interval_ms_;
    if (energy_j_.size() < sample.power_w.size()) energy_j_.resize(sample.power_w.size(), 0.0);
    for (size_t i = 0; i < sample.power_w.size(); ++i) energy_j_[i] += sample.power_w[i] * span_ms / 1000.0;
    span_ms_ += span_ms;
    last_timestamp_ms_ = sample.timestamp_ms;
    have_previous_ = true;
    ++samples_in_bucket_;
    // Close when one more sample would overshoot the width by more than it
    // undershoots now, so a tick that comes a little early or late does not
    // make a bucket of twice the width.
    if (span_ms_ + interval_ms_ / 2 > bucket_ms_) close_bucket(&out);
  }
  return out;
}

std::vector<PowerSample> TimelineDownsampler::flush() {
  std::vector<PowerSample> out;
  if (samples_in_bucket_ > 0) close_bucket(&out);
  return out;
}

void TimelineDownsampler::close_bucket(std::vector<PowerSample>* out) {
  PowerSample bucket{last_timestamp_ms_, std::vector<double>(energy_j_.size(), 0.0)};
  if (span_ms_ > 0) {
    for (size_t i = 0; i < energy_j_.size(); ++i) bucket.power_w[i] = energy_j_[i] * 1000.0 / span_ms_;
  }
  out->push_back(std::move(bucket));
  std::fill(energy_j_.begin(), energy_j_.end(), 0.0);
  span_ms_ = 0;
  samples_in_bucket_ = 0;
  ++points_out_;
  if (++points_at_this_width_ >= points_per_level_) {
    points_at_this_width_ = 0;
    bucket_ms_ *= 2;
  }
}

}  // namespace wattlab
