#include "wattlab/run/run_projection.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

const std::vector<EnergyDomain> kDomains = {{"package-0", false, true}, {"core", false, false}, {"dram", false, true}};

// Feeds epoch `epoch` of `energy_j` (a 10 s training window and a 2 s
// evaluation window, starting at `start_ms`) and its power samples.
void feed_epoch(RunProjection& p, int epoch, double energy_j, int64_t start_ms) {
  const double power_w = energy_j / 12.0;
  std::vector<PowerSample> samples;
  for (int64_t t = start_ms + 100; t <= start_ms + 12'000; t += 100) samples.push_back({t, {power_w * 0.9, 5.0, power_w * 0.1}});
  p.on_power(samples);
  EnergyWindow train{"epoch-" + std::to_string(epoch) + "/train", start_ms, start_ms + 10'000, 10.0,
                     {{"package-0", energy_j * 10 / 12 * 0.9, false, true}, {"core", 1.0, false, false},
                      {"dram", energy_j * 10 / 12 * 0.1, false, true}}};
  EnergyWindow eval{"epoch-" + std::to_string(epoch) + "/eval", start_ms + 10'000, start_ms + 12'000, 2.0,
                    {{"package-0", energy_j * 2 / 12 * 0.9, false, true}, {"core", 1.0, false, false},
                     {"dram", energy_j * 2 / 12 * 0.1, false, true}}};
  p.on_window(train);
  p.on_window(eval);
}

TEST(RunProjectionTest, ProjectsFromTheFirstStableEpochOnAndNamesTheMetrics) {
  EnergyBudgetOptions budget;
  budget.intensity = {400, "test"};
  RunProjection p(10, budget, kDomains, std::nullopt);
  const double energies[] = {3000, 1000, 1010, 990};  // epoch 1 warms up
  std::optional<StepProjection> latest;
  for (int e = 1; e <= 4; ++e) {
    feed_epoch(p, e, energies[e - 1], 1'700'000'000'000 + (e - 1) * 12'000);
    latest = p.on_epoch_end(e);
    if (e < 3) {
      EXPECT_FALSE(latest.has_value()) << "epoch " << e;  // epoch 2 alone is no stretch yet
    }
  }
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->made_at_epoch, 4);
  EXPECT_EQ(latest->stabilisation.stable_epoch, 2);
  EXPECT_NEAR(latest->energy_per_epoch_j, 1000, 1e-9);
  EXPECT_NEAR(latest->energy_j, 6000 + 6 * 1000, 1e-9);
  EXPECT_NEAR(latest->duration_s, 10 * 12, 1e-9);
  const auto metrics = RunProjection::metrics(*latest);
  ASSERT_EQ(metrics.size(), 5u);
  EXPECT_EQ(metrics[0].first, "projected_energy_j");
  EXPECT_NEAR(metrics[0].second, 12'000, 1e-9);
  EXPECT_EQ(metrics[2].first, "projected_remaining_energy_j");
  EXPECT_NEAR(metrics[2].second, 6000, 1e-9);
  EXPECT_EQ(metrics[3].first, "projected_remaining_s");
  EXPECT_NEAR(metrics[3].second, 72, 1e-9);
  EXPECT_EQ(metrics[4].first, "projected_co2e_g");
  EXPECT_NEAR(metrics[4].second, 12'000 / 3.6e6 * 400, 1e-12);
}

TEST(RunProjectionTest, TheBudgetStopsBeforeTheProjectedNextEpochWouldExceedIt) {
  EnergyBudgetOptions budget;
  budget.energy_j = 7200;
  RunProjection p(10, budget, kDomains, std::nullopt);
  const double energies[] = {3000, 1000, 1000, 1000, 1000};
  double used = 0;
  std::string stop, note;
  int stopped_at = 0;
  for (int e = 1; e <= 5 && stop.empty(); ++e) {
    feed_epoch(p, e, energies[e - 1], 1'700'000'000'000 + (e - 1) * 12'000);
    p.on_epoch_end(e);
    if (std::string n = p.budget_note(); !n.empty()) note = n;
    used += energies[e - 1];
    stop = p.budget_stop_reason(e, used);
    stopped_at = e;
  }
  // The mean of all epochs (1.5 kJ after epoch 4) would have stopped it after epoch 4 with 6 kJ spent; the
  // stable epochs' 1 kJ lets epoch 5 run (7 kJ), and then stops it: an eighth epoch would exceed 7.2 kJ.
  EXPECT_EQ(stopped_at, 5);
  EXPECT_EQ(stop, "energy budget at epoch 5: 7 kJ used, the next epoch would take about 1 kJ (projected from the "
                  "stable epochs), over the 7.2 kJ budget");
  EXPECT_EQ(note, "STEP projects 12 kJ for the 10 epochs, over the 7.2 kJ budget: the run will stop before it exceeds it");
  EXPECT_EQ(p.budget_note(), "");  // said once
  // Without a stable stretch the budget falls back on the mean of the epochs.
  RunProjection unstable(10, budget, kDomains, std::nullopt);
  feed_epoch(unstable, 1, 3000, 1'700'000'000'000);
  unstable.on_epoch_end(1);
  EXPECT_EQ(unstable.budget_stop_reason(1, 3000), "");
  EXPECT_EQ(unstable.budget_stop_reason(2, 5000),
            "energy budget at epoch 2: 5 kJ used, the next epoch would take about 2.5 kJ, over the 7.2 kJ budget");
}

TEST(RunProjectionTest, AResumedRunContinuesFromItsStoredEpochs) {
  RunData earlier;
  for (int e = 1; e <= 3; ++e) {
    const int64_t t = 1'700'000'000'000 + (e - 1) * 12'000;
    earlier.energy_windows.push_back({"epoch-" + std::to_string(e) + "/train", t, t + 12'000, 12.0,
                                      {{"package-0", e == 1 ? 3000.0 : 1000.0, false, true}}});
  }
  RunProjection p(8, {}, kDomains, earlier);
  feed_epoch(p, 4, 1000, 1'700'000'036'000);
  auto projection = p.on_epoch_end(4);
  ASSERT_TRUE(projection.has_value());
  EXPECT_EQ(projection->stabilisation.stable_epoch, 2);
  EXPECT_NEAR(projection->energy_j, 6000 + 4 * 1000, 1e-9);
  // Without the earlier windows, the epochs cannot be placed: no projection, ever.
  RunProjection lost(8, {}, kDomains, RunData{});
  feed_epoch(lost, 4, 1000, 1'700'000'036'000);
  EXPECT_FALSE(lost.on_epoch_end(4).has_value());
  feed_epoch(lost, 5, 1000, 1'700'000'048'000);
  EXPECT_FALSE(lost.on_epoch_end(5).has_value());
}

}  // namespace
}  // namespace wattlab
