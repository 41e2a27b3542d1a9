// What `wattlab study` shares with `wattlab quickstart`, which runs the
// built-in study.
#pragma once

#include <string>

#include "wattlab/cli/commands.h"
#include "wattlab/study/executor.h"
#include "wattlab/study/spec.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

// The built-in study spec: `wattlab study example` prints it, `quickstart` runs it.
extern const char* const kExampleStudySpec;

// Runs the unfinished trials of `spec` on this machine (only trial `index`
// when given), printing progress unless `quiet`, and its state at the end
// (not for one index). Returns the exit code: 0 when every trial finished, 1
// otherwise, 128+signal when stopped; `result` (when given) receives the
// outcome.
int run_study_here(const GlobalOptions& global, const StudySpec& spec, Store& store, std::optional<int> index,
                   const std::string& stale_after, const std::string& node_state, bool quiet,
                   StudyRunResult* result = nullptr);

}  // namespace wattlab::cli
