// Where a command finds a trained model: a training run's artifact folder
// (--run) or a folder or file given directly.
#pragma once

#include <string>

#include "wattlab/cli/commands.h"
#include "wattlab/core/status.h"

namespace wattlab::cli {

// The folder of `run_id`'s saved model (its artifact folder, see
// run_artifact_dir; `artifacts_dir` as train --artifacts). Errors name the
// run and the fix: no such run in the store, no model.json saved.
Result<std::string> model_dir_of_run(const GlobalOptions& global, const std::string& run_id,
                                     const std::string& artifacts_dir);

}  // namespace wattlab::cli
