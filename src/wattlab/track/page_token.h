// MLflow's page tokens: base64 of the JSON {"offset": N}, opaque to clients.
#pragma once

#include <cstdint>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

// The token for the page starting at row `offset` (>= 0).
std::string encode_page_token(int64_t offset);
// The offset a token names; 0 for the empty token. InvalidArgument for
// anything that is not a token encode_page_token() could have made.
Result<int64_t> decode_page_token(const std::string& token);

}  // namespace wattlab
