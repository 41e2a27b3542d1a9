#include "wattlab/track/metric_chunk.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace wattlab {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(MetricChunk, EveryPointRoundTripsBitForBit) {
  // Extreme steps and timestamps (deltas that wrap), ties, and the values
  // SQL cannot hold: NaN, infinities, negative zero.
  const std::vector<MetricPoint> points = {
      {kMin, kMin, 0, -0.0},
      {kMin, kMax, 7, std::nan("")},
      {-1, 1'700'000'000'000, 3, -std::numeric_limits<double>::infinity()},
      {0, 1'700'000'000'000, 1, 0.1},
      {0, 1'700'000'000'001, 2, std::numeric_limits<double>::denorm_min()},
      {kMax, kMin, kMax, std::numeric_limits<double>::max()},
  };
  std::string data;
  encode_metric_chunk(points, &data);
  std::vector<MetricPoint> back;
  ASSERT_TRUE(decode_metric_chunk(data.data(), data.size(), static_cast<int64_t>(points.size()), &back).ok());
  ASSERT_EQ(back.size(), points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(back[i].position(), points[i].position()) << i;
    EXPECT_TRUE(same_bits(back[i].value, points[i].value)) << i;
  }
}

TEST(MetricChunk, ConsecutiveStepsCostAboutElevenBytesAPoint) {
  std::vector<MetricPoint> points;
  for (int64_t i = 0; i < static_cast<int64_t>(kMaxPointsPerChunk); ++i)
    points.push_back({1000 + i, 1'700'000'000'000 + 20 * i, i, 1.0 / (i + 1)});
  std::string data;
  encode_metric_chunk(points, &data);
  // 3 one-byte deltas and 8 value bytes a point, plus the first point's absolute values.
  EXPECT_LE(data.size(), 11 * points.size() + 16);
}

TEST(MetricChunk, ATruncatedOrPaddedBlobIsCorrupt) {
  const std::vector<MetricPoint> points = {{1, 2, 0, 0.5}, {2, 3, 1, 0.25}};
  std::string data;
  encode_metric_chunk(points, &data);
  std::vector<MetricPoint> out;
  EXPECT_EQ(decode_metric_chunk(data.data(), data.size() - 1, 2, &out).code(), Status::Code::kCorrupt);
  out.clear();
  EXPECT_EQ(decode_metric_chunk(data.data(), data.size(), 3, &out).code(), Status::Code::kCorrupt);
  out.clear();
  EXPECT_EQ(decode_metric_chunk(data.data(), data.size(), 1, &out).code(), Status::Code::kCorrupt);
  // A varint that never ends.
  const std::string endless(16, '\xff');
  out.clear();
  EXPECT_EQ(decode_metric_chunk(endless.data(), endless.size(), 1, &out).code(), Status::Code::kCorrupt);
}

}  // namespace
}  // namespace wattlab
