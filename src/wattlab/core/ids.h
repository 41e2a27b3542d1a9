// Identifiers for runs and experiments.
#pragma once

#include <string>

namespace wattlab {

// A random 32-hex-digit identifier, the shape MLflow uses for run ids.
std::string new_run_id();

}  // namespace wattlab
