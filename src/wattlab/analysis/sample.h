// The input every test in analysis/ shares: named samples of measurements
// (one per group: a model, an environment, a model x environment cell...),
// and the checks that turn meaningless input into a message instead of a
// number.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct Sample {
  std::string name;            // shown in messages and results ("resnet18 / 2-threads")
  std::vector<double> values;  // observations, in any order
};

// InvalidArgument naming `test`, the sample and the position of the first
// value that is NaN or infinite; OK otherwise.
Status check_finite(const std::string& test, const Sample& sample);

// The common preconditions of a test over several samples: at least
// `min_samples` samples, each with at least `min_values` values, all finite.
// The message names `test` ("Kruskal–Wallis"), what is missing and the fix.
Status check_samples(const std::string& test, const std::vector<Sample>& samples, size_t min_samples,
                     size_t min_values);

// The direction a one-sided test looks in. kGreater: the first sample tends to
// be larger (or the correlation is positive); kLess: smaller (negative).
enum class Alternative { kTwoSided, kGreater, kLess };
// "two-sided", "greater", "less".
const char* alternative_name(Alternative alternative);
// Inverse of alternative_name; InvalidArgument naming the accepted words.
Result<Alternative> parse_alternative(const std::string& text);

// True when every value of every sample equals the first (no sample empty).
bool all_values_equal(const std::vector<Sample>& samples);

// "3.2", "0.0012", "1.5e+06": a value as messages print it.
std::string format_value(double value);

}  // namespace wattlab
