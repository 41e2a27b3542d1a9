#include <cstdio>
#include <cstdlib>

#include "wattlab/cli/commands.h"
#include "wattlab/server/rest_run_logger.h"
#include "wattlab/track/store.h"
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

Result<RunDestination> open_run_destination(const GlobalOptions& global, const std::string& tracking_uri) {
  RunDestination out;
  if (is_http_tracking_uri(tracking_uri)) {
    const char* token = std::getenv("WATTLAB_TOKEN");
    auto logger = RestRunLogger::connect(tracking_uri, token ? token : "");
    if (!logger.ok()) return logger.status();
    WATTLAB_RETURN_IF_ERROR((*logger)->check_reachable());
    out.description = out.server_uri = (*logger)->uri();
    out.logger = std::move(*logger);
    return out;
  }
  // Only URIs: a bare word or path (MLflow's "databricks", "./mlruns", often
  // left in MLFLOW_TRACKING_URI) must not quietly become a SQLite file.
  if (!tracking_uri.empty()) {
    const size_t scheme_end = tracking_uri.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : tracking_uri.substr(0, scheme_end);
    if (scheme != "sqlite" && scheme != "postgresql" && scheme != "postgres") {
      return Status::invalid_argument("tracking URI \"" + tracking_uri +
                                      "\" (--tracking-uri or MLFLOW_TRACKING_URI): use a wattlab server "
                                      "(http://host:port) or a store URI (sqlite:///path.db, postgresql://...); "
                                      "for a file, use --store");
    }
  }
  const std::string& location = tracking_uri.empty() ? global.store_path : tracking_uri;
  auto store = Store::open(location);
  if (!store.ok()) return store.status();
  out.logger = std::move(*store);
  out.description = location;
  return out;
}

void add_tracking_uri_option(CLI::App* cmd, std::string* tracking_uri) {
  cmd->add_option("--tracking-uri", *tracking_uri,
                  "Record the run on a wattlab server (http://host:port; WATTLAB_TOKEN is its token) or in "
                  "another store instead of --store")
      ->envname("MLFLOW_TRACKING_URI");
}

}  // namespace wattlab::cli
