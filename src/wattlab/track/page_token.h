// MLflow's page tokens, opaque to clients: base64 of a small JSON object.
// Searches page by offset ({"offset": N}); a metric's history pages by
// position ({"step": S, "timestamp": T, "seq": Q}, the last point of the
// previous page), so that page N costs what page 1 does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

// The token for the page starting at row `offset` (>= 0).
std::string encode_page_token(int64_t offset);
// The offset a token names; 0 for the empty token. InvalidArgument for
// anything that is not a token encode_page_token() could have made.
Result<int64_t> decode_page_token(const std::string& token);

// A point's place in a metric's history order: step, then timestamp, then
// seq (its logging order within the series).
struct MetricHistoryPosition {
  int64_t step = 0;
  int64_t timestamp_ms = 0;
  int64_t seq = 0;
};
// The token for the page after the point at `last`.
std::string encode_metric_history_token(const MetricHistoryPosition& last);
// The position a token names; nullopt for the empty token (the first page).
// InvalidArgument for anything encode_metric_history_token() could not have
// made (an offset token included).
Result<std::optional<MetricHistoryPosition>> decode_metric_history_token(const std::string& token);

}  // namespace wattlab
