#include <cstdio>
#include <cstdlib>

#include "wattlab/cli/commands.h"
#include "wattlab/server/mlflow_native.h"
#include "wattlab/server/rest_run_catalog.h"
#include "wattlab/server/rest_run_logger.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

std::string version_string() {
#ifdef WATTLAB_LIBTORCH_VERSION
  return std::string("wattlab ") + WATTLAB_VERSION + " (LibTorch " + WATTLAB_LIBTORCH_VERSION + ")";
#else
  return std::string("wattlab ") + WATTLAB_VERSION + " (built without LibTorch)";
#endif
}

int report_error(const std::string& message) {
  std::fprintf(stderr, "wattlab: error: %s\n", message.c_str());
  return 1;
}

Result<std::string> run_location(const GlobalOptions& global, const std::string& tracking_uri) {
  if (tracking_uri.empty() || is_http_tracking_uri(tracking_uri)) {
    return tracking_uri.empty() ? global.store_path : tracking_uri;
  }
  // Only URIs: a bare word or path (MLflow's "databricks", "./mlruns", often
  // left in MLFLOW_TRACKING_URI) must not quietly become a SQLite file.
  const size_t scheme_end = tracking_uri.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : tracking_uri.substr(0, scheme_end);
  if (scheme != "sqlite" && scheme != "postgresql" && scheme != "postgres") {
    return Status::invalid_argument("tracking URI \"" + tracking_uri +
                                    "\" (--tracking-uri or MLFLOW_TRACKING_URI): use a tracking server "
                                    "(http://host:port) or a store URI (sqlite:///path.db, postgresql://...); "
                                    "for a file, use --store");
  }
  return tracking_uri;
}

namespace {

std::string server_token() {
  const char* token = std::getenv("WATTLAB_TOKEN");
  return token ? token : "";
}

}  // namespace

Result<RunDestination> open_run_destination(const GlobalOptions& global, const std::string& tracking_uri, bool quiet) {
  auto location = run_location(global, tracking_uri);
  if (!location.ok()) return location.status();
  RunDestination out;
  if (is_http_tracking_uri(*location)) {
    auto logger = RestRunLogger::connect(*location, server_token());
    if (!logger.ok()) return logger.status();
    WATTLAB_RETURN_IF_ERROR((*logger)->check_reachable());
    auto kind = (*logger)->server_kind();
    if (!kind.ok()) return kind.status();
    if (*kind == ServerKind::kMlflow && !quiet) {
      std::fprintf(stderr, "wattlab: note: %s\n", mlflow_native_note((*logger)->uri()).c_str());
    }
    out.description = out.server_uri = (*logger)->uri();
    out.server = &(*logger)->client();
    out.logger = std::move(*logger);
    return out;
  }
  auto store = Store::open(*location);
  if (!store.ok()) return store.status();
  out.logger = std::move(*store);
  out.description = *location;
  return out;
}

Result<std::unique_ptr<RunCatalog>> open_run_catalog(const GlobalOptions& global, const std::string& tracking_uri) {
  auto location = run_location(global, tracking_uri);
  if (!location.ok()) return location.status();
  if (is_http_tracking_uri(*location)) {
    auto catalog = RestRunCatalog::connect(*location, server_token());
    if (!catalog.ok()) return catalog.status();
    WATTLAB_RETURN_IF_ERROR((*catalog)->client().check_reachable());
    return std::unique_ptr<RunCatalog>(std::move(*catalog));
  }
  auto store = Store::open(*location);
  if (!store.ok()) return store.status();
  return store_run_catalog(std::move(*store), *location);
}

void add_tracking_uri_option(CLI::App* cmd, std::string* tracking_uri, bool reads) {
  cmd->add_option("--tracking-uri", *tracking_uri,
                  reads ? "Read runs from a tracking server (http://host:port: wattlab's or MLflow's; WATTLAB_TOKEN "
                          "is its token) or another store instead of --store"
                        : "Record the run on a tracking server (http://host:port: wattlab's or MLflow's; "
                          "WATTLAB_TOKEN is its token) or in another store instead of --store")
      ->envname("MLFLOW_TRACKING_URI");
}

}  // namespace wattlab::cli
