// Comparing group means without assuming equal variances: Welch's one-way
// ANOVA and the Games–Howell post-hoc test. The parametric companions of
// Kruskal–Wallis and Dunn, for when the groups look normal (Shapiro–Wilk) but
// their spreads differ (Levene), as energy figures of different models do.
#pragma once

#include <vector>

#include "wattlab/analysis/sample.h"
#include "wattlab/core/status.h"

namespace wattlab {

struct WelchAnovaResult {
  double f = 0;
  double df_between = 0;  // k - 1
  double df_within = 0;   // Welch's approximate denominator degrees of freedom
  double p_value = 0;
};

// Welch's (1951) F test that all group means are equal (statsmodels'
// anova_oneway(use_var="unequal")). InvalidArgument for fewer than two
// groups, a group with fewer than 2 values, a non-finite value, or a group
// whose values are all equal (its weight n/s^2 would be infinite).
Result<WelchAnovaResult> welch_anova(const std::vector<Sample>& samples);

struct GamesHowellPair {
  size_t first = 0, second = 0;  // indexes into the samples, first < second
  double mean_difference = 0;    // mean of first minus mean of second
  double standard_error = 0;     // sqrt(s1^2/n1 + s2^2/n2)
  double t = 0;                  // mean_difference / standard_error
  double df = 0;                 // Welch–Satterthwaite
  double p_value = 0;            // from the studentized range of k means, |t| sqrt(2)
};

struct GamesHowellResult {
  std::vector<GamesHowellPair> pairs;  // every pair, (0,1), (0,2), ..., (k-2,k-1)
};

// Games–Howell (1976) pairwise comparison of means with unequal variances
// and sizes; p-values already account for the k(k-1)/2 comparisons. Needs
// at least two groups of at least 2 values each, and two groups that are not
// both constant in every pair (InvalidArgument naming the pair otherwise).
Result<GamesHowellResult> games_howell(const std::vector<Sample>& samples);

}  // namespace wattlab
