// A run's files on a tracking server's artifact store (MLflow's artifact
// proxy, which `wattlab server` and `mlflow server` both serve): a run
// recorded through a server keeps its checkpoints, config.yaml and model
// files there, so that `wattlab infer` and `train --resume` find them from
// any machine. Single files go through RestClient::upload_file /
// download_file; these move folders.
#pragma once

#include <string>

#include "wattlab/core/status.h"
#include "wattlab/server/rest_client.h"

namespace wattlab {

// Uploads every regular file below `local_dir` (recursively, symlinks not
// followed) to the run's artifacts at `artifact_path`/<relative path>
// (`artifact_path` empty: the run's artifact root). Stops at the first
// failure, which names the file. NotFound when `local_dir` does not exist.
Status upload_artifact_dir(RestClient& client, const std::string& artifact_uri, const std::string& local_dir,
                           const std::string& artifact_path = "");

// Downloads the run's artifact folder `artifact_path` (empty: all of them)
// into `local_dir` (created if missing), recursively, each file replaced only
// once complete. NotFound when the folder holds nothing.
Status download_artifact_dir(RestClient& client, const std::string& artifact_uri, const std::string& artifact_path,
                             const std::string& local_dir);

}  // namespace wattlab
