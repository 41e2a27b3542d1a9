// The figures of a study report as inline SVG: no script, no fonts or
// images fetched, so the HTML report opens (and prints) anywhere. Each mark a
// reader counts carries a CSS class the browser test checks.
#pragma once

#include <string>
#include <vector>

#include "wattlab/analysis/pareto.h"
#include "wattlab/analysis/study_report.h"

namespace wattlab {

// Energy per image of every configuration: a box (class "box": quartiles,
// median, whiskers to the furthest run within 1.5 IQR) per model x
// environment, grouped by model and coloured by environment, with every run
// as a point (class "run-point"; hollow when its energy is estimated).
std::string energy_box_plot_svg(const StudyReport& report);

// Median energy per image against environment on a log scale, one line per
// model (class "model-line", markers "cell-median"): parallel lines mean no
// interaction on the scale the two-way ANOVA uses.
std::string interaction_plot_svg(const StudyReport& report);

// A trade-off scatter: one point per configuration (class "pareto-point",
// filled on the front, hollow when dominated), labelled, and the front as a
// step line (class "pareto-front"). `cost_label` names the x axis.
std::string pareto_scatter_svg(const std::vector<ParetoEntry>& entries, const std::string& cost_label,
                               const std::string& benefit_label);

// `text` with &, <, >, " and ' escaped for HTML and SVG.
std::string escape_xml(const std::string& text);

}  // namespace wattlab
