// Small helpers the store back ends (SqliteStore, PostgresStore) share:
// run-id and experiment-id checks, and the SQL both dialects read alike.
// Internal to track/.
#pragma once

#include <string>

#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab::store_support {

bool starts_with(const std::string& s, const std::string& prefix);
// Only '0'-'9' and 'a'-'f' (run ids are lower-case hex).
bool is_hex(const std::string& s);
std::string to_lower(std::string s);
// 1 to 18 decimal digits: what an experiment id can be (others name no experiment).
bool is_decimal_id(const std::string& id);
// The lifecycle_stage literal a view keeps ("'active'", "'deleted'"), or
// nullptr for every stage.
const char* lifecycle_condition(ViewType view);
// InvalidArgument unless 1 <= max_results <= limit.
Status check_max_results(int max_results, int limit);

}  // namespace wattlab::store_support
