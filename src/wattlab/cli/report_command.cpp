// `wattlab study report NAME --out report.html|.md|.json`: the study's
// statistics, trade-offs and environments as one document.
#include <iostream>

#include "wattlab/analysis/study_report.h"
#include "wattlab/cli/commands.h"

namespace wattlab::cli {

namespace {

struct ReportOptions {
  std::string study;
  std::string out = "report.html";
  std::string baseline;
  std::string adjustment = "holm";
  double alpha = 0.05;
  int resamples = 2000;
  uint64_t seed = 12345;
};

int run_report(const GlobalOptions& global, const ReportOptions& o) {
  auto adjustment = parse_p_adjustment(o.adjustment);
  if (!adjustment.ok()) return report_error(adjustment.status().message());
  if (auto format = report_format_for_path(o.out); !format.ok()) return report_error(format.status().message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  StudyReportOptions options;
  options.baseline = o.baseline;
  options.statistics.adjustment = *adjustment;
  options.statistics.alpha = o.alpha;
  options.statistics.bootstrap.resamples = o.resamples;
  options.statistics.bootstrap.seed = o.seed;
  auto path = write_study_report(**store, o.study, o.out, options);
  if (!path.ok()) return report_error(path.status().message());
  std::cout << "Wrote the report of study " << o.study << " to " << *path << "\n";
  return 0;
}

}  // namespace

void add_study_report_command(CLI::App& study, const GlobalOptions& global, int* exit_code) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = study.add_subcommand(
      "report",
      "Write a study's report: energy per image per model x environment, interaction, Pareto fronts, savings "
      "against a baseline, statistics with effect sizes, every run's environment; measured vs estimated");
  cmd->add_option("NAME", o->study, "The study's name (its runs carry the tag wattlab.study = NAME)")->required();
  cmd->add_option("--out", o->out, "Output file; .html (self-contained), .md or .json")->capture_default_str();
  cmd->add_option("--baseline", o->baseline,
                  "Configuration savings are measured against, \"MODEL / ENVIRONMENT\" (default: the costliest)");
  cmd->add_option("--adjust", o->adjustment, "p-value adjustment: holm, bonferroni, bh or none")->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "Significance level")->capture_default_str();
  cmd->add_option("--resamples", o->resamples, "Bootstrap resamples")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Bootstrap seed")->capture_default_str();
  cmd->callback([&global, o, exit_code] { *exit_code = run_report(global, *o); });
}

}  // namespace wattlab::cli
