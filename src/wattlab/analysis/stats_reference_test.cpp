// Every statistic against the values SciPy and statsmodels give for the same
// input: one runner over the cases of testdata/stats_reference.json (written
// by testdata/make_reference.py, which says where each reference comes from
// and why a tolerance differs from 1e-6 relative).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "wattlab/analysis/anova.h"
#include "wattlab/analysis/assumptions.h"
#include "wattlab/analysis/correlation.h"
#include "wattlab/analysis/descriptive.h"
#include "wattlab/analysis/effect_size.h"
#include "wattlab/analysis/multiple_testing.h"
#include "wattlab/analysis/rank_tests.h"
#include "wattlab/analysis/studentized_range.h"
#include "wattlab/analysis/two_way_anova.h"

namespace wattlab {
namespace {

using nlohmann::json;
using Values = std::map<std::string, double>;  // NaN where the statistic is undefined

std::vector<double> numbers(const json& array) {
  std::vector<double> out;
  for (const json& v : array) out.push_back(v.is_string() ? std::nan("") : v.get<double>());  // "NaN"
  return out;
}

Sample sample(const json& array, const std::string& name = "x") { return {name, numbers(array)}; }

std::vector<Sample> groups(const json& input) {
  std::vector<Sample> out;
  for (const json& g : input["groups"]) out.push_back(sample(g, "group " + std::to_string(out.size() + 1)));
  return out;
}

std::string pair_key(size_t a, size_t b) { return std::to_string(a) + "-" + std::to_string(b) + "."; }

// What analysis/ computes for one case, keyed as the data file keys it.
Result<Values> compute(const std::string& test, const json& in) {
  Values v;
  if (test == "describe" || test == "bootstrap_mean" || test == "bootstrap_median") {
    BootstrapOptions bootstrap;
    if (in.contains("resamples")) bootstrap.resamples = in["resamples"].get<int>();
    auto d = describe(sample(in["values"]), bootstrap);
    if (!d.ok()) return d.status();
    if (test == "bootstrap_mean") return Values{{"low", d->mean_ci.low}, {"high", d->mean_ci.high}};
    if (test == "bootstrap_median") return Values{{"low", d->median_ci.low}, {"high", d->median_ci.high}};
    return Values{{"n", static_cast<double>(d->n)}, {"mean", d->mean}, {"sd", d->sd}, {"median", d->median},
                  {"q1", d->q1}, {"q3", d->q3}, {"iqr", d->iqr}, {"min", d->min}, {"max", d->max}};
  }
  if (test == "shapiro_wilk_w" || test == "shapiro_wilk_p") {
    auto r = shapiro_wilk(sample(in["values"]));
    if (!r.ok()) return r.status();
    return Values{{"w", r->w}, {"p_value", r->p_value}};
  }
  if (test == "levene") {
    auto r = levene_median(groups(in));
    if (!r.ok()) return r.status();
    return Values{{"statistic", r->statistic}, {"p_value", r->p_value}, {"df_between", r->df_between},
                  {"df_within", r->df_within}};
  }
  if (test == "kruskal_wallis") {
    auto r = kruskal_wallis(groups(in));
    if (!r.ok()) return r.status();
    return Values{{"h", r->h}, {"p_value", r->p_value}, {"df", r->df}, {"eta_squared_h", r->eta_squared_h}};
  }
  if (test == "dunn") {
    for (PAdjustment adjustment : {PAdjustment::kHolm, PAdjustment::kBonferroni, PAdjustment::kBenjaminiHochberg}) {
      auto r = dunn(groups(in), adjustment);
      if (!r.ok()) return r.status();
      for (const DunnPair& p : r->pairs) {
        const std::string key = pair_key(p.first, p.second);
        v[key + "z"] = p.z;
        v[key + "p_value"] = p.p_value;
        v[key + "p_" + p_adjustment_name(adjustment)] = p.p_adjusted;
      }
    }
    return v;
  }
  if (test == "mann_whitney") {
    auto alternative = parse_alternative(in["alternative"].get<std::string>());
    if (!alternative.ok()) return alternative.status();
    auto r = mann_whitney_u(sample(in["x"], "x"), sample(in["y"], "y"), *alternative);
    if (!r.ok()) return r.status();
    return Values{{"u", r->u}, {"p_value", r->p_value}};
  }
  if (test == "cliffs_delta") {
    auto r = cliffs_delta(sample(in["x"], "x"), sample(in["y"], "y"));
    if (!r.ok()) return r.status();
    return Values{{"delta", r->delta}};
  }
  if (test == "spearman") {
    auto alternative = parse_alternative(in["alternative"].get<std::string>());
    if (!alternative.ok()) return alternative.status();
    auto r = spearman(sample(in["x"], "x"), sample(in["y"], "y"), *alternative);
    if (!r.ok()) return r.status();
    return Values{{"rho", r->rho}, {"p_value", r->p_value}};
  }
  if (test == "welch_anova") {
    auto r = welch_anova(groups(in));
    if (!r.ok()) return r.status();
    return Values{{"f", r->f}, {"p_value", r->p_value}, {"df_between", r->df_between}, {"df_within", r->df_within}};
  }
  if (test == "games_howell") {
    auto r = games_howell(groups(in));
    if (!r.ok()) return r.status();
    for (const GamesHowellPair& p : r->pairs) {
      const std::string key = pair_key(p.first, p.second);
      v[key + "t"] = p.t;
      v[key + "df"] = p.df;
      v[key + "p_value"] = p.p_value;
    }
    return v;
  }
  if (test == "studentized_range_sf") {
    return Values{{"sf", studentized_range_sf(in["q"].get<double>(), in["k"].get<int>(), in["df"].get<double>())}};
  }
  if (test == "two_way_anova_log") {
    TwoFactorData data{"a", "b", {}, {}, {}, {}, numbers(in["values"])};
    for (auto [column, levels, index] : {std::tuple{"a", &data.a_levels, &data.a}, std::tuple{"b", &data.b_levels, &data.b}}) {
      std::map<std::string, uint32_t> seen;  // levels in sorted order, as patsy codes them
      for (const json& l : in[column]) seen.emplace(l.get<std::string>(), 0);
      for (auto& [name, i] : seen) i = static_cast<uint32_t>(levels->size()), levels->push_back(name);
      for (const json& l : in[column]) index->push_back(seen[l.get<std::string>()]);
    }
    auto r = two_way_anova_log(data);
    if (!r.ok()) return r.status();
    for (const auto& [key, t] : {std::pair{"a", &r->a}, std::pair{"b", &r->b}, std::pair{"interaction", &r->interaction}}) {
      v[std::string(key) + ".sum_of_squares"] = t->sum_of_squares;
      v[std::string(key) + ".df"] = t->df;
      v[std::string(key) + ".f"] = t->f;
      v[std::string(key) + ".p_value"] = t->p_value;
    }
    v["residual.sum_of_squares"] = r->residual_sum_of_squares;
    v["residual.df"] = r->residual_df;
    return v;
  }
  if (test == "p_adjust") {
    const std::vector<double> p = numbers(in["p_values"]);
    for (PAdjustment adjustment : {PAdjustment::kHolm, PAdjustment::kBonferroni, PAdjustment::kBenjaminiHochberg}) {
      const std::vector<double> adjusted = adjust_p_values(p, adjustment);
      for (size_t i = 0; i < adjusted.size(); ++i)
        v[std::string(p_adjustment_name(adjustment)) + "." + std::to_string(i)] = adjusted[i];
    }
    return v;
  }
  return Status::invalid_argument("the runner knows no test \"" + test + "\"");
}

std::vector<json> load_cases() {
  std::ifstream in(std::string(WATTLAB_ANALYSIS_TESTDATA) + "/stats_reference.json");
  if (!in) return {};
  const json file = json::parse(in);
  return file["cases"].get<std::vector<json>>();
}

class StatsReference : public ::testing::TestWithParam<json> {};

TEST_P(StatsReference, MatchesReference) {
  const json& c = GetParam();
  SCOPED_TRACE(c["test"].get<std::string>() + " / " + c["name"].get<std::string>());
  auto got = compute(c["test"], c["input"]);
  if (c.contains("expect_error")) {
    ASSERT_FALSE(got.ok()) << "expected an error, got a result";
    EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(got.status().message().find(c["expect_error"].get<std::string>()), std::string::npos)
        << got.status().message();
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  const double rel = c["tolerance"]["rel"], abs = c["tolerance"]["abs"];
  for (const auto& [key, expected] : c["expect"].items()) {
    ASSERT_TRUE(got->count(key)) << "no value for " << key;
    const double actual = got->at(key);
    if (expected.is_null()) {
      EXPECT_TRUE(std::isnan(actual)) << key << " should be undefined, got " << actual;
      continue;
    }
    const double e = expected.get<double>();
    EXPECT_LE(std::fabs(actual - e), rel * std::fabs(e) + abs) << key << ": got " << actual << ", reference " << e;
  }
}

std::string case_name(const ::testing::TestParamInfo<json>& info) {
  std::string name = std::to_string(info.index) + "_" + info.param["test"].get<std::string>() + "_" +
                     info.param["name"].get<std::string>();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, StatsReference, ::testing::ValuesIn(load_cases()), case_name);

TEST(StatsReferenceFile, HasCasesOfEveryTest) {
  std::set<std::string> tests;
  for (const json& c : load_cases()) tests.insert(c["test"].get<std::string>());
  for (const char* t : {"describe", "bootstrap_mean", "bootstrap_median", "shapiro_wilk_w", "shapiro_wilk_p", "levene",
                        "kruskal_wallis", "dunn", "mann_whitney", "cliffs_delta", "spearman", "welch_anova",
                        "games_howell", "two_way_anova_log", "p_adjust"})  // studentized_range_sf: only with
                                                                          // make_reference.py --studentized-range
    EXPECT_TRUE(tests.count(t)) << t;
}

}  // namespace
}  // namespace wattlab
