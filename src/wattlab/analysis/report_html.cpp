// study_report_to_html: one self-contained document — styles inline, figures
// as inline SVG, no script, nothing fetched — that reads on screen and on paper.
#include <string>

#include "wattlab/analysis/report_charts.h"
#include "wattlab/analysis/report_tables.h"
#include "wattlab/analysis/study_report.h"

namespace wattlab {

namespace {

constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font-family: system-ui, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       max-width: 1000px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #bbb; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #555; margin-top: 0; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 0.3rem; border: 1px solid #333;
         font-size: 0.85rem; font-weight: 600; }
.badge.measured { background: #e6f4ea; } .badge.estimated { background: #fdecea; } .badge.mixed { background: #fff4d6; }
figure { margin: 1rem 0; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.3rem; }
svg { width: 100%; max-width: 760px; height: auto; display: block; }
svg text { font: 12px "DejaVu Sans", Arial, sans-serif; fill: #222; }
svg .category { font-weight: 600; } svg .point-label { font-size: 11px; }
svg .grid { stroke: #e4e4e4; } svg .frame { stroke: #444; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.45rem; vertical-align: top; }
th { background: #f2f2f2; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { font-size: 0.85rem; color: #444; }
.scroll { overflow-x: auto; }
@page { margin: 14mm; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  figure, table, tr { break-inside: avoid; }
  .scroll { overflow: visible; }
  th { background: none; }
}
)css";

std::string html_table(const ReportTable& t) {
  std::string out;
  if (!t.rows.empty()) {
    out += "<div class=\"scroll\"><table><thead><tr>";
    for (const auto& h : t.headers) out += "<th>" + escape_xml(h) + "</th>";
    out += "</tr></thead><tbody>\n";
    for (const auto& row : t.rows) {
      out += "<tr>";
      for (size_t i = 0; i < row.size(); ++i)
        out += (t.numeric[i] ? "<td class=\"num\">" : "<td>") + escape_xml(row[i]) + "</td>";
      out += "</tr>\n";
    }
    out += "</tbody></table></div>\n";
  }
  if (!t.note.empty()) out += "<p class=\"note\">" + escape_xml(t.note) + "</p>\n";
  return out;
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "<ul>\n";
  for (const auto& item : items) out += "<li>" + escape_xml(item) + "</li>\n";
  return out + "</ul>\n";
}

std::string figure(const std::string& id, const std::string& svg, const std::string& caption) {
  return "<figure id=\"" + id + "\">\n" + svg + "<figcaption>" + escape_xml(caption) + "</figcaption></figure>\n";
}

}  // namespace

std::string study_report_to_html(const StudyReport& r) {
  const std::string kind = r.estimated_runs == 0 ? "measured" : r.measured_runs == 0 ? "estimated" : "mixed";
  const std::string energy_words =
      kind == "measured"    ? "Energy: measured (hardware counters) in every run"
      : kind == "estimated" ? "Energy: ESTIMATED in every run (no hardware counter; CPU-utilisation and TDP model)"
                            : "Energy: " + std::to_string(r.measured_runs) + " runs measured, " +
                                  std::to_string(r.estimated_runs) + " estimated (hollow points)";
  const std::string caption_energy = kind == "measured" ? "All figures measured." : energy_words + ".";
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Study " +
                    escape_xml(r.data.name) + " — wattlab report</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  out += "<header><h1>Study report: " + escape_xml(r.data.name) + "</h1>\n<p class=\"meta\">" +
         std::to_string(r.data.runs.size()) + " trial runs · " + std::to_string(r.data.models.size()) + " models × " +
         std::to_string(r.data.environments.size()) + " environments" +
         (r.data.spec_hash.empty() ? "" : " · spec " + escape_xml(r.data.spec_hash)) +
         " · <span class=\"badge " + kind + "\" id=\"energy-kind\">" + escape_xml(energy_words) +
         "</span></p></header>\n";
  out += "<section id=\"summary\"><h2>Summary</h2>\n" + list(r.summary) + "</section>\n";

  out += "<section id=\"energy\"><h2>Energy per image</h2>\n";
  out += figure("figure-energy", energy_box_plot_svg(r),
                "Figure 1. Energy per training image of every run (points) and its distribution per configuration "
                "(box: quartiles and median; whiskers: furthest run within 1.5 IQR). " +
                    caption_energy);
  out += html_table(configurations_table(r)) + "</section>\n";

  out += "<section id=\"interaction\"><h2>Model × environment</h2>\n";
  out += figure("figure-interaction", interaction_plot_svg(r),
                "Figure 2. Median energy per image by environment, one line per model, log scale: lines that are "
                "not parallel mean the environment's effect depends on the model. " +
                    caption_energy);
  out += html_table(two_way_table(r)) + "</section>\n";

  out += "<section id=\"tradeoffs\"><h2>Trade-offs</h2>\n";
  out += figure("figure-pareto-energy", pareto_scatter_svg(r.energy_front, "median energy per image (J)", "median F1"),
                "Figure 3. Median F1 against median energy per image per configuration. Filled points form the "
                "Pareto front (no configuration is cheaper and at least as correct); hollow ones are dominated. " +
                    caption_energy);
  out += html_table(pareto_table(r.energy_front, "median J/image"));
  out += figure("figure-pareto-time", pareto_scatter_svg(r.time_front, "median training time (s)", "median F1"),
                "Figure 4. Median F1 against median training time per configuration, front filled.");
  out += html_table(pareto_table(r.time_front, "median time (s)")) + "</section>\n";

  out += "<section id=\"savings\"><h2>Savings against the baseline</h2>\n" + html_table(savings_report_table(r)) +
         "</section>\n";

  out += "<section id=\"statistics\"><h2>Statistics</h2>\n";
  if (r.statistics.ok()) out += list(compare_reading(*r.statistics));
  out += html_table(omnibus_table(r));
  out += "<h3>Pairs of configurations</h3>\n" + html_table(pairs_table(r)) + "</section>\n";

  out += "<section id=\"runs\"><h2>Runs and their environments</h2>\n";
  out += html_table(environments_table(r));
  out += html_table(runs_table(r));
  if (r.data.left_out > 0) {
    out += "<p class=\"note\">Left out: " + std::to_string(r.data.left_out) + " trial runs (" +
           escape_xml(r.data.left_out_reason) + ").</p>\n";
  }
  out += "</section>\n";
  out += "<section id=\"methods\"><h2>Methods</h2>\n" + list(methods_notes(r)) + "</section>\n";
  out += "<footer class=\"note\">Written by wattlab from the runs in its store. Self-contained: no scripts, fonts or "
         "images are fetched.</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace wattlab
