#include "wattlab/server/remote_artifacts.h"

#include <filesystem>

namespace wattlab {

namespace fs = std::filesystem;

Status upload_artifact_dir(RestClient& client, const std::string& artifact_uri, const std::string& local_dir,
                           const std::string& artifact_path) {
  std::error_code ec;
  if (!fs::is_directory(local_dir, ec)) return Status::not_found("no folder " + local_dir + " to upload");
  for (auto it = fs::recursive_directory_iterator(local_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string relative = fs::relative(it->path(), local_dir).generic_string();
    const std::string destination = artifact_path.empty() ? relative : artifact_path + "/" + relative;
    Status uploaded = client.upload_file(artifact_uri, destination, it->path().string());
    if (!uploaded.ok()) return uploaded.with_context("cannot upload " + it->path().string() + " to " + client.uri());
  }
  if (ec) return Status::io_error("cannot read " + local_dir + ": " + ec.message());
  return Status();
}

namespace {

// Downloads `remote` (a folder below the artifact root) into `local`;
// counts the files in *files.
Status download_into(RestClient& client, const std::string& artifact_uri, const std::string& remote,
                     const fs::path& local, int* files) {
  auto entries = client.list_artifacts(artifact_uri, remote);
  if (!entries.ok()) return entries.status();
  std::error_code ec;
  fs::create_directories(local, ec);
  if (ec) return Status::io_error("cannot create " + local.string() + ": " + ec.message());
  for (const auto& e : *entries) {
    // Both servers list names relative to the folder asked for; take the last part either way.
    const std::string name = e.path.substr(e.path.rfind('/') == std::string::npos ? 0 : e.path.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") continue;
    const std::string child = remote.empty() ? name : remote + "/" + name;
    if (e.is_dir) {
      WATTLAB_RETURN_IF_ERROR(download_into(client, artifact_uri, child, local / name, files));
    } else {
      WATTLAB_RETURN_IF_ERROR(client.download_file(artifact_uri, child, (local / name).string()));
      ++*files;
    }
  }
  return Status();
}

}  // namespace

Status download_artifact_dir(RestClient& client, const std::string& artifact_uri, const std::string& artifact_path,
                             const std::string& local_dir) {
  int files = 0;
  WATTLAB_RETURN_IF_ERROR(download_into(client, artifact_uri, artifact_path, local_dir, &files));
  if (files == 0) {
    return Status::not_found("the run has no artifacts" + (artifact_path.empty() ? "" : " in " + artifact_path) +
                             " on " + client.uri());
  }
  return Status();
}

}  // namespace wattlab
