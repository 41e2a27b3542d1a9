// TimelineDownsampler: keeps the power timeline a run stores bounded however
// long the run and however fine the sampling. Consecutive samples are merged
// into buckets whose power is the time-weighted mean of theirs, so a bucket
// holds exactly the energy of the samples it replaces. Buckets start as wide
// as one sampling interval (no merging) and double in width after every
// `points_per_level` stored points: a run keeps its first points at full
// resolution and stores O(points_per_level × log2(duration / interval))
// points in all — about 16k for an hour at 100 ms, 40k for an hour at 1 ms.
// Peaks are not kept by the buckets: take them from the samples before they
// go in (measure and train do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wattlab/energy/energy_window.h"

namespace wattlab {

class TimelineDownsampler {
 public:
  // `interval_ms` is the sampling interval (the span of the first sample);
  // `points_per_level` >= 1.
  TimelineDownsampler(double interval_ms, size_t points_per_level = 4096);

  // Adds samples in time order (each PowerSample covers the time since the
  // previous one) and returns the buckets they completed, oldest first.
  std::vector<PowerSample> add(std::vector<PowerSample> samples);
  // The bucket in progress, if it holds any sample; call once at the end.
  std::vector<PowerSample> flush();

  // Width of the buckets being filled now, ms.
  double bucket_ms() const { return bucket_ms_; }
  // Buckets returned so far.
  uint64_t points_out() const { return points_out_; }

 private:
  void close_bucket(std::vector<PowerSample>* out);

  const size_t points_per_level_;
  double bucket_ms_;              // current bucket width
  uint64_t points_out_ = 0;
  size_t points_at_this_width_ = 0;
  // The bucket in progress: energy per domain, its span, its last timestamp.
  std::vector<double> energy_j_;
  double span_ms_ = 0;
  int64_t last_timestamp_ms_ = 0;
  bool have_previous_ = false;    // last_timestamp_ms_ holds an earlier sample
  size_t samples_in_bucket_ = 0;
  double interval_ms_;            // the span given to a sample with no predecessor
};

}  // namespace wattlab
