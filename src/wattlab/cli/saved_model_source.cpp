#include "wattlab/cli/saved_model_source.h"

#include <filesystem>

#include "wattlab/run/run_artifacts.h"
#include "wattlab/track/store.h"
#include "wattlab/train/saved_model.h"

namespace wattlab::cli {

Result<std::string> model_dir_of_run(const GlobalOptions& global, const std::string& run_id,
                                     const std::string& artifacts_dir) {
  auto store = Store::open(global.store_path);
  if (!store.ok()) return store.status();
  auto run = (*store)->get_run(run_id);
  if (!run.ok()) {
    if (run.status().code() == Status::Code::kNotFound)
      return Status::not_found("--run: no run '" + run_id + "' in " + global.store_path + " (see wattlab runs ls)");
    return run.status();
  }
  auto dir = run_artifact_dir(run->info.artifact_uri, artifacts_dir);
  if (!dir.ok()) return dir.status();
  const std::string model_json = (std::filesystem::path(*dir) / kModelInfoFile).string();
  std::error_code ec;
  if (!std::filesystem::exists(model_json, ec)) {
    return Status::not_found("run " + run->info.run_id + " saved no model (" + model_json +
                             "): it did not finish, or is not a training run");
  }
  return *dir;
}

}  // namespace wattlab::cli
