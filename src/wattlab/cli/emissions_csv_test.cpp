#include "wattlab/cli/emissions_csv.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace wattlab::cli {
namespace {

std::map<std::string, std::string> row_of(const RunData& run, const std::string& experiment) {
  const auto fields = codecarbon_row(run, experiment);
  EXPECT_EQ(fields.size(), codecarbon_columns().size());
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < fields.size() && i < codecarbon_columns().size(); ++i) out[codecarbon_columns()[i]] = fields[i];
  return out;
}

TEST(EmissionsCsvTest, CodeCarbonsColumnsInItsOrder) {
  const auto& c = codecarbon_columns();
  ASSERT_EQ(c.size(), 32u);
  EXPECT_EQ(c.front(), "timestamp");
  EXPECT_EQ(c[5], "emissions");
  EXPECT_EQ(c[13], "energy_consumed");
  EXPECT_EQ(c.back(), "pue");
}

TEST(EmissionsCsvTest, ARunBecomesOneRowInCodeCarbonsUnits) {
  setenv("TZ", "UTC", 1);
  RunData run;
  run.info.run_id = "0123456789abcdef0123456789abcdef";
  run.info.experiment_id = "3";
  run.info.start_time_ms = 1'700'000'000'000;
  run.info.end_time_ms = 1'700'000'010'000;
  run.latest_metrics["energy_j"] = {"energy_j", 3600.0, 0, 0};
  run.latest_metrics["co2e_g"] = {"co2e_g", 0.056, 0, 0};
  run.params = {{"carbon_source", "FRA (France, 2023; OWID via CodeCarbon)"}, {"pue", "1.2"}};
  run.environment = {{"cpu_model", "AMD EPYC"}, {"cpu_count", "2"}, {"ram_gib", "23.5"}, {"os", "Debian 12"}};
  // 10 s: package 2000 J (its core sub-zone inside it), dram 100 J, one GPU 1500 J.
  run.energy_windows.push_back({"epoch-1/train", 0, 0, 5.0, {{"package-0", 1.0, false, true}}});
  run.energy_windows.push_back({"run", 0, 0, 10.0,
                                {{"package-0", 2000.0, false, true}, {"package-0/core", 1500.0, false, false},
                                 {"dram", 100.0, false, true}, {"gpu-0", 1500.0, false, true}}});
  auto row = row_of(run, "green-cv");
  EXPECT_EQ(row["timestamp"], "2023-11-14T22:13:30");
  EXPECT_EQ(row["project_name"], "green-cv");
  EXPECT_EQ(row["run_id"], "01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_EQ(row["experiment_id"], "3");
  EXPECT_EQ(row["duration"], "10.0");
  EXPECT_EQ(row["emissions"], "5.6e-05");       // kg
  EXPECT_EQ(row["emissions_rate"], "5.6e-06");  // kg/s
  EXPECT_EQ(row["cpu_power"], "200.0");         // W
  EXPECT_EQ(row["gpu_power"], "150.0");
  EXPECT_EQ(row["ram_power"], "10.0");
  EXPECT_EQ(std::stod(row["cpu_energy"]), 2000.0 / 3.6e6);  // kWh, the sub-zone not counted twice
  EXPECT_EQ(std::stod(row["energy_consumed"]), 0.001);
  EXPECT_EQ(row["country_iso_code"], "FRA");
  EXPECT_EQ(row["country_name"], "France");
  EXPECT_EQ(row["cloud_provider"], "");
  EXPECT_EQ(row["on_cloud"], "N");
  EXPECT_EQ(row["cpu_model"], "AMD EPYC");
  EXPECT_EQ(row["gpu_count"], "1");
  EXPECT_EQ(row["ram_total_size"], "23.5");
  EXPECT_EQ(row["tracking_mode"], "machine");
  EXPECT_EQ(row["pue"], "1.2");

  run.params["carbon_source"] = "gcp:europe-west1 (St. Ghislain, BEL; CodeCarbon)";
  row = row_of(run, "green-cv");
  EXPECT_EQ(row["cloud_provider"], "gcp");
  EXPECT_EQ(row["cloud_region"], "europe-west1");
  EXPECT_EQ(row["country_iso_code"], "BEL");
  EXPECT_EQ(row["on_cloud"], "Y");
}

TEST(EmissionsCsvTest, ARunWithoutEnergyHasEmptyFigures) {
  RunData run;
  run.info.run_id = "abc";
  run.params["carbon_source"] = "world average 2023 (Ember); name your grid with --carbon";
  auto row = row_of(run, "Default");
  EXPECT_EQ(row["energy_consumed"], "");
  EXPECT_EQ(row["emissions"], "");
  EXPECT_EQ(row["cpu_energy"], "");
  EXPECT_EQ(row["country_iso_code"], "");
  EXPECT_EQ(row["pue"], "1");
}

}  // namespace
}  // namespace wattlab::cli
