#include "wattlab/analysis/study_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>

#include "wattlab/analysis/descriptive.h"

namespace wattlab {

namespace {

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double median_of(const StudyData& data, const std::vector<size_t>& runs, double StudyRun::*field) {
  std::vector<double> values;
  for (size_t i : runs)
    if (std::isfinite(data.runs[i].*field)) values.push_back(data.runs[i].*field);
  return values.empty() ? kNaN : median(values);
}

std::vector<double> values_of(const StudyData& data, const std::vector<size_t>& runs, double StudyRun::*field) {
  std::vector<double> values;
  for (size_t i : runs)
    if (std::isfinite(data.runs[i].*field)) values.push_back(data.runs[i].*field);
  return values;
}

std::string percent(double fraction) { return format_significant(100 * fraction, 3) + " %"; }

// The headline: the cheapest configuration against the baseline, the most
// correct one, and the Pareto front.
std::vector<std::string> summarise(const StudyReport& r) {
  std::vector<std::string> out;
  out.push_back("Study " + r.data.name + ": " + std::to_string(r.data.runs.size()) + " trial runs of " +
                std::to_string(r.data.models.size()) + " models x " + std::to_string(r.data.environments.size()) +
                " environments (" + std::to_string(r.cells.size()) + " configurations); energy " +
                (r.estimated_runs == 0   ? std::string("measured in every run")
                 : r.measured_runs == 0 ? std::string("ESTIMATED in every run (no hardware counter)")
                                        : std::to_string(r.estimated_runs) + " runs estimated, " +
                                              std::to_string(r.measured_runs) + " measured") +
                ".");
  if (r.data.left_out > 0)
    out.push_back("Left out " + std::to_string(r.data.left_out) + " trial runs: " + r.data.left_out_reason + ".");
  if (r.savings.ok() && r.cells.size() > 1) {
    const SavingsTable& t = *r.savings;
    size_t cheapest = 0;
    for (size_t i = 1; i < t.rows.size(); ++i)
      if (t.rows[i].median_energy_per_image_j < t.rows[cheapest].median_energy_per_image_j) cheapest = i;
    const SavingsRow& row = t.rows[cheapest];
    const SavingsRow& base = t.rows[t.baseline];
    if (!row.is_baseline) {
      std::string sentence = row.label + " uses " + percent(row.energy_reduction) + " less energy per image than " +
                             base.label + " (median " + format_significant(row.median_energy_per_image_j, 3) +
                             " J against " + format_significant(base.median_energy_per_image_j, 3) + " J";
      if (row.energy_test.ok()) {
        sentence += "; " + format_p_value(row.energy_p_adjusted) + ", Cliff's delta " +
                    format_significant(row.energy_delta.ok() ? row.energy_delta->delta : kNaN, 2);
      }
      sentence += ")";
      if (std::isfinite(row.correctness_difference)) {
        sentence += " for an F1 difference of " + format_significant(100 * row.correctness_difference, 2) +
                    " points";
        if (row.correctness_test.ok()) {
          sentence += " (" + format_p_value(row.correctness_p_adjusted) + ", Cliff's delta " +
                      format_significant(row.correctness_delta.ok() ? row.correctness_delta->delta : kNaN, 2) + ")";
        }
      }
      out.push_back(sentence + ".");
    }
  }
  std::string front;
  for (const ParetoEntry& e : r.energy_front)
    if (e.on_front) front += (front.empty() ? "" : ", ") + e.point.label;
  if (!front.empty()) {
    out.push_back("Pareto front of energy per image against F1: " + front +
                  "; every other configuration is beaten on both by one of these.");
  }
  if (r.statistics.ok() && r.statistics->two_way_anova && r.statistics->two_way_anova->ok()) {
    const AnovaTerm& interaction = (*r.statistics->two_way_anova)->interaction;
    out.push_back(interaction.p_value < r.options.statistics.alpha
                      ? "Model and environment interact (" + format_p_value(interaction.p_value) +
                            "): which environment saves most depends on the model."
                      : "No interaction of model and environment is detectable (" +
                            format_p_value(interaction.p_value) + ").");
  }
  return out;
}

json savings_row_json(const SavingsRow& row) {
  auto test = [](const Result<MannWhitneyResult>& t, double adjusted, const Result<CliffsDelta>& d) -> json {
    if (!t.ok()) return {{"error", t.status().message()}};
    return {{"mann_whitney_u", t->u},
            {"p_value", t->p_value},
            {"p_adjusted", adjusted},
            {"cliffs_delta", d.ok() ? json_number(d->delta) : json()},
            {"magnitude", d.ok() ? effect_magnitude_name(d->magnitude) : "-"}};
  };
  json out = {{"configuration", row.label},
              {"baseline", row.is_baseline},
              {"n", row.n},
              {"median_energy_per_image_j", row.median_energy_per_image_j},
              {"energy_reduction", row.energy_reduction},
              {"median_f1", json_number(row.median_correctness)},
              {"f1_difference", json_number(row.correctness_difference)}};
  if (!row.is_baseline) {
    out["energy_test"] = test(row.energy_test, row.energy_p_adjusted, row.energy_delta);
    out["f1_test"] = test(row.correctness_test, row.correctness_p_adjusted, row.correctness_delta);
  }
  return out;
}

json front_json(const std::vector<ParetoEntry>& entries, const char* cost_key) {
  json out = json::array();
  for (const ParetoEntry& e : entries) {
    json dominated_by = json::array();
    for (size_t j : e.dominated_by) dominated_by.push_back(entries[j].point.label);
    out.push_back({{"configuration", e.point.label},
                   {cost_key, json_number(e.point.cost)},
                   {"median_f1", json_number(e.point.benefit)},
                   {"on_front", e.on_front},
                   {"dominated_by", dominated_by}});
  }
  return out;
}

}  // namespace

Result<StudyReport> build_study_report(StudyData data, const StudyReportOptions& options) {
  StudyReport r;
  r.options = options;
  r.data = std::move(data);
  const StudyData& d = r.data;
  std::map<std::pair<std::string, std::string>, size_t> cell_of;
  for (const auto& m : d.models)
    for (const auto& e : d.environments) cell_of[{m, e}] = 0;
  for (size_t i = 0; i < d.runs.size(); ++i) {
    const StudyRun& run = d.runs[i];
    auto it = cell_of.find({run.model, run.environment});
    if (it->second == 0) {
      r.cells.push_back({run.model, run.environment, run.model + " / " + run.environment, {}, 0, 0, 0, 0});
      it->second = r.cells.size();  // 1-based while filling
    }
    r.cells[it->second - 1].runs.push_back(i);
    (run.energy_estimated ? r.estimated_runs : r.measured_runs) += 1;
  }
  std::sort(r.cells.begin(), r.cells.end(), [](const StudyCell& a, const StudyCell& b) {
    return std::tie(a.model, a.environment) < std::tie(b.model, b.environment);
  });
  size_t baseline = 0;
  bool baseline_found = options.baseline.empty();
  std::vector<Configuration> configurations;
  for (size_t c = 0; c < r.cells.size(); ++c) {
    StudyCell& cell = r.cells[c];
    cell.median_energy_per_image_j = median_of(d, cell.runs, &StudyRun::energy_per_image_j);
    cell.median_f1 = median_of(d, cell.runs, &StudyRun::f1_macro);
    cell.median_duration_s = median_of(d, cell.runs, &StudyRun::duration_s);
    for (size_t i : cell.runs) cell.estimated_runs += d.runs[i].energy_estimated;
    configurations.push_back({cell.label, values_of(d, cell.runs, &StudyRun::energy_per_image_j),
                              values_of(d, cell.runs, &StudyRun::f1_macro)});
    if (options.baseline.empty()) {
      if (cell.median_energy_per_image_j > r.cells[baseline].median_energy_per_image_j) baseline = c;
    } else if (cell.label == options.baseline) {
      baseline = c;
      baseline_found = true;
    }
  }
  if (!baseline_found) {
    std::string labels;
    for (const auto& cell : r.cells) labels += (labels.empty() ? "" : ", ") + ("\"" + cell.label + "\"");
    return Status::invalid_argument("baseline \"" + options.baseline + "\" is not a configuration of study " + d.name +
                                    "; use one of: " + labels);
  }
  std::vector<TradeoffPoint> energy_points, time_points;
  for (const StudyCell& cell : r.cells) {
    energy_points.push_back({cell.label, cell.median_energy_per_image_j, cell.median_f1});
    time_points.push_back({cell.label, cell.median_duration_s, cell.median_f1});
  }
  r.energy_front = pareto_front(energy_points);
  r.time_front = pareto_front(time_points);
  r.savings = savings_table(configurations, baseline, options.statistics.adjustment);

  Observations o;
  o.value_name = "energy_per_image_j";
  o.factor_names = {"model", "environment"};
  o.factor_levels.resize(2);
  o.correlate_name = "f1_macro";
  for (const StudyRun& run : d.runs) {
    o.values.push_back(run.energy_per_image_j);
    o.factor_levels[0].push_back(run.model);
    o.factor_levels[1].push_back(run.environment);
    o.correlate_values.push_back(run.f1_macro);
  }
  CompareOptions statistics = options.statistics;
  statistics.correlate_alternative = Alternative::kGreater;  // does paying more energy buy F1?
  r.statistics = compare(o, statistics);
  r.summary = summarise(r);
  return r;
}

json study_report_to_json(const StudyReport& r) {
  json runs = json::array();
  for (const StudyRun& run : r.data.runs) {
    runs.push_back({{"run_id", run.run_id},
                    {"run_name", run.run_name},
                    {"model", run.model},
                    {"environment", run.environment},
                    {"repetition", run.repetition},
                    {"trial", run.trial},
                    {"energy_per_image_j", json_number(run.energy_per_image_j)},
                    {"energy_j", json_number(run.energy_j)},
                    {"duration_s", json_number(run.duration_s)},
                    {"f1_macro", json_number(run.f1_macro)},
                    {"accuracy", json_number(run.accuracy)},
                    {"energy_estimated", run.energy_estimated},
                    {"environment_snapshot", run.snapshot}});
  }
  json cells = json::array();
  for (const StudyCell& c : r.cells) {
    cells.push_back({{"configuration", c.label},
                     {"model", c.model},
                     {"environment", c.environment},
                     {"runs", c.runs.size()},
                     {"median_energy_per_image_j", json_number(c.median_energy_per_image_j)},
                     {"median_f1", json_number(c.median_f1)},
                     {"median_duration_s", json_number(c.median_duration_s)},
                     {"estimated_runs", c.estimated_runs}});
  }
  json savings;
  if (r.savings.ok()) {
    savings = {{"baseline", r.savings->rows[r.savings->baseline].label},
               {"p_adjustment", p_adjustment_name(r.savings->adjustment)},
               {"rows", json::array()}};
    for (const SavingsRow& row : r.savings->rows) savings["rows"].push_back(savings_row_json(row));
  } else {
    savings = {{"error", r.savings.status().message()}};
  }
  return {{"study", r.data.name},
          {"spec_hash", r.data.spec_hash},
          {"summary", r.summary},
          {"energy", {{"measured_runs", r.measured_runs}, {"estimated_runs", r.estimated_runs}}},
          {"left_out_runs", r.data.left_out},
          {"left_out_reason", r.data.left_out_reason},
          {"configurations", cells},
          {"statistics", r.statistics.ok() ? compare_to_json(*r.statistics)
                                           : json{{"error", r.statistics.status().message()}}},
          {"pareto_energy_f1", front_json(r.energy_front, "median_energy_per_image_j")},
          {"pareto_time_f1", front_json(r.time_front, "median_duration_s")},
          {"savings", savings},
          {"runs", runs}};
}

Result<ReportFormat> report_format_for_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".html" || ext == ".htm") return ReportFormat::kHtml;
  if (ext == ".md" || ext == ".markdown") return ReportFormat::kMarkdown;
  if (ext == ".json") return ReportFormat::kJson;
  return Status::invalid_argument("report file \"" + path + "\": end it in .html, .md or .json to choose the format");
}

Result<nlohmann::json> study_report_json(Store& store, const std::string& study, const StudyReportOptions& options) {
  auto data = load_study(store, study);
  if (!data.ok()) return data.status();
  auto report = build_study_report(std::move(*data), options);
  if (!report.ok()) return report.status();
  return study_report_to_json(*report);
}

Result<std::string> write_study_report(Store& store, const std::string& study, const std::string& out_path,
                                       const StudyReportOptions& options) {
  auto format = report_format_for_path(out_path);
  if (!format.ok()) return format.status();
  auto data = load_study(store, study);
  if (!data.ok()) return data.status();
  auto report = build_study_report(std::move(*data), options);
  if (!report.ok()) return report.status();
  std::string text;
  switch (*format) {
    case ReportFormat::kHtml: text = study_report_to_html(*report); break;
    case ReportFormat::kMarkdown: text = study_report_to_markdown(*report); break;
    case ReportFormat::kJson: text = study_report_to_json(*report).dump(2) + "\n"; break;
  }
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(out_path, ec);
  const std::string where = ec ? out_path : absolute.string();
  const std::string temporary = where + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Status::io_error("cannot write " + where + " — check that its folder exists and is writable");
    out << text;
    if (!out.flush()) return Status::io_error("cannot write " + where + " (disk full?)");
  }
  std::filesystem::rename(temporary, where, ec);
  if (ec) return Status::io_error("cannot replace " + where + ": " + ec.message());
  return where;
}

}  // namespace wattlab
