// Identifiers for runs and experiments, and fingerprints of texts.
#pragma once

#include <string>

namespace wattlab {

// A random 32-hex-digit identifier, the shape MLflow uses for run ids.
std::string new_run_id();

// 16 hex digits of the 64-bit FNV-1a hash of `text`: a short, stable
// fingerprint of a configuration or a study spec ("same text" = same hash).
std::string content_hash(const std::string& text);

}  // namespace wattlab
