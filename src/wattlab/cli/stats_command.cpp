// `wattlab stats compare`: the statistics of analysis/ over a CSV file or
// runs in the store, as tables and a plain-language reading, or JSON.
#include <iostream>

#include "wattlab/analysis/compare.h"
#include "wattlab/analysis/observations.h"
#include "wattlab/cli/commands.h"
#include "wattlab/cli/table.h"

namespace wattlab::cli {

namespace {

struct CompareCommandOptions {
  std::string csv_path;
  RunSelection selection;
  std::vector<std::string> by;
  std::string value;
  std::string correlate;
  std::string alternative = "two-sided";
  std::string adjustment = "holm";
  double alpha = 0.05;
  int resamples = 2000;
  uint64_t seed = 12345;
  std::string format = "text";
};

std::string p_cell(double p) { return p < 0.001 ? "< 0.001" : format_significant(p, 2); }

void print_text(const CompareResult& r) {
  std::string factors = r.factor_names[0] + (r.factor_names.size() == 2 ? " x " + r.factor_names[1] : "");
  std::cout << "stats compare: " << r.value_name << " by " << factors << " (" << r.n << " values, "
            << r.groups.size() << " groups)\n\nGroups\n";
  TextTable groups({"group", "n", "median", "95% CI of median", "IQR", "mean", "sd", "Shapiro-Wilk p"},
                   {false, true, true, true, true, true, true, true});
  for (const GroupSummary& g : r.groups) {
    if (!g.descriptives.ok()) {
      groups.add_row({g.name, std::to_string(g.values.size()), "-", "-", "-", "-", "-", "-"});
      continue;
    }
    const Descriptives& d = *g.descriptives;
    groups.add_row({g.name, std::to_string(d.n), format_significant(d.median, 4),
                    std::isfinite(d.median_ci.low)
                        ? format_significant(d.median_ci.low, 3) + " - " + format_significant(d.median_ci.high, 3)
                        : "-",
                    format_significant(d.iqr, 3), format_significant(d.mean, 4), format_significant(d.sd, 3),
                    g.normality.ok() ? p_cell(g.normality->p_value) : "-"});
  }
  groups.print(std::cout);

  std::cout << "\nTests\n";
  TextTable tests({"test", "statistic", "df", "p", "effect size"}, {false, true, true, true, false});
  auto failed = [&](const std::string& name, const Status& s) { tests.add_row({name, "-", "-", "-", s.message()}); };
  if (r.kruskal_wallis.ok()) {
    const auto& k = *r.kruskal_wallis;
    tests.add_row({"Kruskal-Wallis", "H = " + format_significant(k.h, 4), format_significant(k.df), p_cell(k.p_value),
                   "eta2_H = " + format_significant(k.eta_squared_h, 2) + " (" +
                       effect_magnitude_name(eta_squared_magnitude(k.eta_squared_h)) + ")"});
  } else {
    failed("Kruskal-Wallis", r.kruskal_wallis.status());
  }
  if (r.welch_anova.ok()) {
    const auto& w = *r.welch_anova;
    tests.add_row({"Welch's ANOVA", "F = " + format_significant(w.f, 4),
                   format_significant(w.df_between) + ", " + format_significant(w.df_within, 3), p_cell(w.p_value), ""});
  } else {
    failed("Welch's ANOVA", r.welch_anova.status());
  }
  if (r.levene.ok()) {
    const auto& l = *r.levene;
    tests.add_row({"Levene (median)", "W = " + format_significant(l.statistic, 4),
                   format_significant(l.df_between) + ", " + format_significant(l.df_within), p_cell(l.p_value), ""});
  } else {
    failed("Levene (median)", r.levene.status());
  }
  if (r.two_way_anova) {
    if (r.two_way_anova->ok()) {
      const TwoWayAnovaResult& t = **r.two_way_anova;
      for (const AnovaTerm* term : {&t.a, &t.b, &t.interaction}) {
        tests.add_row({"two-way ANOVA, log, type II: " + term->name, "F = " + format_significant(term->f, 4),
                       format_significant(term->df) + ", " + format_significant(t.residual_df), p_cell(term->p_value),
                       "partial eta2 = " + format_significant(term->partial_eta_squared, 2) + " (" +
                           effect_magnitude_name(term->magnitude) + ")"});
      }
    } else {
      failed("two-way ANOVA (log)", r.two_way_anova->status());
    }
  }
  if (r.spearman) {
    if (r.spearman->ok()) {
      const auto& s = **r.spearman;
      tests.add_row({"Spearman with " + r.correlate_name + " (" + alternative_name(s.alternative) + ")",
                     "rho = " + format_significant(s.rho, 3), std::to_string(s.n - 2), p_cell(s.p_value), ""});
    } else {
      failed("Spearman with " + r.correlate_name, r.spearman->status());
    }
  }
  tests.print(std::cout);

  if (!r.pairs.empty()) {
    std::cout << "\nPairs (p adjusted: " << p_adjustment_name(r.options.adjustment)
              << "; Cliff's delta > 0: the first is larger)\n";
    TextTable pairs({"pair", "Dunn z", "Dunn p", "Mann-Whitney U", "MW p", "Cliff's delta", "effect", "Games-Howell p"},
                    {false, true, true, true, true, true, false, true});
    for (const PairComparison& p : r.pairs) {
      pairs.add_row({r.groups[p.first].name + " vs " + r.groups[p.second].name,
                     p.dunn ? format_significant(p.dunn->z, 3) : "-", p.dunn ? p_cell(p.dunn->p_adjusted) : "-",
                     p.mann_whitney.ok() ? format_significant(p.mann_whitney->u, 4) : "-",
                     p.mann_whitney.ok() ? p_cell(p.mann_whitney_p_adjusted) : "-",
                     p.cliffs_delta.ok() ? format_significant(p.cliffs_delta->delta, 2) : "-",
                     p.cliffs_delta.ok() ? effect_magnitude_name(p.cliffs_delta->magnitude) : "-",
                     p.games_howell ? p_cell(p.games_howell->p_value) : "-"});
    }
    pairs.print(std::cout);
  }
  std::cout << "\nReading\n";
  for (const std::string& sentence : compare_reading(r)) std::cout << "  - " << sentence << "\n";
}

int run_compare(const GlobalOptions& global, const CompareCommandOptions& o) {
  const bool from_store = !o.selection.experiment.empty() || !o.selection.study.empty() || !o.selection.filter.empty();
  if (o.csv_path.empty() == !from_store) {
    return report_error("compare either a CSV file (wattlab stats compare FILE.csv --by COLUMN --value COLUMN) or "
                        "runs in the store (--experiment NAME, --study NAME or --filter EXPR), not both");
  }
  ObservationColumns columns{o.by, o.value, o.correlate};
  if (from_store && columns.value.empty()) columns.value = "metrics.energy_per_image_j";
  if (!o.selection.study.empty() && columns.by.empty())
    columns.by = {"tags.wattlab.study.model", "tags.wattlab.study.environment"};
  if (columns.by.empty() || columns.value.empty()) {
    return report_error("name the grouping column(s) with --by and the measurement with --value, e.g. --by model "
                        "--value energy_j");
  }
  auto alternative = parse_alternative(o.alternative);
  if (!alternative.ok()) return report_error(alternative.status().message());
  auto adjustment = parse_p_adjustment(o.adjustment);
  if (!adjustment.ok()) return report_error(adjustment.status().message());

  Result<Observations> observations = Status::unavailable("");
  if (from_store) {
    auto store = Store::open(global.store_path);
    if (!store.ok()) return report_error(store.status().message());
    auto runs = select_runs(**store, o.selection);
    if (!runs.ok()) return report_error(runs.status().message());
    if (runs->empty()) return report_error("no runs match " + describe_selection(o.selection) + " in " + global.store_path);
    observations = observations_from_runs(*runs, columns);
  } else {
    observations = read_csv_observations(o.csv_path, columns);
  }
  if (!observations.ok()) return report_error(observations.status().message());
  CompareOptions options;
  options.adjustment = *adjustment;
  options.alpha = o.alpha;
  options.bootstrap.resamples = o.resamples;
  options.bootstrap.seed = o.seed;
  options.correlate_alternative = *alternative;
  auto result = compare(*observations, options);
  if (!result.ok()) return report_error(result.status().message());
  if (o.format == "json") {
    std::cout << compare_to_json(*result).dump(2) << "\n";
  } else {
    print_text(*result);
  }
  return 0;
}

}  // namespace

void add_stats_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* stats = app.add_subcommand("stats", "Statistics over repeated runs: are the differences real?");
  stats->require_subcommand(1);
  auto o = std::make_shared<CompareCommandOptions>();
  auto* cmd = stats->add_subcommand(
      "compare",
      "Compare a measurement across groups: descriptives with bootstrap intervals, Shapiro-Wilk, Levene, "
      "Kruskal-Wallis (eta2_H), Dunn, Mann-Whitney, Cliff's delta, Welch's ANOVA, Games-Howell, a two-way "
      "ANOVA of log values with two --by, and a plain-language reading");
  cmd->add_option("FILE", o->csv_path, "A CSV file with a header row (instead of runs from the store)");
  cmd->add_option("--experiment", o->selection.experiment, "Runs of this experiment");
  cmd->add_option("--study", o->selection.study,
                  "Trial runs of this study (default --by: tags.wattlab.study.model and "
                  "tags.wattlab.study.environment)");
  cmd->add_option("--filter", o->selection.filter, "Runs matching this MLflow search filter");
  cmd->add_option("--by", o->by, "Grouping column, once or twice (runs: params.model, tags.K, ...)")->expected(1);
  cmd->add_option("--value", o->value, "The measurement (runs: default metrics.energy_per_image_j)");
  cmd->add_option("--correlate", o->correlate, "Also Spearman's rho between the value and this column (e.g. metrics.f1_macro)");
  cmd->add_option("--alternative", o->alternative, "Spearman's alternative: two-sided, greater or less")
      ->capture_default_str();
  cmd->add_option("--adjust", o->adjustment, "p-value adjustment over pairs: holm, bonferroni, bh or none")
      ->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "Significance level the reading uses")->capture_default_str();
  cmd->add_option("--resamples", o->resamples, "Bootstrap resamples for the confidence intervals")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Bootstrap seed (the same seed gives the same intervals)")->capture_default_str();
  cmd->add_option("--format", o->format, "text or json (keys such as kruskal_wallis.p_value, cliffs_delta.delta)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([&global, o, exit_code] { *exit_code = run_compare(global, *o); });
}

}  // namespace wattlab::cli
