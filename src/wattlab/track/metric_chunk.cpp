#include "wattlab/track/metric_chunk.h"

#include <cstring>

namespace wattlab {
namespace {

void put_varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Deltas wrap modulo 2^64 so any int64 difference round-trips.
void put_delta(int64_t value, int64_t previous, std::string* out) {
  const uint64_t d = static_cast<uint64_t>(value) - static_cast<uint64_t>(previous);
  const int64_t signed_d = static_cast<int64_t>(d);
  put_varint((d << 1) ^ static_cast<uint64_t>(signed_d >> 63), out);
}

// False when the varint runs past `end` or is longer than 10 bytes.
bool get_delta(const uint8_t*& p, const uint8_t* end, int64_t previous, int64_t* value) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p == end) return false;
    const uint8_t byte = *p++;
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) {
      const uint64_t d = (v >> 1) ^ (~(v & 1) + 1);
      *value = static_cast<int64_t>(static_cast<uint64_t>(previous) + d);
      return true;
    }
  }
  return false;
}

}  // namespace

void encode_metric_chunk(std::span<const MetricPoint> points, std::string* out) {
  MetricPoint previous{};
  for (const MetricPoint& p : points) {
    put_delta(p.step, previous.step, out);
    put_delta(p.timestamp_ms, previous.timestamp_ms, out);
    put_delta(p.seq, previous.seq, out);
    uint64_t bits;
    std::memcpy(&bits, &p.value, sizeof bits);
    for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
    previous = p;
  }
}

Status decode_metric_chunk(const void* data, size_t size, int64_t count, std::vector<MetricPoint>* out) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const uint8_t* end = p + size;
  MetricPoint point{};
  for (int64_t i = 0; i < count; ++i) {
    if (!get_delta(p, end, point.step, &point.step) || !get_delta(p, end, point.timestamp_ms, &point.timestamp_ms) ||
        !get_delta(p, end, point.seq, &point.seq) || end - p < 8) {
      return Status::corrupt("metric chunk of " + std::to_string(count) + " points ends inside point " +
                             std::to_string(i));
    }
    uint64_t bits = 0;
    for (int b = 0; b < 8; ++b) bits |= static_cast<uint64_t>(p[b]) << (8 * b);
    p += 8;
    std::memcpy(&point.value, &bits, sizeof bits);
    out->push_back(point);
  }
  if (p != end) return Status::corrupt("metric chunk of " + std::to_string(count) + " points has bytes left over");
  return Status();
}

}  // namespace wattlab
