#include "wattlab/analysis/matrix_profile.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wattlab {
namespace {

nlohmann::json load_reference(const std::string& name) {
  std::ifstream in(std::string(WATTLAB_ANALYSIS_TESTDATA) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

// Matrix profiles, arc curves and regime locations against a brute-force
// NumPy computation (testdata/estimation_reference.py) on fixed series.
TEST(MatrixProfileTest, MatchesTheNumpyReference) {
  const nlohmann::json reference = load_reference("matrix_profile_reference.json");
  ASSERT_EQ(reference["cases"].size(), 4u);
  for (const auto& c : reference["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto series = c["series"].get<std::vector<double>>();
    const size_t window = c["window"].get<size_t>();
    const size_t exclusion_factor = c["exclusion_factor"].get<size_t>();
    auto profile = compute_matrix_profile(series, window);
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    const auto distance = c["distance"].get<std::vector<double>>();
    const auto index = c["index"].get<std::vector<int64_t>>();
    ASSERT_EQ(profile->distance.size(), distance.size());
    for (size_t i = 0; i < distance.size(); ++i) {
      EXPECT_NEAR(profile->distance[i], distance[i], 1e-9 * std::max(1.0, distance[i])) << "at " << i;
      EXPECT_EQ(profile->index[i], index[i]) << "at " << i;
    }
    const auto cac = corrected_arc_curve(profile->index, window, exclusion_factor);
    const auto expected_cac = c["cac"].get<std::vector<double>>();
    ASSERT_EQ(cac.size(), expected_cac.size());
    for (size_t i = 0; i < cac.size(); ++i) EXPECT_NEAR(cac[i], expected_cac[i], 1e-12) << "at " << i;
    const auto locations = regime_change_locations(cac, c["n_regimes"].get<size_t>(), window, exclusion_factor);
    EXPECT_EQ(locations, c["regime_locations"].get<std::vector<size_t>>());
  }
}

TEST(MatrixProfileTest, FindsALevelChange) {
  // Two levels with a little deterministic wobble; the change is at sample 100.
  std::vector<double> series;
  for (int i = 0; i < 200; ++i) series.push_back((i < 100 ? 50.0 : 35.0) + 0.5 * ((i * 7919) % 13) / 13.0);
  auto profile = compute_matrix_profile(series, 10);
  ASSERT_TRUE(profile.ok());
  const auto cac = corrected_arc_curve(profile->index, 10, 1);
  const auto at = regime_change_locations(cac, 2, 10, 1);
  ASSERT_EQ(at.size(), 1u);
  EXPECT_NEAR(static_cast<double>(at[0]), 95.0, 6.0);
  EXPECT_LT(cac[at[0]], 0.1);
}

TEST(MatrixProfileTest, RefusesWhatItCannotProfile) {
  const std::vector<double> short_series(10, 1.0);
  EXPECT_FALSE(compute_matrix_profile(short_series, 8).ok());  // 8 + 2 + 1 samples needed
  EXPECT_TRUE(compute_matrix_profile(std::vector<double>(11, 1.0), 8).ok());
  EXPECT_FALSE(compute_matrix_profile(std::vector<double>(50, 1.0), 1).ok());
  std::vector<double> with_nan(50, 1.0);
  with_nan[20] = NAN;
  EXPECT_FALSE(compute_matrix_profile(with_nan, 8).ok());
}

}  // namespace
}  // namespace wattlab
