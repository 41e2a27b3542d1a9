#include "wattlab/energy/energy_budget.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(EnergyBudgetTest, ParsesEnergyAndCarbonWithUnits) {
  EXPECT_DOUBLE_EQ(*parse_energy_j("50kJ"), 50'000);
  EXPECT_DOUBLE_EQ(*parse_energy_j("50 kJ"), 50'000);
  EXPECT_DOUBLE_EQ(*parse_energy_j("2.5MJ"), 2.5e6);
  EXPECT_DOUBLE_EQ(*parse_energy_j("0.1kWh"), 360'000);
  EXPECT_DOUBLE_EQ(*parse_energy_j("750 Wh"), 2.7e6);
  EXPECT_DOUBLE_EQ(*parse_energy_j("1200"), 1200);
  EXPECT_DOUBLE_EQ(*parse_energy_j("5mJ"), 0.005);
  EXPECT_DOUBLE_EQ(*parse_energy_j("50kj"), 50'000);
  EXPECT_DOUBLE_EQ(*parse_energy_j("1 KWH"), 3.6e6);
  EXPECT_EQ(parse_energy_j("5mj").status().code(), Status::Code::kInvalidArgument) << "mJ or MJ?";
  EXPECT_DOUBLE_EQ(*parse_carbon_g("10g"), 10);
  EXPECT_DOUBLE_EQ(*parse_carbon_g("1.5 kg"), 1500);
  for (const char* bad : {"", "kJ", "50 furlongs", "-5kJ", "0", "nan kJ"}) {
    auto r = parse_energy_j(bad);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_NE(parse_energy_j("50 furlongs").status().message().find("kWh"), std::string::npos);
  EXPECT_EQ(parse_carbon_g("10 kJ").status().code(), Status::Code::kInvalidArgument);
}

TEST(EnergyBudgetTest, StopsBeforeAnEpochItCannotAfford) {
  EnergyBudgetOptions options;
  options.energy_j = 50'000;
  EnergyBudget budget(options);
  ASSERT_TRUE(budget.enabled());
  // 6 kJ per epoch: after 7 epochs 42 kJ used, the 8th would end at 48 kJ:
  // go on; after 8 (48 kJ) the 9th would end at 54 kJ: stop.
  for (int epoch = 1; epoch <= 7; ++epoch) EXPECT_EQ(budget.after_epoch(epoch, 6'000.0 * epoch), "") << epoch;
  std::string reason = budget.after_epoch(8, 48'000);
  EXPECT_EQ(reason, "energy budget at epoch 8: 48 kJ used, the next epoch would take about 6 kJ, over the 50 kJ budget");
  // Uneven epochs: the projection is the mean so far.
  EXPECT_EQ(budget.after_epoch(2, 30'000), "");                   // next ~15 kJ: 45 kJ
  EXPECT_NE(budget.after_epoch(2, 34'000), "");                   // next ~17 kJ: 51 kJ
  EXPECT_EQ(EnergyBudget(EnergyBudgetOptions{}).after_epoch(100, 1e12), "") << "no budget, no stop";
}

TEST(EnergyBudgetTest, StopsBeforeABatchThatWouldOverrun) {
  EnergyBudgetOptions options;
  options.energy_j = 5;
  EnergyBudget budget(options);
  EXPECT_EQ(budget.before_batch(1, "training", 576, 1500, 4.5, 0.5), "") << "ends exactly at the budget";
  EXPECT_EQ(budget.before_batch(1, "training", 640, 1500, 4.61, 0.41),
            "energy budget in epoch 1 (training, 640 of 1500 images): 4.61 J used, the next batch would take "
            "about 0.41 J, over the 5 J budget");
  EXPECT_NE(budget.before_batch(2, "evaluation", 0, 500, 5.2, 0), "") << "already over";
  EXPECT_EQ(EnergyBudget(EnergyBudgetOptions{}).before_batch(1, "training", 0, 10, 1e12, 1e12), "");
}

TEST(EnergyBudgetTest, CarbonBudgetBecomesJoulesAtTheGridIntensity) {
  EnergyBudgetOptions options;
  options.carbon_g = 10;
  options.intensity.g_per_kwh = 400;
  options.pue = 1.25;
  EnergyBudget budget(options);
  // 10 g / (400 g/kWh × 1.25) = 0.02 kWh = 72 kJ.
  ASSERT_TRUE(budget.limit_j());
  EXPECT_NEAR(*budget.limit_j(), 72'000, 1e-6);
  EXPECT_EQ(budget.after_epoch(1, 30'000), "");
  std::string reason = budget.after_epoch(1, 40'000);
  EXPECT_NE(reason.find("10 g CO2e (72 kJ at 400 g/kWh, PUE 1.25)"), std::string::npos) << reason;
  // Both given: the tighter wins.
  options.energy_j = 50'000;
  EXPECT_NEAR(*EnergyBudget(options).limit_j(), 50'000, 1e-6);
}

}  // namespace
}  // namespace wattlab
