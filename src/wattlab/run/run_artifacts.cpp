#include "wattlab/run/run_artifacts.h"

#include <filesystem>
#include <fstream>

namespace wattlab {

Result<std::string> run_artifact_dir(const std::string& artifact_uri, const std::string& artifacts_dir) {
  const std::string proxied = "mlflow-artifacts:/";
  if (artifact_uri.rfind(proxied, 0) == 0) {
    if (artifacts_dir.empty()) {
      return Status::unavailable("the run's artifacts live on its tracking server (" + artifact_uri +
                                 "); give the server's artifact folder with --artifacts DIR when it is on this "
                                 "machine");
    }
    return (std::filesystem::path(artifacts_dir) / artifact_uri.substr(proxied.size())).string();
  }
  if (artifact_uri.rfind("file://", 0) == 0) return artifact_uri.substr(7);
  const size_t colon = artifact_uri.find(':');
  if (artifact_uri.empty() || (colon != std::string::npos && artifact_uri.find('/') > colon)) {
    return Status::unavailable("the run's artifact location \"" + artifact_uri +
                               "\" is not a folder of this machine, so wattlab cannot keep files there");
  }
  return artifact_uri;
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::io_error("cannot write " + temp);
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return Status::io_error("cannot rename " + temp + " to " + path + ": " + ec.message());
  return Status();
}

}  // namespace wattlab
