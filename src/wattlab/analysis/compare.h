// `stats compare`: every test of analysis/ over one measurement grouped by
// one or two factors, with effect sizes and a plain-language reading. What
// `wattlab stats compare` prints and what a study report's statistics are.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/anova.h"
#include "wattlab/analysis/assumptions.h"
#include "wattlab/analysis/correlation.h"
#include "wattlab/analysis/descriptive.h"
#include "wattlab/analysis/effect_size.h"
#include "wattlab/analysis/multiple_testing.h"
#include "wattlab/analysis/rank_tests.h"
#include "wattlab/analysis/two_way_anova.h"
#include "wattlab/core/status.h"

namespace wattlab {

// One measurement per row with one or two grouping labels (a CSV's columns,
// or runs' params/tags/metrics), and optionally a second measurement of the
// same row to correlate with.
struct Observations {
  std::string value_name;                 // "metrics.energy_per_image_j", "energy"
  std::vector<std::string> factor_names;  // one or two: "params.model", "tags.wattlab.study.environment"
  // factor_levels[f][row]: the label of row `row` for factor f.
  std::vector<std::vector<std::string>> factor_levels;
  std::vector<double> values;
  std::string correlate_name;           // empty: no correlation asked for
  std::vector<double> correlate_values;  // one per row when correlate_name is set
  // Rows the source dropped before these (no value, not a number, a run
  // that did not finish), with why, for the reader.
  size_t dropped_rows = 0;
  std::string dropped_reason;
};

struct CompareOptions {
  BootstrapOptions bootstrap;
  PAdjustment adjustment = PAdjustment::kHolm;  // for Dunn and the pairwise Mann–Whitney tests
  double alpha = 0.05;                          // what "significant" means in the reading
  Alternative correlate_alternative = Alternative::kTwoSided;
};

// A test outcome or why it was not computed ("all values equal"...).
template <class T>
using Outcome = Result<T>;

struct GroupSummary {
  std::string name;                 // the levels joined by " / "
  std::vector<std::string> levels;  // one per factor
  std::vector<double> values;
  Outcome<Descriptives> descriptives = Status::unavailable("not computed");
  Outcome<ShapiroWilkResult> normality = Status::unavailable("not computed");
};

struct PairComparison {
  size_t first = 0, second = 0;  // indexes into CompareResult::groups, first < second
  Outcome<MannWhitneyResult> mann_whitney = Status::unavailable("not computed");
  double mann_whitney_p_adjusted = 0;  // over all pairs, CompareOptions::adjustment; valid with mann_whitney
  Outcome<CliffsDelta> cliffs_delta = Status::unavailable("not computed");  // first against second
  std::optional<DunnPair> dunn;                  // when Dunn's test ran
  std::optional<GamesHowellPair> games_howell;  // when Games–Howell ran
};

struct CompareResult {
  std::string value_name;
  std::vector<std::string> factor_names;
  std::string correlate_name;
  size_t n = 0;  // rows compared
  size_t dropped_rows = 0;
  std::string dropped_reason;
  CompareOptions options;

  std::vector<GroupSummary> groups;  // sorted by their levels
  std::vector<PairComparison> pairs;  // every pair of groups
  Outcome<LeveneResult> levene = Status::unavailable("not computed");
  Outcome<KruskalWallisResult> kruskal_wallis = Status::unavailable("not computed");
  Outcome<DunnResult> dunn = Status::unavailable("not computed");
  Outcome<WelchAnovaResult> welch_anova = Status::unavailable("not computed");
  Outcome<GamesHowellResult> games_howell = Status::unavailable("not computed");
  std::optional<Outcome<TwoWayAnovaResult>> two_way_anova;  // with two factors
  std::optional<Outcome<SpearmanResult>> spearman;          // with a correlate
};

// Groups the rows by their levels (by the combination of both factors when
// there are two) and runs every test over the groups; a test that the data
// make meaningless records why instead of a value. InvalidArgument when
// `observations` is inconsistent (column sizes, no factor or more than two),
// has no rows, or the options are invalid.
Result<CompareResult> compare(const Observations& observations, const CompareOptions& options = {});

// The result in words, one sentence per finding: whether the groups differ
// and how much, which pairs do, which assumption holds, what the two-way
// model and the correlation say, and cautions (few repetitions, dropped rows).
std::vector<std::string> compare_reading(const CompareResult& result);

// JSON whose keys say what they hold: "kruskal_wallis": {"h", "p_value",
// "eta_squared_h", "magnitude"}, "groups": [...], "pairs": [{"first",
// "second", "dunn", "mann_whitney", "cliffs_delta", "games_howell"}], and,
// with exactly two groups, top-level "mann_whitney" and "cliffs_delta". A
// test that was not computed is {"error": message}; NaN is null. Includes
// "reading".
nlohmann::json compare_to_json(const CompareResult& result);

// "p < 0.001", "p = 0.012", "p = 0.41".
std::string format_p_value(double p);
// `value` to `digits` significant digits ("0.0123", "1.23e+04"); "-" for NaN.
std::string format_significant(double value, int digits = 3);
// A JSON number, or null for NaN and infinities (which JSON cannot carry).
nlohmann::json json_number(double value);

}  // namespace wattlab
