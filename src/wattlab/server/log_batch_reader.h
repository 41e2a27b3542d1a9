// A reader for the usual shape of a runs/log-batch request body, about ten
// times cheaper than building nlohmann's DOM of it (no tree, no allocation
// per member).
//
// It reads only what it can read exactly as the general path (nlohmann's
// parse, then MlflowApi's field conversion) would, and gives up on anything
// else: a body it declines is not thereby invalid; the caller then parses it
// the general way, which also gives MLflow's error for it. So a caller that
// falls back keeps every response of the general path unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wattlab/track/entities.h"

namespace wattlab {

// A runs/log-batch request, its fields converted.
struct LogBatchRequest {
  std::string run_id;
  std::vector<Metric> metrics;
  std::vector<Param> params;
  std::vector<RunTag> tags;
};

// Reads `body` when it is one JSON object, surrounded by JSON whitespace at
// most, whose members, each at most once and in any order, are:
//   "run_id":  a non-empty string (required);
//   "metrics": an array of objects with "key" (a non-empty string),
//              "value" (a finite JSON number), "timestamp" (a JSON integer
//              within int64) and optionally "step" (the same; 0 if absent),
//              nothing else;
//   "params", "tags": arrays of objects with "key" (a non-empty string) and
//              optionally "value" (a string; "" if absent), nothing else;
// and where every string is printable ASCII without escapes. std::nullopt for
// anything else (see above). Counts are not limited here: the caller checks
// them as for any request. Linear in the size of `body`.
std::optional<LogBatchRequest> read_log_batch(std::string_view body);

}  // namespace wattlab
