// Where a run keeps its files (checkpoints, configuration, model), and how
// they are written.
#pragma once

#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

// The files of a run in its artifact folder.
inline constexpr const char* kCheckpointFile = "checkpoint.pt";  // after every epoch (trainer.h TrainFiles)
inline constexpr const char* kConfigFile = "config.yaml";        // the resolved configuration

// The local folder of a run's artifacts: the artifact URI itself when it is a
// path (or file://path), `artifacts_dir`/P for a server's "mlflow-artifacts:/P"
// when `artifacts_dir` is given. Unavailable, naming the URI and the fix,
// otherwise.
Result<std::string> run_artifact_dir(const std::string& artifact_uri, const std::string& artifacts_dir);

// Writes `text` to `path` through a temporary file renamed over it, so a
// reader sees the old file or the new one, never a part.
Status write_file_atomically(const std::string& path, const std::string& text);

}  // namespace wattlab
