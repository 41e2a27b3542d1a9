// The SQLite store's metric chunk: up to kMaxPointsPerChunk points of one
// series, sorted by (step, timestamp_ms, seq), packed into one blob. A point
// is its step, timestamp and seq as zigzag varint deltas from the previous
// point (the first from zero) and its value as 8 little-endian bytes (NaN as
// is), about 11 bytes for a typical point instead of a 5-column row. Internal
// to track/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// One point of a metric series as the store keeps it: seq is its logging
// order within the series, so (step, timestamp_ms, seq) is unique and orders
// the history.
struct MetricPoint {
  int64_t step = 0;
  int64_t timestamp_ms = 0;
  int64_t seq = 0;
  double value = 0;

  auto position() const { return std::tie(step, timestamp_ms, seq); }
  bool operator<(const MetricPoint& other) const { return position() < other.position(); }
};

// Points per chunk at most: about 2.8 kB encoded, so a chunk stays within one
// 4 kB SQLite page, while a sampled seek decodes at most this many points.
constexpr size_t kMaxPointsPerChunk = 256;

// Appends the encoding of `points` (sorted, at least one) to `*out`.
void encode_metric_chunk(std::span<const MetricPoint> points, std::string* out);

// Appends the `count` points encoded in `data[0, size)` to `*out`. Corrupt
// when the blob holds another number of points or ends inside one.
Status decode_metric_chunk(const void* data, size_t size, int64_t count, std::vector<MetricPoint>* out);

}  // namespace wattlab
