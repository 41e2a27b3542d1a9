#include "wattlab/energy/timeline_downsampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattlab {
namespace {

// Samples every `interval_ms` from t0, two domains: a ramp and a square wave.
std::vector<PowerSample> make_samples(size_t count, int64_t interval_ms, int64_t t0_ms = 1'700'000'000'000) {
  std::vector<PowerSample> samples;
  for (size_t k = 1; k <= count; ++k) {
    samples.push_back({t0_ms + static_cast<int64_t>(k) * interval_ms,
                       {10.0 + 0.01 * static_cast<double>(k), (k / 7) % 2 ? 200.0 : 50.0}});
  }
  return samples;
}

// Energy of a timeline per domain, each sample spanning the time since the
// previous one (the first: `first_span_ms`).
std::vector<double> energy_j(const std::vector<PowerSample>& timeline, double first_span_ms) {
  std::vector<double> total(2, 0.0);
  for (size_t k = 0; k < timeline.size(); ++k) {
    const double span_ms =
        k == 0 ? first_span_ms : static_cast<double>(timeline[k].timestamp_ms - timeline[k - 1].timestamp_ms);
    for (size_t i = 0; i < 2; ++i) total[i] += timeline[k].power_w[i] * span_ms / 1000.0;
  }
  return total;
}

TEST(TimelineDownsamplerTest, KeepsTheFirstLevelAtFullResolution) {
  TimelineDownsampler downsampler(100, 1000);
  auto samples = make_samples(600, 100);
  auto out = downsampler.add(samples);
  ASSERT_EQ(out.size(), samples.size());
  for (size_t k = 0; k < out.size(); ++k) {
    EXPECT_EQ(out[k].timestamp_ms, samples[k].timestamp_ms);
    EXPECT_DOUBLE_EQ(out[k].power_w[0], samples[k].power_w[0]);
    EXPECT_DOUBLE_EQ(out[k].power_w[1], samples[k].power_w[1]);
  }
  EXPECT_TRUE(downsampler.flush().empty());
  EXPECT_DOUBLE_EQ(downsampler.bucket_ms(), 100);
}

TEST(TimelineDownsamplerTest, DoublesTheBucketAfterEachLevelAndKeepsEnergy) {
  TimelineDownsampler downsampler(100, 4);
  auto samples = make_samples(16, 100);
  auto out = downsampler.add(samples);
  // 4 points of 100 ms, then 4 of 200 ms (8 samples), then 4 of 400 ms wanted
  // but only 4 samples are left: one 400 ms bucket.
  ASSERT_EQ(out.size(), 9u);
  EXPECT_EQ(out[4].timestamp_ms, samples[5].timestamp_ms);
  EXPECT_DOUBLE_EQ(out[4].power_w[0], (samples[4].power_w[0] + samples[5].power_w[0]) / 2);
  EXPECT_EQ(out[8].timestamp_ms, samples[15].timestamp_ms);
  EXPECT_DOUBLE_EQ(downsampler.bucket_ms(), 400);
  EXPECT_TRUE(downsampler.flush().empty());
  auto before = energy_j(samples, 100), after = energy_j(out, 100);
  EXPECT_NEAR(after[0], before[0], 1e-9 * before[0]);
  EXPECT_NEAR(after[1], before[1], 1e-9 * before[1]);
}

TEST(TimelineDownsamplerTest, FlushReturnsThePartialBucket) {
  TimelineDownsampler downsampler(100, 1);  // 100, 200, 400 ... ms
  auto out = downsampler.add(make_samples(4, 100));
  EXPECT_EQ(out.size(), 2u);  // 100 ms, then 200 ms; the 400 ms bucket holds one sample
  auto rest = downsampler.flush();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_DOUBLE_EQ(rest[0].power_w[0], 10.04);
  EXPECT_TRUE(downsampler.flush().empty());
}

TEST(TimelineDownsamplerTest, AnHourAtOneMillisecondStaysBoundedAndExact) {
  const int64_t t0_ms = 1'700'000'000'000;
  const size_t count = 3'600'000;  // 1 ms for an hour, drained from the ring in chunks of 10,000
  TimelineDownsampler downsampler(1, 4096);
  std::vector<PowerSample> out;
  std::vector<double> before(2, 0.0);
  for (size_t start = 0; start < count; start += 10'000) {
    std::vector<PowerSample> chunk;
    for (size_t k = start + 1; k <= start + 10'000; ++k) {
      chunk.push_back({t0_ms + static_cast<int64_t>(k), {10.0 + 1e-6 * static_cast<double>(k), (k / 7) % 2 ? 200.0 : 50.0}});
      for (size_t i = 0; i < 2; ++i) before[i] += chunk.back().power_w[i] / 1000.0;
    }
    for (auto& p : downsampler.add(std::move(chunk))) out.push_back(std::move(p));
  }
  for (auto& p : downsampler.flush()) out.push_back(std::move(p));
  EXPECT_LT(out.size(), 45'000u);
  EXPECT_EQ(out.back().timestamp_ms, t0_ms + static_cast<int64_t>(count));
  auto after = energy_j(out, 1);
  EXPECT_NEAR(after[0], before[0], 1e-9 * before[0]);
  EXPECT_NEAR(after[1], before[1], 1e-9 * before[1]);
}

TEST(TimelineDownsamplerTest, JitteredTicksStayOnePerBucket) {
  TimelineDownsampler downsampler(100, 1000);
  std::vector<PowerSample> samples;
  int64_t t = 0;
  for (int k = 0; k < 50; ++k) samples.push_back({t += (k % 2 ? 97 : 103), {1.0}});
  EXPECT_EQ(downsampler.add(samples).size(), samples.size());
}

}  // namespace
}  // namespace wattlab
