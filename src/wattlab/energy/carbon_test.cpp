#include "wattlab/energy/carbon.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(CarbonTest, BuiltinTablesAreEmbedded) {
  EXPECT_EQ(carbon_country_count(), 213u);
  EXPECT_EQ(carbon_cloud_region_count(), 40u);
}

TEST(CarbonTest, CountryByAlpha3AnyCase) {
  auto fra = carbon_intensity_for_country("FRA");
  ASSERT_TRUE(fra.ok()) << fra.status().to_string();
  EXPECT_DOUBLE_EQ(fra->g_per_kwh, 56.039);
  EXPECT_EQ(fra->source, "FRA (France, 2023; OWID via CodeCarbon)");
  auto usa = carbon_intensity_for_country("usa");
  ASSERT_TRUE(usa.ok());
  EXPECT_DOUBLE_EQ(usa->g_per_kwh, 369.473);
  auto deu = carbon_intensity_for_country(" Deu ");
  ASSERT_TRUE(deu.ok());
  EXPECT_DOUBLE_EQ(deu->g_per_kwh, 380.95);
}

TEST(CarbonTest, UnknownCountrySaysHowToFindCodes) {
  auto xyz = carbon_intensity_for_country("FR");
  ASSERT_FALSE(xyz.ok());
  EXPECT_EQ(xyz.status().code(), Status::Code::kNotFound);
  EXPECT_NE(xyz.status().message().find("unknown country code \"FR\""), std::string::npos);
  EXPECT_NE(xyz.status().message().find("ISO 3166-1 alpha-3"), std::string::npos);
}

TEST(CarbonTest, CloudRegion) {
  auto region = carbon_intensity_for_cloud("gcp:europe-west1");
  ASSERT_TRUE(region.ok()) << region.status().to_string();
  EXPECT_DOUBLE_EQ(region->g_per_kwh, 122.0);
  EXPECT_EQ(region->source.rfind("gcp:europe-west1 (", 0), 0u) << region->source;
  auto upper = carbon_intensity_for_cloud("GCP:us-central1");
  ASSERT_TRUE(upper.ok());
  EXPECT_DOUBLE_EQ(upper->g_per_kwh, 430.0);
  auto fixed = carbon_intensity_for_cloud("gcp:me-central1");  // misspelt in the source data
  ASSERT_TRUE(fixed.ok());
  EXPECT_DOUBLE_EQ(fixed->g_per_kwh, 575.0);
  auto aws = carbon_intensity_for_cloud("aws:us-east-1");
  ASSERT_FALSE(aws.ok());
  EXPECT_EQ(aws.status().code(), Status::Code::kNotFound);
  EXPECT_NE(aws.status().message().find("providers in the table: gcp"), std::string::npos) << aws.status().message();
}

TEST(CarbonTest, ResolveAcceptsNumberRegionOrCountry) {
  auto number = resolve_carbon_intensity("420.5");
  ASSERT_TRUE(number.ok());
  EXPECT_DOUBLE_EQ(number->g_per_kwh, 420.5);
  EXPECT_EQ(number->source, "user (420.5 gCO2e/kWh)");
  auto region = resolve_carbon_intensity("gcp:europe-north1");
  ASSERT_TRUE(region.ok());
  EXPECT_DOUBLE_EQ(region->g_per_kwh, 46.0);
  auto country = resolve_carbon_intensity("fra");
  ASSERT_TRUE(country.ok());
  EXPECT_DOUBLE_EQ(country->g_per_kwh, 56.039);
  EXPECT_FALSE(resolve_carbon_intensity("-3").ok());
  EXPECT_FALSE(resolve_carbon_intensity("12abc").ok());
  EXPECT_FALSE(resolve_carbon_intensity("").ok());
}

TEST(CarbonTest, KilowattHoursTimesIntensityTimesPue) {
  auto fra = carbon_intensity_for_country("FRA");
  ASSERT_TRUE(fra.ok());
  auto estimate = estimate_carbon(3.6e6, *fra, 1.5);  // 1 kWh
  ASSERT_TRUE(estimate.ok());
  EXPECT_DOUBLE_EQ(estimate->energy_kwh, 1.0);
  EXPECT_DOUBLE_EQ(estimate->co2e_g, 56.039 * 1.5);
  EXPECT_DOUBLE_EQ(estimate->intensity_g_per_kwh, 56.039);
  EXPECT_DOUBLE_EQ(estimate->pue, 1.5);
  EXPECT_EQ(estimate->source, fra->source);
  // 90 kJ = 0.025 kWh in the USA at PUE 1: 9.236825 g.
  auto usa = estimate_carbon(90'000, *carbon_intensity_for_country("USA"));
  ASSERT_TRUE(usa.ok());
  EXPECT_NEAR(usa->co2e_g, 0.025 * 369.473, 1e-12);
  EXPECT_FALSE(estimate_carbon(-1, *fra).ok());
  EXPECT_FALSE(estimate_carbon(1, *fra, 0.9).ok());
}

}  // namespace
}  // namespace wattlab
