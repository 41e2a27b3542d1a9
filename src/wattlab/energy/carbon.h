// Carbon: turns energy into grams of CO2-equivalent with the carbon
// intensity of the electricity grid that supplied it.
//
//   co2e_g = energy_kwh × intensity_g_per_kwh × pue
//
// Intensities come from two tables compiled into the library (converted from
// CodeCarbon's data by data/convert_carbon_tables.py; CodeCarbon MIT, Our
// World in Data CC BY 4.0): per country by ISO 3166-1 alpha-3 code
// (data/carbon_intensity_countries.csv) and per cloud region
// (data/carbon_intensity_cloud.csv, "provider:region"), or a number the user
// gives. PUE (power usage effectiveness, the data centre's total power over
// its IT power) defaults to 1.0, i.e. the machine's own energy only.
#pragma once

#include <string>
#include <string_view>

#include "wattlab/core/status.h"

namespace wattlab {

struct CarbonIntensity {
  double g_per_kwh = 0;  // gCO2e per kWh
  // Where the figure came from, for summaries: "FRA (France, 2023; OWID via
  // CodeCarbon)", "gcp:europe-west1 (St. Ghislain, BEL; CodeCarbon)", "user".
  std::string source;
};

struct CarbonEstimate {
  double energy_kwh = 0;
  double co2e_g = 0;
  double intensity_g_per_kwh = 0;
  double pue = 1.0;
  std::string source;  // CarbonIntensity::source
};

// The intensity of a country's grid by ISO alpha-3 code, case-insensitive
// ("FRA", "usa"). NotFound for an unknown code, with how to find codes.
Result<CarbonIntensity> carbon_intensity_for_country(std::string_view alpha3);

// The intensity of a cloud region given as "provider:region", e.g.
// "gcp:europe-west1" (provider case-insensitive, region exact). NotFound
// names the providers the table knows.
Result<CarbonIntensity> carbon_intensity_for_cloud(std::string_view provider_region);

// Any of the above from one user string: a non-negative number of gCO2e/kWh
// ("420", "56.5"), "provider:region", or an alpha-3 country code.
// InvalidArgument for anything else, with the accepted forms.
Result<CarbonIntensity> resolve_carbon_intensity(std::string_view spec);

// energy_j in joules → kWh × intensity × pue. InvalidArgument for a negative
// or non-finite energy, or a pue below 1.
Result<CarbonEstimate> estimate_carbon(double energy_j, const CarbonIntensity& intensity, double pue = 1.0);

// The world's average grid intensity, for when the user names no location:
// 480 gCO2e/kWh (Ember, Global Electricity Review 2024: the 2023 figure).
CarbonIntensity world_average_carbon_intensity();

// Rows in the builtin tables (the tests check the embedding worked).
size_t carbon_country_count();
size_t carbon_cloud_region_count();

}  // namespace wattlab
