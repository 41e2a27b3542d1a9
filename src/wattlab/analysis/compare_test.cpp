#include "wattlab/analysis/compare.h"

#include <gtest/gtest.h>

#include "wattlab/analysis/observations.h"

namespace wattlab {
namespace {

Observations two_models() {
  Observations o;
  o.value_name = "energy";
  o.factor_names = {"model"};
  o.factor_levels = {{}};
  const std::vector<double> cnn = {1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 1.01};
  const std::vector<double> resnet = {2.0, 2.2, 1.9, 2.1, 2.05, 1.95, 2.3, 2.15};
  for (double v : resnet) o.values.push_back(v), o.factor_levels[0].push_back("resnet");
  for (double v : cnn) o.values.push_back(v), o.factor_levels[0].push_back("cnn");
  return o;
}

TEST(Compare, TwoGroupsGiveKeysThatSayWhatTheyHold) {
  auto r = compare(two_models());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->groups[0].name, "cnn");  // sorted
  const nlohmann::json j = compare_to_json(*r);
  EXPECT_GT(j["kruskal_wallis"]["h"].get<double>(), 10);
  EXPECT_LT(j["kruskal_wallis"]["p_value"].get<double>(), 0.001);
  EXPECT_EQ(j["kruskal_wallis"]["magnitude"], "large");
  // cnn against resnet: every cnn value is lower.
  EXPECT_DOUBLE_EQ(j["cliffs_delta"]["delta"].get<double>(), -1.0);
  EXPECT_EQ(j["cliffs_delta"]["magnitude"], "large");
  EXPECT_EQ(j["mann_whitney"]["method"], "exact");  // both have 8 values, no ties
  EXPECT_NEAR(j["mann_whitney"]["p_value"].get<double>(), 2.0 / 12870, 1e-12);  // 2 / C(16, 8)
  EXPECT_EQ(j["groups"][1]["n"], 8);
  EXPECT_TRUE(j["groups"][0].contains("median_ci"));
  bool says_lower = false;
  for (const auto& sentence : j["reading"])
    says_lower |= sentence.get<std::string>().find("cnn tends to be lower than resnet") != std::string::npos;
  EXPECT_TRUE(says_lower) << j["reading"].dump(1);
}

TEST(Compare, OneGroupExplainsInsteadOfNumbers) {
  Observations o = two_models();
  for (auto& level : o.factor_levels[0]) level = "cnn";
  auto r = compare(o);
  ASSERT_TRUE(r.ok());
  const nlohmann::json j = compare_to_json(*r);
  ASSERT_TRUE(j["kruskal_wallis"].contains("error"));
  EXPECT_NE(j["kruskal_wallis"]["error"].get<std::string>().find("at least 2 groups"), std::string::npos);
  EXPECT_FALSE(j["kruskal_wallis"].contains("h"));
  EXPECT_TRUE(j["pairs"].empty());
}

TEST(Compare, AllValuesEqualIsAMessage) {
  Observations o = two_models();
  for (double& v : o.values) v = 3.0;
  auto r = compare(o);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->kruskal_wallis.ok());
  EXPECT_NE(r->kruskal_wallis.status().message().find("all 16 values equal 3"), std::string::npos);
  ASSERT_FALSE(r->pairs[0].mann_whitney.ok());
  ASSERT_TRUE(r->pairs[0].cliffs_delta.ok());
  EXPECT_EQ(r->pairs[0].cliffs_delta->delta, 0);  // no dominance either way is a fact, not an error
}

TEST(Compare, TwoFactorsAddTheTwoWayAnalysisAndCorrelation) {
  Observations o;
  o.value_name = "energy";
  o.factor_names = {"model", "env"};
  o.factor_levels = {{}, {}};
  o.correlate_name = "f1";
  const double base[2][2] = {{1.0, 0.8}, {5.0, 2.5}};  // the big model gains more from env b
  for (int m = 0; m < 2; ++m)
    for (int e = 0; e < 2; ++e)
      for (int rep = 0; rep < 6; ++rep) {
        o.values.push_back(base[m][e] * (1 + 0.02 * (rep - 2.5)));
        o.factor_levels[0].push_back(m == 0 ? "small" : "big");
        o.factor_levels[1].push_back(e == 0 ? "a" : "b");
        o.correlate_values.push_back(0.8 + 0.05 * m + 0.001 * rep);
      }
  CompareOptions options;
  options.correlate_alternative = Alternative::kGreater;
  auto r = compare(o, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->groups.size(), 4u);
  EXPECT_EQ(r->groups[0].name, "big / a");
  ASSERT_TRUE(r->two_way_anova && r->two_way_anova->ok()) << r->two_way_anova->status().to_string();
  EXPECT_LT((*r->two_way_anova)->interaction.p_value, 1e-6);
  ASSERT_TRUE(r->spearman && r->spearman->ok());
  EXPECT_GT((*r->spearman)->rho, 0.5);
  const nlohmann::json j = compare_to_json(*r);
  EXPECT_EQ(j["two_way_anova"]["terms"][2]["term"], "model:env");
  EXPECT_EQ(j["spearman"]["alternative"], "greater");
  bool interaction = false;
  for (const auto& s : j["reading"]) interaction |= s.get<std::string>().find("interact") != std::string::npos;
  EXPECT_TRUE(interaction);
}

TEST(Compare, RejectsInconsistentInput) {
  Observations o = two_models();
  o.factor_levels[0].pop_back();
  EXPECT_FALSE(compare(o).ok());
  Observations empty;
  empty.factor_names = {"m"};
  empty.factor_levels = {{}};
  EXPECT_NE(compare(empty).status().message().find("no rows"), std::string::npos);
}

TEST(CsvObservations, ParsesQuotesAndCountsDroppedRows) {
  const std::string csv =
      "model,\"env, quoted\",energy,f1\r\n"
      "cnn,a,1.5,0.8\r\n"
      "\"res\"\"net\",a,2.5,0.9\n"
      "cnn,b,,0.7\n"
      "cnn,b,n/a,0.7\n"
      "cnn,b,1.25,\n";
  auto o = parse_csv_observations(csv, {{"model", "env, quoted"}, "energy", "f1"});
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  ASSERT_EQ(o->values.size(), 3u);
  EXPECT_EQ(o->factor_levels[0][1], "res\"net");
  EXPECT_EQ(o->factor_levels[1][2], "b");
  EXPECT_TRUE(std::isnan(o->correlate_values[2]));
  EXPECT_EQ(o->dropped_rows, 2u);
  auto missing = parse_csv_observations(csv, {{"arch"}, "energy", ""}, "runs.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("runs.csv has no column \"arch\"; its columns are: model, env, quoted"),
            std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(parse_csv_observations("a,b\n1,2,3\n", {{"a"}, "b", ""}).ok());
  EXPECT_FALSE(parse_csv_observations("a,b\n\"1,2\n", {{"a"}, "b", ""}).ok());
}

}  // namespace
}  // namespace wattlab
