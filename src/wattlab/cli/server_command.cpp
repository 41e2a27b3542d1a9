// `wattlab server`: the MLflow-compatible tracking server over the store, and
// `wattlab ui`: the same server, announced by the address of its web UI.
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "wattlab/cli/commands.h"
#include "wattlab/core/env.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/server/rest_run_logger.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/server/ui_assets.h"
#include "wattlab/track/stale_runs.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct ServerCommandOptions {
  std::string host = "127.0.0.1";
  int port = 5000;
  std::string token;  // --token / WATTLAB_TOKEN
  int max_body_mib = 16;
  std::string artifacts_dir = "./wattlab-artifacts";
  int max_artifact_mb = 1024;
  std::string durability = "full";
  int threads = 16;
};

// `ui`: print the UI's address first (the command opens no browser itself).
int run_server(const GlobalOptions& global, const ServerCommandOptions& o, bool ui) {
  if (is_http_tracking_uri(global.store_path)) {
    return report_error("--store " + global.store_path + " is a tracking server: `wattlab server` serves a store of "
                        "its own (a SQLite file, sqlite:///path or postgresql://...); give one with --store");
  }
  auto durability = parse_durability(o.durability);
  if (!durability.ok()) return report_error(durability.status().message());
  auto store = Store::open(global.store_path, nullptr, {.durability = *durability});
  if (!store.ok()) return report_error(store.status().message());
  ServerOptions options;
  options.host = o.host;
  options.port = o.port;
  options.token = o.token;
  options.max_body_bytes = static_cast<size_t>(o.max_body_mib) * 1024 * 1024;
  options.artifacts_dir = o.artifacts_dir;
  options.max_artifact_bytes = static_cast<size_t>(o.max_artifact_mb) * 1024 * 1024;
  options.threads = o.threads;
  auto server = TrackingServer::bind(store->get(), options);
  if (!server.ok()) return report_error(server.status().message());

  install_stop_signal_handlers();
  std::atomic<bool> served{false};
  // stop() is a no-op until the listener runs, so keep asking until serve() returns. Every
  // half minute, runs whose trainer died without a word (no heartbeat) are ended KILLED.
  std::thread watcher([&] {
    int64_t last_sweep_ms = 0;
    while (!served.load()) {
      if (stop_requested()) (*server)->stop();
      const int64_t now_ms = Env::system().clock().wall_ms();
      if (now_ms - last_sweep_ms >= 30'000) {
        last_sweep_ms = now_ms;
        auto ended = end_stale_runs(**store, now_ms, kDefaultStaleAfterMs, std::nullopt);
        if (ended.ok()) {
          for (const RunInfo& run : *ended) {
            std::cout << "run " << run.run_id << " sent no heartbeat for over " << kDefaultStaleAfterMs / 1000
                      << " s: marked KILLED" << std::endl;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  if (ui) {
    const bool ipv6 = o.host.find(':') != std::string::npos;
    std::cout << "wattlab UI: http://" << (ipv6 ? "[" + o.host + "]" : o.host) << ":" << (*server)->port() << "/"
              << (ui_is_built() ? "" : " (built without npm: a page there says how to build the UI)")
              << (o.token.empty() ? "" : " (it asks for the token once)") << std::endl;
  }
  std::cout << "wattlab server listening on http://" << o.host << ":" << (*server)->port() << " (store "
            << global.store_path << ", artifacts " << o.artifacts_dir
            << (o.token.empty() ? "" : ", bearer token required")
            << "); MLflow clients: MLFLOW_TRACKING_URI=http://" << o.host << ":" << (*server)->port() << std::endl;
  Status status = (*server)->serve();
  served = true;
  watcher.join();
  if (!status.ok()) return report_error(status.message());
  std::cout << "wattlab server stopped; every acknowledged write is in " << global.store_path << std::endl;
  return 0;
}

// The options `server` and `ui` share.
void add_server_options(CLI::App* cmd, ServerCommandOptions* o) {
  cmd->add_option("--host", o->host, "Address to listen on; anything but loopback requires --token")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "TCP port (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--token", o->token,
                  "Bearer token every request must carry (at least 16 characters, e.g. `openssl rand -hex 24`)")
      ->envname("WATTLAB_TOKEN");
  cmd->add_option("--max-body-mib", o->max_body_mib, "Largest request body accepted, in MiB")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--artifacts", o->artifacts_dir,
                  "Folder where uploaded artifacts are kept (created if missing); runs' artifacts live in "
                  "<experiment_id>/<run_id>/artifacts/ below it")
      ->capture_default_str();
  cmd->add_option("--max-artifact-mb", o->max_artifact_mb, "Largest artifact upload accepted, in MiB")
      ->check(CLI::Range(1, 1024 * 1024))
      ->capture_default_str();
  cmd->add_option("--durability", o->durability,
                  "What an acknowledged write survives: full (a power loss: synced to disk before the answer, "
                  "concurrent writes sharing a sync) or process (a crash of the server only; faster)")
      ->check(CLI::IsMember({"full", "process"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads,
                  "Lanes serving connections, a thread each (connections are dealt to them in turn and wait for "
                  "data without a thread); a request waiting on the disk holds its lane (with --durability full, "
                  "concurrent writes share a sync: more lanes, bigger groups)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
}

}  // namespace

void add_server_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto o = std::make_shared<ServerCommandOptions>();
  auto* cmd = app.add_subcommand("server", "Serve the store over MLflow's tracking REST API, wattlab's own endpoints and the web UI");
  add_server_options(cmd, o.get());
  cmd->callback([&global, o, exit_code] { *exit_code = run_server(global, *o, /*ui=*/false); });
}

void add_ui_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto o = std::make_shared<ServerCommandOptions>();
  auto* cmd = app.add_subcommand("ui", "Serve the web UI (runs, power timelines, comparisons, studies) on the store and print its address");
  add_server_options(cmd, o.get());
  cmd->callback([&global, o, exit_code] { *exit_code = run_server(global, *o, /*ui=*/true); });
}

}  // namespace wattlab::cli
