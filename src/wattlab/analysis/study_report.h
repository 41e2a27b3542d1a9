// The report of a study: which model and training environment give the best
// correctness per joule, and whether the differences are real. Built from
// the study's trial runs (study_data.h) and rendered as self-contained HTML
// (inline SVG, no network, readable printed), Markdown, or JSON.
//
// `wattlab study report NAME --out FILE` calls write_study_report; so can
// `quickstart` at its end, and a server endpoint can serve
// study_report_to_json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/compare.h"
#include "wattlab/analysis/pareto.h"
#include "wattlab/analysis/savings.h"
#include "wattlab/analysis/study_data.h"
#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab {

struct StudyReportOptions {
  CompareOptions statistics;  // bootstrap, p-value adjustment, alpha
  // The configuration savings are measured against, "MODEL / ENVIRONMENT";
  // empty: the one with the highest median energy per image.
  std::string baseline;
};

// One model x environment configuration.
struct StudyCell {
  std::string model, environment;
  std::string label;         // "model / environment"
  std::vector<size_t> runs;  // indexes into StudyData::runs
  double median_energy_per_image_j = 0;
  double median_f1 = 0;          // NaN when no run logged f1_macro
  double median_duration_s = 0;  // NaN when no run logged duration_s
  size_t estimated_runs = 0;     // runs whose energy is estimated, not measured
};

struct StudyReport {
  StudyData data;
  StudyReportOptions options;
  std::vector<StudyCell> cells;  // model-major, both sorted; only configurations with runs
  // Energy per image over model x environment, correlated (one-sided:
  // greater) with F1.
  Outcome<CompareResult> statistics = Status::unavailable("not computed");
  std::vector<ParetoEntry> energy_front;  // (median energy per image, median F1) per cell
  std::vector<ParetoEntry> time_front;    // (median duration, median F1) per cell
  Outcome<SavingsTable> savings = Status::unavailable("not computed");  // rows in cell order
  size_t measured_runs = 0, estimated_runs = 0;
  std::vector<std::string> summary;  // the headline findings, in words
};

// Builds the report. InvalidArgument when the baseline names no
// configuration of the study (the message lists them); a statistic the data
// make meaningless is recorded in the report, not an error.
Result<StudyReport> build_study_report(StudyData data, const StudyReportOptions& options = {});

// The renderings. HTML is one self-contained document (styles and figures
// inline); its figures carry CSS classes the browser test counts: "box" and
// "run-point" (energy per image), "model-line" (interaction), "pareto-point"
// (both trade-off scatters).
std::string study_report_to_html(const StudyReport& report);
std::string study_report_to_markdown(const StudyReport& report);
nlohmann::json study_report_to_json(const StudyReport& report);

enum class ReportFormat { kHtml, kMarkdown, kJson };
// By `path`'s extension: .html/.htm, .md/.markdown, .json; InvalidArgument
// naming the accepted ones otherwise.
Result<ReportFormat> report_format_for_path(const std::string& path);

// Loads study `study` from `store`, builds its report and writes it to
// `out_path` in the format its extension names (replacing the file).
// Returns the absolute path written. Errors as load_study,
// build_study_report and report_format_for_path give them, or IoError
// naming the path.
Result<std::string> write_study_report(Store& store, const std::string& study, const std::string& out_path,
                                       const StudyReportOptions& options = {});

// The report of study `study` as JSON (what a server endpoint would send).
// Errors as load_study and build_study_report give them.
Result<nlohmann::json> study_report_json(Store& store, const std::string& study,
                                         const StudyReportOptions& options = {});

}  // namespace wattlab
