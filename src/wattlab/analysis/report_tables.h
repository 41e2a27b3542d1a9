// The tables of a study report, built once and rendered by both the HTML
// and the Markdown writer, so the two always say the same thing.
#pragma once

#include <string>
#include <vector>

#include "wattlab/analysis/study_report.h"

namespace wattlab {

struct ReportTable {
  std::vector<std::string> headers;
  std::vector<bool> numeric;  // per column: right-align
  std::vector<std::vector<std::string>> rows;
  std::string note;  // shown under the table (or instead of it when there are no rows)
};

// Per configuration: runs, median energy per image with its bootstrap
// interval, IQR, mean and sd, Shapiro–Wilk, median F1 and duration, and
// whether its energy is measured or estimated.
ReportTable configurations_table(const StudyReport& report);
// The two-way ANOVA of log energy per image: SS, df, F, p, partial eta².
ReportTable two_way_table(const StudyReport& report);
// Each configuration of a trade-off, on the front or dominated by which.
ReportTable pareto_table(const std::vector<ParetoEntry>& entries, const std::string& cost_header);
// The savings table against the baseline.
ReportTable savings_report_table(const StudyReport& report);
// Kruskal–Wallis, Welch's ANOVA, Levene and Spearman in one table.
ReportTable omnibus_table(const StudyReport& report);
// Every pair of configurations: Dunn, Mann–Whitney, Cliff's delta, Games–Howell.
ReportTable pairs_table(const StudyReport& report);
// The distinct environment snapshots (hardware, OS, threads, libraries), E1,
// E2..., and how many runs ran in each.
ReportTable environments_table(const StudyReport& report);
// Every run: configuration, repetition, figures, measured or estimated, and
// the id of its environment snapshot.
ReportTable runs_table(const StudyReport& report);

// What the report's methods section says: the tests, the adjustment, the
// bootstrap, and how measured and estimated energy are told apart.
std::vector<std::string> methods_notes(const StudyReport& report);

}  // namespace wattlab
