#include "wattlab/cli/run_view.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattlab::cli {
namespace {

RunData run(const std::string& name, std::map<std::string, double> metrics, std::map<std::string, std::string> tags = {}) {
  RunData r;
  r.info.run_id = name;
  r.info.run_name = name;
  for (const auto& [k, v] : metrics) r.latest_metrics[k] = {k, v, 0, 0};
  r.tags = std::move(tags);
  return r;
}

TEST(RunViewTest, NoEnergyDataIsAStateOfItsOwn) {
  // A run of the plain MLflow client: no energy figure, no label.
  EXPECT_EQ(energy_state(run("mlflow", {{"loss", 0.5}})), EnergyState::kNone);
  // The label alone is not energy data.
  EXPECT_EQ(energy_state(run("x", {}, {{"wattlab.energy_estimated", "false"}})), EnergyState::kNone);
  EXPECT_EQ(energy_state(run("m", {{"energy_j", 5}}, {{"wattlab.energy_estimated", "false"}})), EnergyState::kMeasured);
  EXPECT_EQ(energy_state(run("e", {{"energy_j", 5}}, {{"wattlab.energy_estimated", "true"}})), EnergyState::kEstimated);
  EXPECT_EQ(energy_state(run("u", {{"energy_j", 5}})), EnergyState::kUnlabelled);
  RunData windows = run("w", {});
  windows.energy_windows.push_back({"run", 0, 1, 1.0, {{"cpu-estimated", 3.0, true, true}}});
  EXPECT_EQ(energy_state(windows), EnergyState::kEstimated);
  EXPECT_STREQ(energy_state_text(EnergyState::kNone), "no energy data");
  EXPECT_STREQ(energy_state_key(EnergyState::kNone), "none");
}

TEST(RunViewTest, DerivedFigures) {
  RunData train = run("t", {{"accuracy", 0.9}, {"f1_macro", 0.8}, {"energy_j", 4500}, {"energy_per_image_j", 0.05},
                            {"co2e_g", 0.6}});
  EXPECT_DOUBLE_EQ(*derived_value(train, "accuracy_per_kj"), 0.2);
  EXPECT_DOUBLE_EQ(*derived_value(train, "f1_per_kj"), 0.8 / 4.5);
  EXPECT_DOUBLE_EQ(*derived_value(train, "energy_per_image_j"), 0.05);
  EXPECT_DOUBLE_EQ(*derived_value(train, "co2e_per_image_g"), 0.05 * 0.6 / 4500);
  RunData inference = run("i", {{"energy_j", 20}, {"images", 1000}});
  EXPECT_DOUBLE_EQ(*derived_value(inference, "energy_per_image_j"), 0.02);
  EXPECT_TRUE(std::isnan(*derived_value(run("n", {{"accuracy", 0.9}}), "accuracy_per_kj")));
  EXPECT_EQ(derived_value(train, "joules_per_dollar").status().code(), Status::Code::kInvalidArgument);
}

TEST(RunViewTest, SortsByDerivedColumnsWithMissingValuesLast) {
  std::vector<RunData> runs = {run("a", {{"accuracy", 0.9}, {"energy_j", 9000}}),   // 0.1 per kJ
                               run("b", {{"accuracy", 0.8}}),                        // none
                               run("c", {{"accuracy", 0.6}, {"energy_j", 2000}}),   // 0.3 per kJ
                               run("d", {{"accuracy", 0.7}, {"energy_j", 3500}})};  // 0.2 per kJ
  auto order = parse_run_order("accuracy_per_kj DESC");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->key, "accuracy_per_kj");
  EXPECT_TRUE(order->descending);
  EXPECT_TRUE(orders_by_derived({*order}));
  sort_runs(runs, {*order});
  EXPECT_EQ(runs[0].info.run_id, "c");
  EXPECT_EQ(runs[1].info.run_id, "d");
  EXPECT_EQ(runs[2].info.run_id, "a");
  EXPECT_EQ(runs[3].info.run_id, "b");
  sort_runs(runs, {*parse_run_order("accuracy_per_kj asc")});
  EXPECT_EQ(runs[0].info.run_id, "a");
  EXPECT_EQ(runs[3].info.run_id, "b") << "missing last either way";
  sort_runs(runs, {*parse_run_order("metrics.accuracy")});
  EXPECT_EQ(runs[0].info.run_id, "c");
  EXPECT_FALSE(orders_by_derived({*parse_run_order("metrics.energy_j DESC")}));
  EXPECT_FALSE(parse_run_order("  DESC").ok());
}

}  // namespace
}  // namespace wattlab::cli
