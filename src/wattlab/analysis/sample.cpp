#include "wattlab/analysis/sample.h"

#include <cmath>
#include <cstdio>
#include <optional>

namespace wattlab {

Status check_finite(const std::string& test, const Sample& sample) {
  for (size_t i = 0; i < sample.values.size(); ++i) {
    if (!std::isfinite(sample.values[i])) {
      return Status::invalid_argument(test + ": value " + std::to_string(i + 1) + " of '" + sample.name + "' is " +
                                      format_value(sample.values[i]) +
                                      "; drop or fix the missing or broken measurement first");
    }
  }
  return Status::ok_status();
}

Status check_samples(const std::string& test, const std::vector<Sample>& samples, size_t min_samples,
                     size_t min_values) {
  if (samples.size() < min_samples) {
    return Status::invalid_argument(test + " compares at least " + std::to_string(min_samples) + " groups; got " +
                                    std::to_string(samples.size()) +
                                    " — group by a column with more distinct values, or add runs of the "
                                    "missing configurations");
  }
  for (const Sample& s : samples) {
    if (s.values.size() < min_values) {
      return Status::invalid_argument(test + " needs at least " + std::to_string(min_values) + " value" +
                                      (min_values == 1 ? "" : "s") + " in every group; '" + s.name + "' has " +
                                      std::to_string(s.values.size()) + " — add repetitions of it or leave it out");
    }
    WATTLAB_RETURN_IF_ERROR(check_finite(test, s));
  }
  return Status::ok_status();
}

bool all_values_equal(const std::vector<Sample>& samples) {
  std::optional<double> first;
  for (const Sample& s : samples) {
    for (double v : s.values) {
      if (!first) {
        first = v;
      } else if (v != *first) {
        return false;
      }
    }
  }
  return true;
}

const char* alternative_name(Alternative alternative) {
  switch (alternative) {
    case Alternative::kTwoSided: return "two-sided";
    case Alternative::kGreater: return "greater";
    case Alternative::kLess: return "less";
  }
  return "?";
}

Result<Alternative> parse_alternative(const std::string& text) {
  for (Alternative a : {Alternative::kTwoSided, Alternative::kGreater, Alternative::kLess}) {
    if (text == alternative_name(a)) return a;
  }
  return Status::invalid_argument("alternative \"" + text + "\": use two-sided, greater or less");
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "infinity" : "-infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

}  // namespace wattlab
