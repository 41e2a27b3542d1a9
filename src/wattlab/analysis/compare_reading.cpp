// compare_reading and compare_to_json: a CompareResult in words and in JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "wattlab/analysis/compare.h"

namespace wattlab {

namespace {

using nlohmann::json;

json error_json(const Status& s) { return json{{"error", s.message()}}; }

json interval_json(const ConfidenceInterval& ci) {
  return {{"low", json_number(ci.low)}, {"high", json_number(ci.high)}, {"level", ci.level}};
}

json descriptives_json(const Descriptives& d) {
  return {{"n", d.n},           {"mean", json_number(d.mean)}, {"sd", json_number(d.sd)},
          {"median", d.median}, {"q1", d.q1},                  {"q3", d.q3},
          {"iqr", d.iqr},       {"min", d.min},                {"max", d.max},
          {"mean_ci", interval_json(d.mean_ci)}, {"median_ci", interval_json(d.median_ci)}};
}

json mann_whitney_json(const MannWhitneyResult& m) {
  return {{"u", m.u},
          {"p_value", m.p_value},
          {"method", mann_whitney_method_name(m.method)},
          {"alternative", alternative_name(m.alternative)}};
}

json cliffs_json(const CliffsDelta& d) { return {{"delta", d.delta}, {"magnitude", effect_magnitude_name(d.magnitude)}}; }

json term_json(const AnovaTerm& t) {
  return {{"term", t.name},
          {"sum_of_squares", t.sum_of_squares},
          {"df", t.df},
          {"f", json_number(t.f)},
          {"p_value", json_number(t.p_value)},
          {"partial_eta_squared", json_number(t.partial_eta_squared)},
          {"magnitude", effect_magnitude_name(t.magnitude)}};
}

template <class T, class F>
json outcome_json(const Outcome<T>& o, F&& to_json) {
  return o.ok() ? to_json(*o) : error_json(o.status());
}

// The p-value a pair's difference is judged by: Dunn's adjusted p when Dunn
// ran (several groups), else the adjusted Mann–Whitney p.
std::optional<double> pair_p(const CompareResult& r, const PairComparison& pair) {
  if (r.groups.size() > 2 && pair.dunn) return pair.dunn->p_adjusted;
  if (pair.mann_whitney.ok()) return pair.mann_whitney_p_adjusted;
  return std::nullopt;
}

std::string pair_test_name(const CompareResult& r) {
  const std::string adjustment = r.options.adjustment == PAdjustment::kNone ? ""
                                 : r.options.adjustment == PAdjustment::kHolm ? "-Holm"
                                 : r.options.adjustment == PAdjustment::kBonferroni ? "-Bonferroni"
                                                                                   : "-BH";
  if (r.groups.size() > 2) return "Dunn" + adjustment;
  return "Mann–Whitney";
}

std::string percent(double fraction) { return format_significant(100 * fraction, 3) + " %"; }

}  // namespace

std::string format_p_value(double p) {
  if (std::isnan(p)) return "p = -";
  if (p < 0.001) return "p < 0.001";
  return "p = " + format_significant(p, 2);
}

std::string format_significant(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, value);
  return buf;
}

json json_number(double value) { return std::isfinite(value) ? json(value) : json(); }

std::vector<std::string> compare_reading(const CompareResult& r) {
  std::vector<std::string> out;
  const double alpha = r.options.alpha;
  std::string factors = r.factor_names[0];
  if (r.factor_names.size() == 2) factors += " x " + r.factor_names[1];
  size_t smallest = SIZE_MAX, largest = 0;
  for (const GroupSummary& g : r.groups) {
    smallest = std::min(smallest, g.values.size());
    largest = std::max(largest, g.values.size());
  }
  out.push_back("Compared " + r.value_name + " across " + std::to_string(r.groups.size()) + " groups of " + factors +
                " (" + std::to_string(r.n) + " values, " +
                (smallest == largest ? std::to_string(smallest) : std::to_string(smallest) + "-" + std::to_string(largest)) +
                " per group).");
  if (r.dropped_rows > 0)
    out.push_back("Left out " + std::to_string(r.dropped_rows) + " rows: " + r.dropped_reason + ".");

  if (r.kruskal_wallis.ok()) {
    const KruskalWallisResult& kw = *r.kruskal_wallis;
    const std::string stats = "Kruskal–Wallis H = " + format_significant(kw.h) + ", df = " +
                              format_significant(kw.df) + ", " + format_p_value(kw.p_value) + "; eta²_H = " +
                              format_significant(kw.eta_squared_h, 2) + ", " +
                              effect_magnitude_name(eta_squared_magnitude(kw.eta_squared_h));
    out.push_back(kw.p_value < alpha ? "The groups differ (" + stats + ")."
                                     : "No difference between the groups is detectable (" + stats + ").");
  } else {
    out.push_back("Kruskal–Wallis was not computed: " + r.kruskal_wallis.status().message() + ".");
  }

  // The extremes by median.
  const GroupSummary* low = nullptr;
  const GroupSummary* high = nullptr;
  for (const GroupSummary& g : r.groups) {
    if (!g.descriptives.ok()) continue;
    if (!low || g.descriptives->median < low->descriptives->median) low = &g;
    if (!high || g.descriptives->median > high->descriptives->median) high = &g;
  }
  if (low && high && low != high) {
    std::string sentence = "Lowest median: " + low->name + " (" + format_significant(low->descriptives->median, 4) +
                           "); highest: " + high->name + " (" + format_significant(high->descriptives->median, 4) + ")";
    if (high->descriptives->median > 0 && low->descriptives->median >= 0)
      sentence += ", " + percent(1 - low->descriptives->median / high->descriptives->median) + " lower";
    out.push_back(sentence + ".");
  }

  // Pairs that differ, strongest effect first.
  std::vector<const PairComparison*> significant;
  size_t judged = 0;
  for (const PairComparison& pair : r.pairs) {
    auto p = pair_p(r, pair);
    if (!p) continue;
    ++judged;
    if (*p < alpha) significant.push_back(&pair);
  }
  auto abs_delta = [](const PairComparison* p) { return p->cliffs_delta.ok() ? std::fabs(p->cliffs_delta->delta) : 0.0; };
  std::stable_sort(significant.begin(), significant.end(),
                   [&](const PairComparison* a, const PairComparison* b) { return abs_delta(a) > abs_delta(b); });
  if (judged > 0) {
    if (significant.empty()) {
      out.push_back(judged == 1 ? "The two groups do not differ significantly (" + pair_test_name(r) + " " +
                                      format_p_value(*pair_p(r, r.pairs[0])) + ")."
                                : "No pair of groups differs significantly after " +
                                      std::string(p_adjustment_name(r.options.adjustment)) + " adjustment.");
    } else {
      if (judged > 1)
        out.push_back(std::to_string(significant.size()) + " of " + std::to_string(judged) +
                      " pairs differ significantly (" + pair_test_name(r) + ", alpha = " + format_significant(alpha) +
                      ").");
      for (size_t i = 0; i < std::min<size_t>(significant.size(), 5); ++i) {
        const PairComparison& pair = *significant[i];
        const GroupSummary& a = r.groups[pair.first];
        const GroupSummary& b = r.groups[pair.second];
        const double delta = pair.cliffs_delta.ok() ? pair.cliffs_delta->delta : 0;
        const bool a_lower = delta < 0;
        out.push_back((a_lower ? a.name : b.name) + " tends to be lower than " + (a_lower ? b.name : a.name) + " (" +
                      pair_test_name(r) + " " + format_p_value(*pair_p(r, pair)) + "; Cliff's delta = " +
                      format_significant(std::fabs(delta), 2) + ", " +
                      (pair.cliffs_delta.ok() ? effect_magnitude_name(pair.cliffs_delta->magnitude) : "-") + ").");
      }
      if (significant.size() > 5) out.push_back("(" + std::to_string(significant.size() - 5) + " more pairs differ.)");
    }
  }

  // Assumptions, and which family of tests to trust.
  size_t normality_tested = 0, non_normal = 0;
  for (const GroupSummary& g : r.groups) {
    if (!g.normality.ok()) continue;
    ++normality_tested;
    non_normal += g.normality->p_value < alpha;
  }
  std::string assumptions;
  if (normality_tested == 0) {
    assumptions = "Normality could not be checked (too few values per group), so the rank-based tests "
                  "(Kruskal–Wallis, Dunn, Cliff's delta) are the ones to rely on";
  } else if (non_normal > 0 || normality_tested < r.groups.size()) {
    assumptions = "Shapiro–Wilk rejects normality in " + std::to_string(non_normal) + " of " +
                  std::to_string(normality_tested) + " tested groups" +
                  (normality_tested < r.groups.size() ? " (the others could not be tested)" : "") +
                  ", so the rank-based tests (Kruskal–Wallis, Dunn, Cliff's delta) are the ones to rely on";
  } else if (r.levene.ok() && r.levene->p_value < alpha) {
    assumptions = "The groups look normal but their spreads differ (Levene " + format_p_value(r.levene->p_value) +
                  "): Welch's ANOVA and Games–Howell, which allow that, apply";
  } else {
    assumptions = "The groups look normal with similar spreads, so the mean-based tests apply as well";
  }
  if (r.welch_anova.ok() && normality_tested == r.groups.size() && non_normal == 0) {
    assumptions += " (Welch's ANOVA: F = " + format_significant(r.welch_anova->f) + ", " +
                   format_p_value(r.welch_anova->p_value) + ")";
  }
  out.push_back(assumptions + ".");

  if (r.two_way_anova) {
    if (r.two_way_anova->ok()) {
      const TwoWayAnovaResult& t = **r.two_way_anova;
      auto term_text = [](const AnovaTerm& term) {
        return "F = " + format_significant(term.f) + ", " + format_p_value(term.p_value) + ", partial eta² = " +
               format_significant(term.partial_eta_squared, 2) + ", " + effect_magnitude_name(term.magnitude);
      };
      if (t.interaction.p_value < alpha) {
        out.push_back(t.a.name + " and " + t.b.name + " interact (two-way ANOVA of log values: " +
                      term_text(t.interaction) + "): the ratio between " + t.a.name + " levels changes with " +
                      t.b.name + ", so compare them within each " + t.b.name + ".");
      } else {
        out.push_back("No interaction between " + t.a.name + " and " + t.b.name + " is detectable (" +
                      format_p_value(t.interaction.p_value) + "); main effects on the log scale: " + t.a.name + " " +
                      term_text(t.a) + "; " + t.b.name + " " + term_text(t.b) + ".");
      }
      if (t.residual_normality && t.residual_normality->p_value < alpha) {
        out.push_back("The two-way model's residuals are not normal (Shapiro–Wilk " +
                      format_p_value(t.residual_normality->p_value) + "): weigh it against the rank tests.");
      }
    } else {
      out.push_back("Two-way ANOVA was not computed: " + r.two_way_anova->status().message() + ".");
    }
  }

  if (r.spearman) {
    if (r.spearman->ok()) {
      const SpearmanResult& s = **r.spearman;
      std::string sentence = r.value_name + " and " + r.correlate_name + ": Spearman's rho = " +
                             format_significant(s.rho, 2) + " (" + alternative_name(s.alternative) + ", " +
                             format_p_value(s.p_value) + ", n = " + std::to_string(s.n) + ")";
      if (s.p_value < alpha) {
        sentence += s.rho > 0 ? ": higher " + r.value_name + " goes with higher " + r.correlate_name
                              : ": higher " + r.value_name + " goes with lower " + r.correlate_name;
      } else {
        sentence += ": no monotonic relation is detectable";
      }
      out.push_back(sentence + ".");
    } else {
      out.push_back("Spearman's rho was not computed: " + r.spearman->status().message() + ".");
    }
  }
  if (smallest < 5) {
    out.push_back("Caution: a group of " + std::to_string(smallest) +
                  " values leaves the tests little power, so a difference that is not significant is not shown "
                  "to be absent; add repetitions.");
  }
  return out;
}

json compare_to_json(const CompareResult& r) {
  json out;
  out["value"] = r.value_name;
  out["factors"] = r.factor_names;
  out["n"] = r.n;
  out["dropped_rows"] = r.dropped_rows;
  if (r.dropped_rows > 0) out["dropped_reason"] = r.dropped_reason;
  out["options"] = {{"alpha", r.options.alpha},
                    {"p_adjustment", p_adjustment_name(r.options.adjustment)},
                    {"bootstrap",
                     {{"resamples", r.options.bootstrap.resamples},
                      {"level", r.options.bootstrap.level},
                      {"seed", r.options.bootstrap.seed}}}};
  json groups = json::array();
  for (const GroupSummary& g : r.groups) {
    json levels = json::object();
    for (size_t f = 0; f < g.levels.size(); ++f) levels[r.factor_names[f]] = g.levels[f];
    json item = {{"name", g.name}, {"levels", levels}};
    if (g.descriptives.ok()) {
      item.update(descriptives_json(*g.descriptives));
    } else {
      item["descriptives"] = error_json(g.descriptives.status());
    }
    item["shapiro_wilk"] = outcome_json(g.normality, [](const ShapiroWilkResult& s) {
      return json{{"w", s.w}, {"p_value", s.p_value}, {"n", s.n}, {"p_value_unvalidated", s.p_value_unvalidated}};
    });
    groups.push_back(item);
  }
  out["groups"] = groups;
  out["levene"] = outcome_json(r.levene, [](const LeveneResult& l) {
    return json{{"statistic", l.statistic}, {"df_between", l.df_between}, {"df_within", l.df_within},
                {"p_value", l.p_value}, {"center", "median"}};
  });
  out["kruskal_wallis"] = outcome_json(r.kruskal_wallis, [](const KruskalWallisResult& k) {
    return json{{"h", k.h},
                {"df", k.df},
                {"p_value", k.p_value},
                {"n", k.n},
                {"tie_correction", k.tie_correction},
                {"eta_squared_h", k.eta_squared_h},
                {"magnitude", effect_magnitude_name(eta_squared_magnitude(k.eta_squared_h))}};
  });
  out["welch_anova"] = outcome_json(r.welch_anova, [](const WelchAnovaResult& w) {
    return json{{"f", w.f}, {"df_between", w.df_between}, {"df_within", w.df_within}, {"p_value", w.p_value}};
  });
  if (!r.dunn.ok()) out["dunn"] = error_json(r.dunn.status());
  if (!r.games_howell.ok()) out["games_howell"] = error_json(r.games_howell.status());
  json pairs = json::array();
  for (const PairComparison& pair : r.pairs) {
    json item = {{"first", r.groups[pair.first].name}, {"second", r.groups[pair.second].name}};
    if (pair.mann_whitney.ok()) {
      item["mann_whitney"] = mann_whitney_json(*pair.mann_whitney);
      item["mann_whitney"]["p_adjusted"] = pair.mann_whitney_p_adjusted;
    } else {
      item["mann_whitney"] = error_json(pair.mann_whitney.status());
    }
    item["cliffs_delta"] = outcome_json(pair.cliffs_delta, cliffs_json);
    if (pair.dunn) {
      item["dunn"] = {{"z", pair.dunn->z}, {"p_value", pair.dunn->p_value}, {"p_adjusted", pair.dunn->p_adjusted}};
    }
    if (pair.games_howell) {
      const GamesHowellPair& g = *pair.games_howell;
      item["games_howell"] = {{"mean_difference", g.mean_difference}, {"t", g.t}, {"df", g.df}, {"p_value", g.p_value}};
    }
    pairs.push_back(item);
  }
  out["pairs"] = pairs;
  if (r.groups.size() == 2 && r.pairs.size() == 1) {
    out["mann_whitney"] = pairs[0]["mann_whitney"];
    out["cliffs_delta"] = pairs[0]["cliffs_delta"];
  }
  if (r.two_way_anova) {
    out["two_way_anova"] = outcome_json(*r.two_way_anova, [](const TwoWayAnovaResult& t) {
      json normality = t.residual_normality
                           ? json{{"w", t.residual_normality->w}, {"p_value", t.residual_normality->p_value}}
                           : json{{"error", t.residual_normality_note}};
      return json{{"method", "ANOVA of log(value), type-II sums of squares"},
                  {"n", t.n},
                  {"terms", {term_json(t.a), term_json(t.b), term_json(t.interaction)}},
                  {"residual", {{"sum_of_squares", t.residual_sum_of_squares}, {"df", t.residual_df}}},
                  {"residual_shapiro_wilk", normality}};
    });
  }
  if (r.spearman) {
    out["spearman"] = outcome_json(*r.spearman, [&](const SpearmanResult& s) {
      return json{{"with", r.correlate_name}, {"rho", s.rho}, {"p_value", s.p_value},
                  {"alternative", alternative_name(s.alternative)}, {"n", s.n}};
    });
  }
  out["reading"] = compare_reading(r);
  return out;
}

}  // namespace wattlab
