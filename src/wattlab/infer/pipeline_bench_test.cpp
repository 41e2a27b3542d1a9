#include "wattlab/infer/pipeline_bench.h"

#include <gtest/gtest.h>

#include <thread>

namespace wattlab {
namespace {

TEST(LatencyTest, PercentilesInterpolateLikeNumpy) {
  // numpy.percentile([1..10], [50, 95, 99]) = 5.5, 9.55, 9.91.
  std::vector<double> v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  LatencySummary s = summarize_latencies(v);
  EXPECT_EQ(s.count, 10);
  EXPECT_DOUBLE_EQ(s.p50_ms, 5.5);
  EXPECT_NEAR(s.p95_ms, 9.55, 1e-12);
  EXPECT_NEAR(s.p99_ms, 9.91, 1e-12);
  EXPECT_DOUBLE_EQ(s.mean_ms, 5.5);
  EXPECT_DOUBLE_EQ(s.min_ms, 1);
  EXPECT_DOUBLE_EQ(s.max_ms, 10);
  EXPECT_EQ(summarize_latencies({}).count, 0);
  EXPECT_DOUBLE_EQ(summarize_latencies({4}).p99_ms, 4);
}

// Energy that the stages themselves spend: each adds to the counter it reads.
double g_joules = 0;
class CountingMeter final : public Meter {
 public:
  std::string name() const override { return "counting"; }
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  Status read_energy_j(std::vector<double>* energy_j) override {
    energy_j->assign(1, g_joules);
    return Status();
  }

 private:
  std::vector<EnergyDomain> domains_{{"package-0", false, true}};
};

TEST(PipelineBenchTest, EachStageGetsItsOwnTimeAndEnergy) {
  std::vector<std::unique_ptr<Meter>> meters;
  meters.push_back(std::make_unique<CountingMeter>());
  auto monitor = Monitor::create(Env::system(), std::move(meters));
  ASSERT_TRUE(monitor.ok());
  std::vector<int> seen_by_b;
  std::vector<PipelineStage> stages = {
      {"a", [](int64_t) { g_joules += 2; return Status(); }},
      {"b",
       [&](int64_t item) {
         g_joules += 6;
         seen_by_b.push_back(static_cast<int>(item));
         std::this_thread::sleep_for(std::chrono::milliseconds(2));
         return Status();
       }},
  };
  PipelineBenchOptions options;
  options.items = 10;
  options.block_items = 4;
  options.warmup_items = 2;
  options.monitor = monitor->get();
  auto r = bench_pipeline(stages, options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Warm-up items 0 and 1, then every item once, in blocks of 4.
  EXPECT_EQ(seen_by_b, (std::vector<int>{0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  ASSERT_EQ(r->stages.size(), 2u);
  EXPECT_DOUBLE_EQ(r->stages[0].energy.energy_j, 20);
  EXPECT_DOUBLE_EQ(r->stages[1].energy.energy_j, 60);
  EXPECT_DOUBLE_EQ(r->stages[1].energy_share, 0.75);
  EXPECT_DOUBLE_EQ(r->energy_per_item_j, 8);
  EXPECT_FALSE(r->energy.estimated);
  EXPECT_TRUE(r->energy.metered);
  EXPECT_EQ(r->stages[1].latency.count, 10);
  EXPECT_GE(r->stages[1].latency.p50_ms, 2.0);
  EXPECT_GT(r->stages[1].latency_share, r->stages[0].latency_share);
  EXPECT_NEAR(r->stages[0].latency_share + r->stages[1].latency_share, 1, 1e-12);
  EXPECT_GE(r->latency.p50_ms, r->stages[1].latency.p50_ms);
  EXPECT_NEAR(r->items_per_s, 10 / (r->stages[0].total_s + r->stages[1].total_s), 1e-9);
  // Sleeping costs no CPU: stage b's CPU time is far below its latency.
  EXPECT_LT(r->stages[1].cpu_s, 0.5 * r->stages[1].total_s);
  EXPECT_GT(r->items_per_cpu_s, r->items_per_s);
}

TEST(PipelineBenchTest, StageErrorsNameTheStageAndItem) {
  std::vector<PipelineStage> stages = {
      {"decode", [](int64_t item) { return item == 3 ? Status::invalid_argument("bad board") : Status(); }}};
  PipelineBenchOptions options;
  options.items = 5;
  auto r = bench_pipeline(stages, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "stage \"decode\", item 3: bad board");
  options.items = 0;
  EXPECT_EQ(bench_pipeline(stages, options).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bench_pipeline({}, PipelineBenchOptions{.items = 1}).status().code(), Status::Code::kInvalidArgument);
  // Without a monitor: time only.
  options.items = 3;
  auto timed = bench_pipeline({{"noop", [](int64_t) { return Status(); }}}, options);
  ASSERT_TRUE(timed.ok());
  EXPECT_FALSE(timed->energy.metered);
  EXPECT_EQ(timed->energy_per_item_j, 0);
}

}  // namespace
}  // namespace wattlab
