// Running other programs.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct CapturedOutput {
  int exit_code = -1;  // 128 + the signal when a signal ended it
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv[0] (looked up on PATH) with its stdout and stderr captured; waits
// for it. NotFound if it cannot be started.
Result<CapturedOutput> run_and_capture(const std::vector<std::string>& argv);

}  // namespace wattlab
