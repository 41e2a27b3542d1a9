// `wattlab check`: the energy-regression gate for CI. Exit 1 when the
// candidate runs are significantly costlier than the baseline runs by more
// than allowed, 0 when not, 2 when there are too few runs to tell (or the
// runs cannot be read): a CI job fails on 1 and can retry or warn on 2.
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/analysis/compare.h"
#include "wattlab/analysis/observations.h"
#include "wattlab/analysis/regression_gate.h"
#include "wattlab/cli/commands.h"

namespace wattlab::cli {

namespace {

constexpr int kExitUndecided = static_cast<int>(GateVerdict::kUndecided);

struct CheckOptions {
  std::string baseline_filter, candidate_filter;
  std::string experiment;
  std::string metric = "metrics.energy_per_image_j";
  std::string max_increase = "5%";
  double alpha = 0.05;
  int resamples = 2000;
  uint64_t seed = 12345;
  std::string format = "text";
};

// "5%", "5 %" or "5": five percent, as a fraction.
Result<double> parse_percent(const std::string& text) {
  std::string digits = text;
  while (!digits.empty() && (digits.back() == '%' || digits.back() == ' ')) digits.pop_back();
  try {
    size_t used = 0;
    const double value = std::stod(digits, &used);
    if (used == digits.size() && std::isfinite(value) && value >= 0) return value / 100;
  } catch (...) {
  }
  return Status::invalid_argument("--max-increase \"" + text + "\": give a percentage such as 5%");
}

// The metric's values over the FINISHED runs `filter` selects.
Result<Sample> metric_sample(Store& store, const std::string& role, const std::string& experiment,
                             const std::string& filter, const std::string& metric, std::string* note) {
  RunSelection selection{experiment, "", filter};
  auto runs = select_runs(store, selection);
  if (!runs.ok()) return runs.status().with_context(role);
  // Every run lands in one group, so the grouping column is the run status.
  auto o = observations_from_runs(*runs, {{"attributes.status"}, metric, ""});
  if (!o.ok()) return o.status();
  if (o->dropped_rows > 0) *note += "  " + role + ": left out " + std::to_string(o->dropped_rows) + " runs (" + o->dropped_reason + ")\n";
  return Sample{role, o->values};
}

nlohmann::json decision_json(const GateDecision& d, const CheckOptions& o, double max_increase) {
  nlohmann::json j = {{"verdict", gate_verdict_name(d.verdict)},
                      {"exit_code", static_cast<int>(d.verdict)},
                      {"metric", o.metric},
                      {"baseline", {{"filter", o.baseline_filter}, {"n", d.baseline_n}, {"median", json_number(d.baseline_median)}}},
                      {"candidate", {{"filter", o.candidate_filter}, {"n", d.candidate_n}, {"median", json_number(d.candidate_median)}}},
                      {"increase", json_number(d.increase)},
                      {"max_increase", max_increase},
                      {"alpha", o.alpha},
                      {"reason", d.reason}};
  if (d.increase_interval) {
    j["increase_interval"] = {{"low", d.increase_interval->low}, {"high", d.increase_interval->high},
                              {"level", d.increase_interval->level}};
  }
  if (d.test) {
    j["mann_whitney"] = {{"u", d.test->u}, {"p_value", d.test->p_value}, {"alternative", "greater"},
                         {"method", mann_whitney_method_name(d.test->method)}};
  }
  if (d.delta) j["cliffs_delta"] = {{"delta", d.delta->delta}, {"magnitude", effect_magnitude_name(d.delta->magnitude)}};
  return j;
}

int run_check(const GlobalOptions& global, const CheckOptions& o) {
  auto fail = [](const std::string& message) {
    report_error(message);
    return kExitUndecided;
  };
  auto max_increase = parse_percent(o.max_increase);
  if (!max_increase.ok()) return fail(max_increase.status().message());
  if (Status s = check_run_field_key(o.metric); !s.ok()) return fail(s.message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return fail(store.status().message());
  std::string notes;
  auto baseline = metric_sample(**store, "baseline", o.experiment, o.baseline_filter, o.metric, &notes);
  if (!baseline.ok()) return fail(baseline.status().message());
  auto candidate = metric_sample(**store, "candidate", o.experiment, o.candidate_filter, o.metric, &notes);
  if (!candidate.ok()) return fail(candidate.status().message());
  RegressionGateOptions options;
  options.max_increase = *max_increase;
  options.alpha = o.alpha;
  options.bootstrap.resamples = o.resamples;
  options.bootstrap.seed = o.seed;
  auto decision = decide_regression(*baseline, *candidate, options);
  if (!decision.ok()) return fail(decision.status().message());
  const GateDecision& d = *decision;
  if (o.format == "json") {
    std::cout << decision_json(d, o, *max_increase).dump(2) << "\n";
    return static_cast<int>(d.verdict);
  }
  auto pct = [](double f) { return (f >= 0 ? "+" : "") + format_significant(100 * f, 3) + " %"; };
  std::cout << "wattlab check: " << o.metric << "\n"
            << "  baseline   " << d.baseline_n << " runs, median " << format_significant(d.baseline_median, 5)
            << "   (" << o.baseline_filter << ")\n"
            << "  candidate  " << d.candidate_n << " runs, median " << format_significant(d.candidate_median, 5)
            << "   (" << o.candidate_filter << ")\n";
  if (std::isfinite(d.increase)) {
    std::cout << "  increase   " << pct(d.increase);
    if (d.increase_interval) {
      std::cout << " (" << format_significant(100 * d.increase_interval->level, 3) << " % interval "
                << pct(d.increase_interval->low) << " to " << pct(d.increase_interval->high) << ")";
    }
    std::cout << ", allowed " << pct(*max_increase) << "\n";
  }
  if (d.test) {
    std::cout << "  test       one-sided Mann-Whitney U = " << format_significant(d.test->u, 5) << ", "
              << format_p_value(d.test->p_value) << " (alpha " << format_significant(o.alpha) << ")";
    if (d.delta) {
      std::cout << "; Cliff's delta = " << format_significant(d.delta->delta, 2) << " ("
                << effect_magnitude_name(d.delta->magnitude) << ")";
    }
    std::cout << "\n";
  }
  std::cout << notes << d.reason << "\n";
  return static_cast<int>(d.verdict);
}

}  // namespace

void add_check_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand(
      "check",
      "Energy-regression gate for CI: exit 1 when the candidate runs are significantly costlier than the baseline "
      "runs by more than --max-increase (one-sided Mann-Whitney, Cliff's delta at least small), 0 when not, 2 "
      "when there are too few runs to decide");
  cmd->add_option("--baseline", o->baseline_filter, "MLflow search filter selecting the baseline runs")->required();
  cmd->add_option("--candidate", o->candidate_filter, "MLflow search filter selecting the candidate runs")->required();
  cmd->add_option("--experiment", o->experiment, "Only runs of this experiment");
  cmd->add_option("--metric", o->metric, "The figure compared")->capture_default_str();
  cmd->add_option("--max-increase", o->max_increase, "Allowed increase of the median, a percentage")
      ->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "Significance level of the one-sided test")->capture_default_str();
  cmd->add_option("--resamples", o->resamples, "Bootstrap resamples for the interval of the increase")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Bootstrap seed")->capture_default_str();
  cmd->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->callback([&global, o, exit_code] { *exit_code = run_check(global, *o); });
}

}  // namespace wattlab::cli
