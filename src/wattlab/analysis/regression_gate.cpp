#include "wattlab/analysis/regression_gate.h"

#include <cmath>
#include <limits>

#include "wattlab/analysis/compare.h"

namespace wattlab {

namespace {

std::string percent(double fraction) { return format_significant(100 * fraction, 3) + " %"; }

}  // namespace

Status validate(const RegressionGateOptions& options) {
  if (!(options.max_increase >= 0) || !std::isfinite(options.max_increase)) {
    return Status::invalid_argument("the allowed increase must be 0 % or more (got " +
                                    format_value(100 * options.max_increase) + " %)");
  }
  if (!(options.alpha > 0 && options.alpha < 1)) {
    return Status::invalid_argument("alpha must lie between 0 and 1 (got " + format_value(options.alpha) + ")");
  }
  if (options.min_runs < 2) {
    return Status::invalid_argument("the gate needs at least 2 runs a side (min_runs = " +
                                    std::to_string(options.min_runs) + ")");
  }
  return validate(options.bootstrap);
}

const char* gate_verdict_name(GateVerdict verdict) {
  switch (verdict) {
    case GateVerdict::kPass: return "pass";
    case GateVerdict::kRegression: return "regression";
    case GateVerdict::kUndecided: return "undecided";
  }
  return "?";
}

size_t runs_needed_per_side(const RegressionGateOptions& options) {
  size_t n = options.min_runs;
  while (mann_whitney_smallest_p(n, n, Alternative::kGreater) >= options.alpha) ++n;
  return n;
}

Result<GateDecision> decide_regression(const Sample& baseline, const Sample& candidate,
                                       const RegressionGateOptions& options) {
  WATTLAB_RETURN_IF_ERROR(validate(options));
  WATTLAB_RETURN_IF_ERROR(check_finite("check", baseline));
  WATTLAB_RETURN_IF_ERROR(check_finite("check", candidate));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  GateDecision d;
  d.baseline_n = baseline.values.size();
  d.candidate_n = candidate.values.size();
  d.baseline_median = baseline.values.empty() ? nan : median(baseline.values);
  d.candidate_median = candidate.values.empty() ? nan : median(candidate.values);
  d.increase = d.baseline_median > 0 ? d.candidate_median / d.baseline_median - 1 : nan;

  const size_t needed = runs_needed_per_side(options);
  const std::string sizes = std::to_string(d.baseline_n) + " baseline and " + std::to_string(d.candidate_n) +
                            " candidate runs";
  if (d.baseline_n < options.min_runs || d.candidate_n < options.min_runs) {
    d.reason = "Undecided: " + sizes + "; run at least " + std::to_string(needed) + " of each.";
    return d;
  }
  const double smallest_p = mann_whitney_smallest_p(d.baseline_n, d.candidate_n, Alternative::kGreater);
  if (smallest_p >= options.alpha) {
    d.reason = "Undecided: with " + sizes + ", even a candidate costlier in every run would give p = " +
               format_significant(smallest_p) + ", not below alpha = " + format_significant(options.alpha) +
               "; run at least " + std::to_string(needed) + " of each.";
    return d;
  }
  if (!(d.baseline_median > 0)) {
    d.reason = "Undecided: the baseline's median is " + format_value(d.baseline_median) +
               ", so an increase relative to it means nothing.";
    return d;
  }
  auto interval = bootstrap_median_increase(baseline, candidate, options.bootstrap);
  if (interval.ok()) d.increase_interval = *interval;
  auto delta = cliffs_delta(candidate, baseline);
  if (delta.ok()) d.delta = *delta;
  auto test = mann_whitney_u(candidate, baseline, Alternative::kGreater);
  if (!test.ok()) {  // every value equal on both sides
    d.verdict = GateVerdict::kPass;
    d.reason = "Pass: every baseline and candidate value is " + format_value(d.baseline_median) + ": no change.";
    return d;
  }
  d.test = *test;
  const bool significant = test->p_value < options.alpha;
  const bool large_enough = delta.ok() && delta->delta >= 0.147;
  const bool above_allowance = d.increase > options.max_increase;
  const std::string increase_text =
      "the candidate's median is " + percent(d.increase) + (d.increase >= 0 ? " higher" : "") +
      (d.increase_interval ? " (" + format_significant(100 * d.increase_interval->level, 3) + " % interval " +
                                 percent(d.increase_interval->low) + " to " + percent(d.increase_interval->high) + ")"
                           : "");
  const std::string test_text = "one-sided Mann–Whitney " + format_p_value(test->p_value) + ", Cliff's delta = " +
                                (delta.ok() ? format_significant(delta->delta, 2) + " (" +
                                                  effect_magnitude_name(delta->magnitude) + ")"
                                            : "-");
  if (significant && large_enough && above_allowance) {
    d.verdict = GateVerdict::kRegression;
    d.reason = "Regression: " + increase_text + ", above the allowed " + percent(options.max_increase) + "; " +
               test_text + ".";
    return d;
  }
  d.verdict = GateVerdict::kPass;
  std::string why;
  if (!significant) {
    why = "the candidate is not significantly costlier (" + test_text + ")";
  } else if (!large_enough) {
    why = "the difference is negligible (" + test_text + ")";
  } else {
    why = "the increase is within the allowed " + percent(options.max_increase) + " (" + test_text + ")";
  }
  d.reason = "Pass: " + increase_text + "; " + why + ".";
  return d;
}

}  // namespace wattlab
