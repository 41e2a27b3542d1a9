// write_demo_study STORE [RUNS_PER_CONFIGURATION] [--estimated]: writes the
// default synthetic study (3 models x 2 environments, "green-cv") into the
// store STORE, for the browser test and for trying `wattlab study report`
// without training anything.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "wattlab/analysis/synthetic_runs.h"
#include "wattlab/track/store.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: write_demo_study STORE [RUNS_PER_CONFIGURATION] [--estimated]\n");
    return 2;
  }
  wattlab::SyntheticStudy study = wattlab::default_synthetic_study();
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--estimated") == 0) {
      study.energy_estimated = true;
    } else {
      study.repetitions = std::atoi(argv[i]);
    }
  }
  auto store = wattlab::Store::open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "write_demo_study: %s\n", store.status().to_string().c_str());
    return 1;
  }
  auto ids = wattlab::write_synthetic_study(**store, study);
  if (!ids.ok()) {
    std::fprintf(stderr, "write_demo_study: %s\n", ids.status().to_string().c_str());
    return 1;
  }
  std::printf("wrote %zu trial runs of study %s to %s\n", ids->size(), study.name.c_str(), argv[1]);
  return 0;
}
