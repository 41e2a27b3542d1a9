// Two factors at once (model x training environment) and whether they
// interact: does the cheapest model depend on where it is trained?
//
// Method: ANOVA of log(value) with type-II sums of squares. Why this one:
//  - Energy is positive and multiplicative: a model costs a multiple of
//    another, an environment scales power. On the log scale those effects
//    add, the spread stops growing with the mean, and an interaction means
//    "the ratio between models changes with the environment" — the reference
//    study's finding.
//  - Type II tests each main effect after the other main effect (Langsrud
//    2003), so an unbalanced design (a failed run, unequal repetitions) does
//    not let the order of the factors decide the answer, and unlike type III
//    it does not depend on how the factors are coded.
//  - It has an established reference (statsmodels' anova_lm(typ=2)) to test
//    against; the aligned-rank-transform ANOVA, its rank-based alternative,
//    has none in SciPy or statsmodels. Its residuals' normality is reported,
//    so a reader can see when the rank tests are the ones to trust.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/analysis/assumptions.h"
#include "wattlab/analysis/effect_size.h"
#include "wattlab/core/status.h"

namespace wattlab {

// Observations with two categorical factors: row i has value values[i] at
// level a_levels[a[i]] of factor A and b_levels[b[i]] of factor B.
struct TwoFactorData {
  std::string a_name, b_name;  // "model", "environment"
  std::vector<std::string> a_levels, b_levels;
  std::vector<uint32_t> a, b;
  std::vector<double> values;
};

struct AnovaTerm {
  std::string name;  // "model", "environment", "model:environment"
  double sum_of_squares = 0;  // type II, on the log scale
  double df = 0;
  double f = 0;
  double p_value = 0;
  double partial_eta_squared = 0;  // SS / (SS + residual SS)
  EffectMagnitude magnitude = EffectMagnitude::kNegligible;
};

struct TwoWayAnovaResult {
  size_t n = 0;
  AnovaTerm a, b, interaction;
  double residual_sum_of_squares = 0;
  double residual_df = 0;
  // Shapiro–Wilk on the model's residuals; a Status when it cannot be
  // computed (e.g. every residual zero).
  std::optional<ShapiroWilkResult> residual_normality;
  std::string residual_normality_note;  // why it is absent, when it is
};

// Type-II ANOVA of log(values) on A, B and A:B, fitted by least squares
// (Eigen's rank-revealing QR, so empty cells only lower degrees of freedom).
// InvalidArgument when the sizes disagree, a level index is out of range, a
// value is not positive and finite (the log needs it), a factor has fewer
// than two levels present, or no cell holds two values (nothing estimates
// the residual variance).
Result<TwoWayAnovaResult> two_way_anova_log(const TwoFactorData& data);

}  // namespace wattlab
