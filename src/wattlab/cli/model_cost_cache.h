// A model's parameters and MACs per image for a shape, as `wattlab models
// info` counts them, for a process without LibTorch (`wattlab estimate`):
// counting means building the model, which needs LibTorch and its second of
// start-up, so each shape is counted once, by running
//   wattlab-torch models info NAME --input CxHxW --classes N --width-multiplier W --format json
// and its answer kept in user_cache_path("model_costs.tsv") (core/env.h),
// one line per shape and wattlab version: "VERSION<TAB>SHAPE KEY<TAB>PARAMETERS<TAB>MACS".
// The file is safe to delete; a line it cannot read is ignored.
#pragma once

#include <string>

#include "wattlab/analysis/pre.h"
#include "wattlab/core/status.h"

namespace wattlab::cli {

// The cached figures for `shape`, else counted as above and added to the
// cache (a cache that cannot be written is only a slower next time).
// Errors: InvalidArgument with `models info`'s message for a shape the model
// cannot take, Unavailable when this build has no wattlab-torch, Internal when it fails.
Result<PreModelCost> cached_model_cost(const PreModelShape& shape);

}  // namespace wattlab::cli
