#include <cstdio>

#include "wattlab/cli/commands.h"
#ifdef WATTLAB_HAVE_TORCH
#include "wattlab/train/trainer.h"
#endif

namespace wattlab::cli {

std::string version_string() {
#ifdef WATTLAB_HAVE_TORCH
  return std::string("wattlab ") + WATTLAB_VERSION + " (LibTorch " + libtorch_version() + ")";
#else
  return std::string("wattlab ") + WATTLAB_VERSION + " (built without LibTorch)";
#endif
}

int report_error(const std::string& message) {
  std::fprintf(stderr, "wattlab: error: %s\n", message.c_str());
  return 1;
}

}  // namespace wattlab::cli
