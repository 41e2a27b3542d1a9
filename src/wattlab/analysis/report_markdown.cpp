// study_report_to_markdown: the report's text and tables as Markdown (the
// figures are in the HTML report).
#include <string>

#include "wattlab/analysis/report_tables.h"
#include "wattlab/analysis/study_report.h"

namespace wattlab {

namespace {

// A cell's text with the characters that would break a pipe table escaped.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

// One row of a pipe table. (Appended piece by piece: g++ 12 warns falsely,
// -Wrestrict, on `" " + std::string` chains here.)
void append_row(const std::vector<std::string>& cells, std::string* out) {
  *out += '|';
  for (const auto& c : cells) {
    *out += ' ';
    *out += cell(c);
    *out += " |";
  }
  *out += '\n';
}

std::string markdown_table(const ReportTable& t) {
  std::string out;
  if (!t.rows.empty()) {
    append_row(t.headers, &out);
    out += '|';
    for (bool numeric : t.numeric) out += numeric ? " ---: |" : " --- |";
    out += '\n';
    for (const auto& row : t.rows) append_row(row, &out);
  }
  if (!t.note.empty()) out += "\n" + t.note + "\n";
  return out + "\n";
}

std::string bullets(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += "- " + item + "\n";
  return out + "\n";
}

}  // namespace

std::string study_report_to_markdown(const StudyReport& r) {
  std::string out = "# Study report: " + r.data.name + "\n\n";
  out += std::to_string(r.data.runs.size()) + " trial runs, " + std::to_string(r.data.models.size()) + " models x " +
         std::to_string(r.data.environments.size()) + " environments" +
         (r.data.spec_hash.empty() ? "" : ", spec " + r.data.spec_hash) + ". Energy: " +
         (r.estimated_runs == 0   ? "measured in every run."
          : r.measured_runs == 0 ? "**ESTIMATED** in every run (no hardware counter)."
                                 : std::to_string(r.measured_runs) + " runs measured, " +
                                       std::to_string(r.estimated_runs) + " estimated.") +
         " (Figures: see the HTML report.)\n\n";
  out += "## Summary\n\n" + bullets(r.summary);
  out += "## Energy per image\n\n" + markdown_table(configurations_table(r));
  out += "## Model x environment\n\n" + markdown_table(two_way_table(r));
  out += "## Trade-offs\n\n### Energy per image against F1\n\n" +
         markdown_table(pareto_table(r.energy_front, "median J/image"));
  out += "### Training time against F1\n\n" + markdown_table(pareto_table(r.time_front, "median time (s)"));
  out += "## Savings against the baseline\n\n" + markdown_table(savings_report_table(r));
  out += "## Statistics\n\n";
  if (r.statistics.ok()) out += bullets(compare_reading(*r.statistics));
  out += markdown_table(omnibus_table(r));
  out += "### Pairs of configurations\n\n" + markdown_table(pairs_table(r));
  out += "## Runs and their environments\n\n" + markdown_table(environments_table(r)) + markdown_table(runs_table(r));
  if (r.data.left_out > 0)
    out += "Left out: " + std::to_string(r.data.left_out) + " trial runs (" + r.data.left_out_reason + ").\n\n";
  out += "## Methods\n\n" + bullets(methods_notes(r));
  return out;
}

}  // namespace wattlab
