// `wattlab check`: an energy-regression gate for CI. Is a candidate (this
// commit's runs) significantly costlier than a baseline (main's runs) by more
// than a team allows? Answers yes (exit 1), no (0), or "too few runs to
// tell" (2), and says why.
#pragma once

#include <optional>
#include <string>

#include "wattlab/analysis/descriptive.h"
#include "wattlab/analysis/effect_size.h"
#include "wattlab/analysis/rank_tests.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct RegressionGateOptions {
  double max_increase = 0.05;  // allowed relative increase of the median: 0.05 is 5 %
  double alpha = 0.05;         // significance level of the one-sided test
  // Fewest runs on either side: a median and its bootstrap interval from two
  // runs say little, whatever a rank test could reach.
  size_t min_runs = 3;
  BootstrapOptions bootstrap;  // for the interval of the increase
};
// InvalidArgument for max_increase < 0, alpha outside (0, 1), min_runs < 2,
// or invalid bootstrap options.
Status validate(const RegressionGateOptions& options);

enum class GateVerdict {
  kPass = 0,        // not significantly costlier by more than allowed
  kRegression = 1,  // significantly costlier, by more than allowed, with at least a small effect
  kUndecided = 2,   // too few runs (or no usable values) to decide either way
};
const char* gate_verdict_name(GateVerdict verdict);  // "pass", "regression", "undecided"

struct GateDecision {
  GateVerdict verdict = GateVerdict::kUndecided;
  size_t baseline_n = 0, candidate_n = 0;
  double baseline_median = 0, candidate_median = 0;  // NaN without values
  double increase = 0;  // candidate median / baseline median - 1; NaN when undefined
  std::optional<ConfidenceInterval> increase_interval;  // bootstrap, when both have >= 2 values
  std::optional<MannWhitneyResult> test;  // one-sided: is the candidate larger?
  std::optional<CliffsDelta> delta;       // candidate against baseline
  std::string reason;  // the decision and why, in one or two sentences
};

// Decides. The candidate regresses when all three hold: the one-sided
// Mann–Whitney p (candidate larger) is below alpha, Cliff's delta is at
// least small (>= 0.147), and the median increase exceeds max_increase.
// Undecided when a side has fewer than min_runs values, the baseline median
// is not positive, or even complete separation could not reach p < alpha with
// these sizes (the smallest exact p is 1/C(n1+n2, n1)): the reason says how
// many runs each side needs. Values must be finite (InvalidArgument otherwise).
Result<GateDecision> decide_regression(const Sample& baseline, const Sample& candidate,
                                       const RegressionGateOptions& options = {});

// Runs per side (equal sizes) that `options` needs to be able to decide: at
// least min_runs, and enough for the exact one-sided test to reach p < alpha.
size_t runs_needed_per_side(const RegressionGateOptions& options);

}  // namespace wattlab
