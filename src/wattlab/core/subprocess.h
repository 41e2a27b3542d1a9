// Running other programs.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct CapturedOutput {
  int exit_code = -1;
  std::string stdout_text;
};

// Runs argv[0] (looked up on PATH) with its stdout captured and stderr
// discarded; waits for it. NotFound if it cannot be started.
Result<CapturedOutput> run_and_capture(const std::vector<std::string>& argv);

}  // namespace wattlab
