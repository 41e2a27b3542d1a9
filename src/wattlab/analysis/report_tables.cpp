#include "wattlab/analysis/report_tables.h"

#include <cmath>
#include <map>
#include <set>

namespace wattlab {

namespace {

// The snapshot keys a reader compares environments by, in this order.
const char* const kSnapshotKeys[] = {"cpu_model",     "cpu_count", "ram_gib", "gpu_model",        "gpu_count",
                                     "gpu_driver",    "hostname",  "os",      "device",           "threads",
                                     "libtorch_version", "energy_domains", "wattlab_version", "git_commit"};

std::string sig(double v, int digits = 3) { return format_significant(v, digits); }

std::string p_text(double p) {
  if (!std::isfinite(p)) return "-";
  return p < 0.001 ? "< 0.001" : sig(p, 2);
}

std::string energy_kind(size_t estimated, size_t total) {
  if (estimated == 0) return "measured";
  if (estimated == total) return "estimated";
  return std::to_string(estimated) + " of " + std::to_string(total) + " estimated";
}

// The displayed part of a snapshot, which identifies an environment.
std::map<std::string, std::string> snapshot_key(const StudyRun& run) {
  std::map<std::string, std::string> key;
  for (const char* k : kSnapshotKeys) {
    auto it = run.snapshot.find(k);
    if (it != run.snapshot.end()) key[k] = it->second;
  }
  return key;
}

// Snapshot id ("E1"...) per run, in order of first appearance.
std::vector<std::string> snapshot_ids(const StudyReport& r, std::vector<std::map<std::string, std::string>>* distinct) {
  std::map<std::map<std::string, std::string>, size_t> index;
  std::vector<std::string> ids;
  for (const StudyRun& run : r.data.runs) {
    auto key = snapshot_key(run);
    auto [it, inserted] = index.emplace(key, distinct->size());
    if (inserted) distinct->push_back(key);
    ids.push_back("E" + std::to_string(it->second + 1));
  }
  return ids;
}

}  // namespace

ReportTable configurations_table(const StudyReport& r) {
  ReportTable t;
  t.headers = {"configuration", "runs", "median J/image", "95 % CI of median", "IQR", "mean ± sd",
               "Shapiro–Wilk p", "median F1", "median time (s)", "energy"};
  t.numeric = {false, true, true, true, true, true, true, true, true, false};
  for (const StudyCell& c : r.cells) {
    std::vector<std::string> row = {c.label, std::to_string(c.runs.size()), sig(c.median_energy_per_image_j, 4)};
    const GroupSummary* g = nullptr;
    if (r.statistics.ok()) {
      for (const GroupSummary& group : r.statistics->groups)
        if (group.name == c.label) g = &group;
    }
    if (g && g->descriptives.ok()) {
      const Descriptives& d = *g->descriptives;
      row.push_back(std::isfinite(d.median_ci.low) ? sig(d.median_ci.low, 3) + " – " + sig(d.median_ci.high, 3) : "-");
      row.push_back(sig(d.iqr, 2));
      row.push_back(sig(d.mean, 4) + " ± " + sig(d.sd, 2));
    } else {
      row.insert(row.end(), {"-", "-", "-"});
    }
    row.push_back(g && g->normality.ok() ? p_text(g->normality->p_value) : "-");
    row.push_back(sig(c.median_f1, 4));
    row.push_back(sig(c.median_duration_s, 3));
    row.push_back(energy_kind(c.estimated_runs, c.runs.size()));
    t.rows.push_back(std::move(row));
  }
  t.note = "Intervals: percentile bootstrap (" + std::to_string(r.options.statistics.bootstrap.resamples) +
           " resamples, seed " + std::to_string(r.options.statistics.bootstrap.seed) +
           "). Shapiro–Wilk needs 3 runs and some spread; '-' where it could not run.";
  return t;
}

ReportTable two_way_table(const StudyReport& r) {
  ReportTable t;
  t.headers = {"term", "SS (log scale)", "df", "F", "p", "partial η²", "effect"};
  t.numeric = {false, true, true, true, true, true, false};
  if (!r.statistics.ok() || !r.statistics->two_way_anova) {
    t.note = "Not computed.";
    return t;
  }
  const auto& outcome = *r.statistics->two_way_anova;
  if (!outcome.ok()) {
    t.note = "Not computed: " + outcome.status().message() + ".";
    return t;
  }
  const TwoWayAnovaResult& a = *outcome;
  for (const AnovaTerm* term : {&a.a, &a.b, &a.interaction}) {
    t.rows.push_back({term->name, sig(term->sum_of_squares, 4), sig(term->df), sig(term->f, 4), p_text(term->p_value),
                      sig(term->partial_eta_squared, 2), effect_magnitude_name(term->magnitude)});
  }
  t.rows.push_back({"residual", sig(a.residual_sum_of_squares, 4), sig(a.residual_df), "", "", "", ""});
  t.note = "ANOVA of log(energy per image) with type-II sums of squares: on the log scale a model's cost is a "
           "factor, and an interaction means the ratio between models changes with the environment.";
  if (a.residual_normality) {
    t.note += " Residuals: Shapiro–Wilk W = " + sig(a.residual_normality->w, 3) + ", p " +
              (a.residual_normality->p_value < 0.001 ? "< 0.001" : "= " + sig(a.residual_normality->p_value, 2)) +
              (a.residual_normality->p_value < r.options.statistics.alpha
                   ? " — not normal: weigh this against the rank tests."
                   : ".");
  }
  return t;
}

ReportTable pareto_table(const std::vector<ParetoEntry>& entries, const std::string& cost_header) {
  ReportTable t;
  t.headers = {"configuration", cost_header, "median F1", "Pareto", "dominated by"};
  t.numeric = {false, true, true, false, false};
  for (const ParetoEntry& e : entries) {
    std::string by;
    for (size_t j : e.dominated_by) by += (by.empty() ? "" : ", ") + entries[j].point.label;
    const bool valid = std::isfinite(e.point.cost) && std::isfinite(e.point.benefit);
    t.rows.push_back({e.point.label, sig(e.point.cost, 4), sig(e.point.benefit, 4),
                      !valid ? "no data" : e.on_front ? "on the front" : "dominated", by});
  }
  return t;
}

ReportTable savings_report_table(const StudyReport& r) {
  ReportTable t;
  t.headers = {"configuration", "median J/image", "energy saved", "p (energy)", "Cliff's δ (energy)",
               "median F1", "F1 difference (points)", "p (F1)", "Cliff's δ (F1)"};
  t.numeric = {false, true, true, true, true, true, true, true, true};
  if (!r.savings.ok()) {
    t.note = "Not computed: " + r.savings.status().message() + ".";
    return t;
  }
  const SavingsTable& s = *r.savings;
  auto delta = [](const Result<CliffsDelta>& d) {
    return d.ok() ? sig(d->delta, 2) + " (" + effect_magnitude_name(d->magnitude) + ")" : std::string("-");
  };
  for (const SavingsRow& row : s.rows) {
    if (row.is_baseline) {
      t.rows.push_back({row.label + " (baseline)", sig(row.median_energy_per_image_j, 4), "—", "", "",
                        sig(row.median_correctness, 4), "—", "", ""});
      continue;
    }
    t.rows.push_back({row.label, sig(row.median_energy_per_image_j, 4), sig(100 * row.energy_reduction, 3) + " %",
                      row.energy_test.ok() ? p_text(row.energy_p_adjusted) : "-", delta(row.energy_delta),
                      sig(row.median_correctness, 4), sig(100 * row.correctness_difference, 2),
                      row.correctness_test.ok() ? p_text(row.correctness_p_adjusted) : "-",
                      delta(row.correctness_delta)});
  }
  t.note = "Against " + s.rows[s.baseline].label +
           ". Energy saved = 1 − median / baseline median. p: two-sided Mann–Whitney against the baseline, " +
           p_adjustment_name(s.adjustment) +
           "-adjusted over the rows. δ < 0: this configuration tends to be lower than the baseline.";
  return t;
}

ReportTable omnibus_table(const StudyReport& r) {
  ReportTable t;
  t.headers = {"test", "statistic", "df", "p", "effect size"};
  t.numeric = {false, true, true, true, false};
  if (!r.statistics.ok()) {
    t.note = "Not computed: " + r.statistics.status().message() + ".";
    return t;
  }
  const CompareResult& c = *r.statistics;
  auto failed = [&](const std::string& name, const Status& s) {
    t.rows.push_back({name, "not computed: " + s.message(), "", "", ""});
  };
  if (c.kruskal_wallis.ok()) {
    const auto& k = *c.kruskal_wallis;
    t.rows.push_back({"Kruskal–Wallis (configurations)", "H = " + sig(k.h, 4), sig(k.df), p_text(k.p_value),
                      "η²_H = " + sig(k.eta_squared_h, 2) + " (" +
                          effect_magnitude_name(eta_squared_magnitude(k.eta_squared_h)) + ")"});
  } else {
    failed("Kruskal–Wallis", c.kruskal_wallis.status());
  }
  if (c.welch_anova.ok()) {
    const auto& w = *c.welch_anova;
    t.rows.push_back({"Welch's ANOVA", "F = " + sig(w.f, 4), sig(w.df_between) + ", " + sig(w.df_within, 3),
                      p_text(w.p_value), ""});
  } else {
    failed("Welch's ANOVA", c.welch_anova.status());
  }
  if (c.levene.ok()) {
    const auto& l = *c.levene;
    t.rows.push_back({"Levene (median-centred)", "W = " + sig(l.statistic, 4),
                      sig(l.df_between) + ", " + sig(l.df_within), p_text(l.p_value), ""});
  } else {
    failed("Levene", c.levene.status());
  }
  if (c.spearman && c.spearman->ok()) {
    const auto& s = **c.spearman;
    t.rows.push_back({"Spearman, energy per image vs F1 (one-sided: greater)", "ρ = " + sig(s.rho, 3),
                      std::to_string(s.n - 2), p_text(s.p_value), ""});
  } else if (c.spearman) {
    failed("Spearman, energy per image vs F1", c.spearman->status());
  }
  return t;
}

ReportTable pairs_table(const StudyReport& r) {
  ReportTable t;
  t.headers = {"pair", "Dunn z", "Dunn p (adj.)", "Mann–Whitney p (adj.)", "Cliff's δ", "effect",
               "Games–Howell p"};
  t.numeric = {false, true, true, true, true, false, true};
  if (!r.statistics.ok()) return t;
  const CompareResult& c = *r.statistics;
  for (const PairComparison& p : c.pairs) {
    t.rows.push_back({c.groups[p.first].name + " vs " + c.groups[p.second].name,
                      p.dunn ? sig(p.dunn->z, 3) : "-", p.dunn ? p_text(p.dunn->p_adjusted) : "-",
                      p.mann_whitney.ok() ? p_text(p.mann_whitney_p_adjusted) : "-",
                      p.cliffs_delta.ok() ? sig(p.cliffs_delta->delta, 2) : "-",
                      p.cliffs_delta.ok() ? effect_magnitude_name(p.cliffs_delta->magnitude) : "-",
                      p.games_howell ? p_text(p.games_howell->p_value) : "-"});
  }
  t.note = std::string("p-values of Dunn and Mann–Whitney adjusted by ") +
           p_adjustment_name(c.options.adjustment) +
           " over all pairs; Games–Howell's account for the comparisons by construction. δ > 0: the first "
           "configuration tends to use more energy per image.";
  if (!c.dunn.ok()) t.note += " Dunn not computed: " + c.dunn.status().message() + ".";
  if (!c.games_howell.ok()) t.note += " Games–Howell not computed: " + c.games_howell.status().message() + ".";
  return t;
}

ReportTable environments_table(const StudyReport& r) {
  std::vector<std::map<std::string, std::string>> distinct;
  const std::vector<std::string> ids = snapshot_ids(r, &distinct);
  std::set<std::string> present;
  for (const auto& d : distinct)
    for (const auto& [k, v] : d) present.insert(k);
  ReportTable t;
  t.headers = {"snapshot", "runs"};
  t.numeric = {false, true};
  std::vector<std::string> keys;
  for (const char* k : kSnapshotKeys) {
    if (present.count(k)) {
      keys.push_back(k);
      t.headers.push_back(k);
      t.numeric.push_back(false);
    }
  }
  for (size_t i = 0; i < distinct.size(); ++i) {
    const std::string id = "E" + std::to_string(i + 1);
    std::vector<std::string> row = {id, std::to_string(std::count(ids.begin(), ids.end(), id))};
    for (const auto& k : keys) {
      auto it = distinct[i].find(k);
      row.push_back(it == distinct[i].end() ? "-" : it->second);
    }
    t.rows.push_back(std::move(row));
  }
  if (distinct.size() == 1 && distinct[0].empty()) t.note = "The runs recorded no environment snapshot.";
  return t;
}

ReportTable runs_table(const StudyReport& r) {
  std::vector<std::map<std::string, std::string>> distinct;
  const std::vector<std::string> ids = snapshot_ids(r, &distinct);
  ReportTable t;
  t.headers = {"run", "model", "environment", "rep.", "J/image", "F1", "time (s)", "energy", "snapshot"};
  t.numeric = {false, false, false, true, true, true, true, false, false};
  for (size_t i = 0; i < r.data.runs.size(); ++i) {
    const StudyRun& run = r.data.runs[i];
    t.rows.push_back({run.run_name.empty() ? run.run_id.substr(0, 8) : run.run_name, run.model, run.environment,
                      std::to_string(run.repetition), sig(run.energy_per_image_j, 4), sig(run.f1_macro, 4),
                      sig(run.duration_s, 3), run.energy_estimated ? "estimated" : "measured", ids[i]});
  }
  return t;
}

std::vector<std::string> methods_notes(const StudyReport& r) {
  const CompareOptions& o = r.options.statistics;
  return {
      "Observations are the study's FINISHED trial runs (wattlab.study.role = trial); warm-up and idle-baseline "
      "runs never count. Energy per image is training energy over training images seen.",
      "Measured energy comes from hardware counters (RAPL, NVML); estimated energy from the CPU-utilisation and "
      "TDP model, used where no counter exists. Figures draw estimated runs as hollow points; tables say which.",
      "Rank-based tests carry the decisions (energy is skewed and repetitions are few): Kruskal–Wallis with "
      "η²_H = (H − k + 1)/(n − k), Dunn's post-hoc test and two-sided Mann–Whitney U, p-values adjusted by " +
          std::string(p_adjustment_name(o.adjustment)) +
          "; Cliff's δ with Romano's thresholds (0.147 / 0.33 / 0.474). Welch's ANOVA with Games–Howell, and "
          "Levene's and Shapiro–Wilk's checks of their assumptions, are reported beside them.",
      "The two-way analysis is an ANOVA of log(energy per image) with type-II sums of squares (model, "
      "environment, their interaction), effect sizes as partial η².",
      "Confidence intervals: percentile bootstrap, " + std::to_string(o.bootstrap.resamples) + " resamples, seed " +
          std::to_string(o.bootstrap.seed) + ". Significance level α = " + format_significant(o.alpha) + ".",
  };
}

}  // namespace wattlab
