// Tracking-server benchmark (issues 4 and 21), all in one process on
// loopback with a SQLite store in a temporary file, once per durability
// (store.h): "process" (WAL, synchronous=NORMAL: the figures before issue 21)
// and "full" (every acknowledged write synced, group commit: the default):
//   1. runs/log-metric round trip on one keep-alive connection: p50/p90/p99,
//      and from 16 connections at once: requests/s, p50/p99
//   2. runs/log-batch ingest, 1000 metrics per request, bodies serialised
//      beforehand: points/s on one keep-alive connection and on two at once,
//      the round trip against the server's own time per request, and where
//      a request's time goes without HTTP (parse, MlflowApi::handle_body)
//   3. store log_batch in process (no HTTP): points/s, and the same points
//      through the tracking client (log_metric calls, flushed): points/s
//   4. runs/search with a metric filter over --runs runs: median ms
//   5. wattlab/metrics/get-history-sampled (1000 points) of a metric of
//      --history-points points: median ms (and the ingest rate of that history)
// Usage: server_bench [--calls N] [--batches N] [--runs N] [--history-points N]
//                     [--only log-metric|log-batch|store|search|history]
//                     [--durability process,full (default both) | process | full] [--threads N]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/server/http_client.h"
#include "wattlab/server/log_batch_reader.h"
#include "wattlab/server/mlflow_api.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/track/client.h"
#include "wattlab/track/sqlite_store.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

const char* arg(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return nullptr;
}

int arg(int argc, char** argv, const char* name, int fallback) {
  const char* value = arg(argc, argv, name);
  return value ? std::atoi(value) : fallback;
}

// One pass of every requested section, over a fresh store of `durability`.
int run_bench(int argc, char** argv, wattlab::Durability durability) {
  const int calls = arg(argc, argv, "--calls", 5000);
  const int batches = arg(argc, argv, "--batches", 100);
  const int runs = arg(argc, argv, "--runs", 20000);
  const int history_points = arg(argc, argv, "--history-points", 1'000'000);
  const char* only = arg(argc, argv, "--only");
  auto section = [only](const char* name) { return !only || std::strcmp(only, name) == 0; };
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("wattlab_server_bench_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  wattlab::SqliteStoreOptions store_options;
  store_options.durability = durability;
  auto store = wattlab::SqliteStore::open((dir / "bench.db").string(), nullptr, store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().to_string().c_str());
    return 1;
  }
  wattlab::ServerOptions options;
  options.port = 0;
  options.threads = arg(argc, argv, "--threads", options.threads);
  auto server = wattlab::TrackingServer::bind(store->get(), options);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().to_string().c_str());
    return 1;
  }
  (*server)->start_background();
  wattlab::HttpClient client("127.0.0.1", (*server)->port());

  auto created = client.post("/api/2.0/mlflow/runs/create", "{}");
  const std::string run_id = json::parse(created->body)["run"]["info"]["run_id"];

  // 1. log-metric round trips.
  std::vector<double> rtt_ms;
  rtt_ms.reserve(calls);
  for (int i = 0; i < (section("log-metric") ? calls : 0); ++i) {
    const std::string body = json{{"run_id", run_id}, {"key", "loss"}, {"value", 1.0 / (i + 1)},
                                  {"timestamp", 1'700'000'000'000 + i}, {"step", i}}
                                 .dump();
    auto t0 = Clock::now();
    auto res = client.post("/api/2.0/mlflow/runs/log-metric", body);
    rtt_ms.push_back(ms_since(t0));
    if (!res.ok() || res->status != 200) {
      std::fprintf(stderr, "log-metric failed\n");
      return 1;
    }
  }
  if (section("log-metric")) {
    std::printf("log-metric round trip (%d calls, keep-alive): p50 %.3f ms  p90 %.3f ms  p99 %.3f ms\n", calls,
                percentile(rtt_ms, 0.5), percentile(rtt_ms, 0.9), percentile(rtt_ms, 0.99));
    // The same from 16 connections at once (each its own run): what a group
    // commit shares.
    constexpr int kConnections = 16;
    const int per_connection = std::max(1, calls / kConnections);
    std::vector<std::vector<double>> ms(kConnections);
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int c = 0; c < kConnections; ++c) {
      threads.emplace_back([&, c] {
        wattlab::HttpClient connection("127.0.0.1", (*server)->port());
        auto made = connection.post("/api/2.0/mlflow/runs/create", "{}");
        if (!made.ok()) return;
        const std::string id = json::parse(made->body)["run"]["info"]["run_id"];
        for (int i = 0; i < per_connection; ++i) {
          const std::string body = json{{"run_id", id}, {"key", "loss"}, {"value", 0.5}, {"timestamp", i}, {"step", i}}.dump();
          const auto r0 = Clock::now();
          auto res = connection.post("/api/2.0/mlflow/runs/log-metric", body);
          if (res.ok() && res->status == 200) ms[c].push_back(ms_since(r0));
        }
      });
    }
    for (auto& t : threads) t.join();
    const double wall_ms = ms_since(t0);
    std::vector<double> all;
    for (const auto& v : ms) all.insert(all.end(), v.begin(), v.end());
    std::printf("log-metric from %d connections at once (%d calls each): %.0f requests/s; round trip p50 %.3f ms  "
                "p99 %.3f ms\n",
                kConnections, per_connection, static_cast<double>(all.size()) / (wall_ms / 1000.0),
                percentile(all, 0.5), percentile(all, 0.99));
  }

  // 2. log-batch over HTTP. The bodies are serialised before any timing (a
  // real client serialises in its own process); each connection logs to a run
  // of its own.
  auto log_batch_bodies = [&](const std::string& to_run) {
    std::vector<std::string> out;
    for (int b = 0; b < batches; ++b) {
      json metrics = json::array();
      for (int i = 0; i < 1000; ++i)
        metrics.push_back({{"key", std::string("m").append(std::to_string(i % 10))}, {"value", i * 0.5},
                           {"timestamp", 1'700'000'000'000 + i}, {"step", b * 1000 + i}});
      out.push_back(json{{"run_id", to_run}, {"metrics", metrics}}.dump());
    }
    return out;
  };
  auto new_run = [&](const std::string& name) -> std::string {
    auto run = (*store)->create_run("0", name, 1'700'000'000'000);
    return run.ok() ? run->run_id : "";
  };
  // Posts `bodies` in order on one new keep-alive connection; each request's
  // round trip (ms) into *request_ms. False unless every answer has `status`.
  auto post_all = [port = (*server)->port()](const std::vector<std::string>& bodies, int status,
                                             std::vector<double>* request_ms) {
    wattlab::HttpClient connection("127.0.0.1", port);
    for (const auto& body : bodies) {
      auto r0 = Clock::now();
      auto res = connection.post("/api/2.0/mlflow/runs/log-batch", body);
      request_ms->push_back(ms_since(r0));
      if (!res.ok() || res->status != status) {
        std::fprintf(stderr, "log-batch failed: %s\n", res.ok() ? res->body.c_str() : res.status().to_string().c_str());
        return false;
      }
    }
    return true;
  };
  // The server's own time for log-batch requests so far (headers read to
  // response ready, summed, in ms), from its /metrics histogram.
  auto server_log_batch_ms = [&] {
    const std::string text = (*server)->metrics().exposition();
    const std::string name = "wattlab_http_request_duration_seconds_sum{endpoint=\"mlflow/runs/log-batch\"} ";
    const size_t at = text.find(name);
    return at == std::string::npos ? 0.0 : std::strtod(text.c_str() + at + name.size(), nullptr) * 1000.0;
  };
  if (section("log-batch")) {
    const std::vector<std::string> bodies = log_batch_bodies(new_run("batch-1"));
    std::vector<double> request_ms;
    const double server_ms_before = server_log_batch_ms();
    auto t0 = Clock::now();
    if (!post_all(bodies, 200, &request_ms)) return 1;
    const double batch_ms = ms_since(t0);
    const double server_ms = (server_log_batch_ms() - server_ms_before) / batches;
    std::printf("log-batch over HTTP, 1 connection (%d x 1000 points, %zu-byte bodies): %.0f points/s; per request: "
                "round trip median %.2f ms, mean %.2f ms; in the server (headers read to response ready) mean %.2f ms\n",
                batches, bodies.front().size(), batches * 1000.0 / (batch_ms / 1000.0), percentile(request_ms, 0.5),
                batch_ms / batches, server_ms);

    // The same bodies for a run that does not exist: all but the store's write
    // (HTTP, reading the body, looking the run up, the 404).
    std::vector<double> no_store_ms;
    if (!post_all(log_batch_bodies("0123456789abcdef0123456789abcdef"), 404, &no_store_ms)) return 1;
    std::printf("  the same bodies for an unknown run (all but the store's write): median %.2f ms round trip\n",
                percentile(no_store_ms, 0.5));

    // Two connections at once (the server serves each on a thread of its own).
    std::vector<std::vector<std::string>> per_connection = {log_batch_bodies(new_run("batch-2a")),
                                                            log_batch_bodies(new_run("batch-2b"))};
    std::vector<double> ms_a, ms_b;
    bool ok_a = false, ok_b = false;
    t0 = Clock::now();
    std::thread second([&] { ok_b = post_all(per_connection[1], 200, &ms_b); });
    ok_a = post_all(per_connection[0], 200, &ms_a);
    second.join();
    const double parallel_ms = ms_since(t0);
    if (!ok_a || !ok_b) return 1;
    ms_a.insert(ms_a.end(), ms_b.begin(), ms_b.end());
    std::printf("log-batch over HTTP, 2 connections at once (%d x 1000 points each): %.0f points/s; per request: "
                "median %.2f ms round trip\n",
                batches, 2 * batches * 1000.0 / (parallel_ms / 1000.0), percentile(ms_a, 0.5));

    // 2b. Where a log-batch request's time goes without HTTP: nlohmann's
    // parse of the body alone, and MlflowApi::handle_body (parse, routing,
    // conversion, the store's log_batch) on a fresh run.
    std::vector<std::string> in_process = log_batch_bodies(new_run("batch-in-process"));
    wattlab::MlflowApi api(store->get());
    std::vector<double> parse_ms, read_ms, handle_ms;
    for (const auto& body : in_process) {
      auto p0 = Clock::now();
      json request = json::parse(body);
      parse_ms.push_back(ms_since(p0));
      auto r0 = Clock::now();
      auto batch = wattlab::read_log_batch(body);
      read_ms.push_back(ms_since(r0));
      if (!batch || batch->metrics.size() != 1000) return 1;
    }
    for (const auto& body : in_process) {
      auto h0 = Clock::now();
      auto response = api.handle_body("POST", "mlflow", "runs/log-batch", body);
      handle_ms.push_back(ms_since(h0));
      if (response.http_status != 200) return 1;
    }
    std::printf("log-batch request of 1000 points, median: nlohmann::json::parse %.2f ms, read_log_batch %.2f ms "
                "(what the server uses for this shape), MlflowApi::handle_body (read, routing, store) %.2f ms\n",
                percentile(parse_ms, 0.5), percentile(read_ms, 0.5), percentile(handle_ms, 0.5));
  }

  if (section("store")) {
    // 3. The same through the store directly.
    std::vector<std::vector<wattlab::Metric>> direct_batches(batches);
    for (int b = 0; b < batches; ++b)
      for (int i = 0; i < 1000; ++i)
        direct_batches[b].push_back({"direct" + std::to_string(i % 10), i * 0.5, 1'700'000'000'000 + i, b * 1000 + i});
    auto t0 = Clock::now();
    for (const auto& batch : direct_batches) {
      if (!(*store)->log_batch(run_id, batch, {}, {}).ok()) return 1;
    }
    double direct_ms = ms_since(t0);
    std::printf("store log_batch in process (%d x 1000 points): %.0f points/s\n", batches,
                batches * 1000.0 / (direct_ms / 1000.0));

    // 3b. The same points through the tracking client: log_metric queues, its
    // writer thread batches into the store; timed until flush() returns.
    {
      auto client_run = (*store)->create_run("0", "client", 1'700'000'000'000);
      if (!client_run.ok()) return 1;
      wattlab::TrackingClient tracking(store->get(), client_run->run_id);
      std::vector<std::string> keys;
      for (int k = 0; k < 10; ++k) keys.push_back("client" + std::to_string(k));
      t0 = Clock::now();
      for (int b = 0; b < batches; ++b)
        for (int i = 0; i < 1000; ++i)
          if (!tracking.log_metric({keys[i % 10], i * 0.5, 1'700'000'000'000 + i, b * 1000 + i}).ok()) return 1;
      if (!tracking.flush().ok()) return 1;
      const double client_ms = ms_since(t0);
      std::printf("tracking client log_metric in process (%d points, flushed): %.0f points/s\n", batches * 1000,
                  batches * 1000.0 / (client_ms / 1000.0));
    }
  }

  if (section("search")) {
    // 4. runs/search with a metric filter.
    auto exp = (*store)->create_experiment("search-bench", "", {});
    for (int r = 0; r < runs; ++r) {
      auto run = (*store)->create_run(*exp, std::string("r").append(std::to_string(r)), 1'700'000'000'000 + r);
      (void)(*store)->log_batch(run->run_id, {{"accuracy", (r % 1000) / 1000.0, 1'700'000'000'000, 0}}, {}, {});
    }
    const std::string search = json{{"experiment_ids", {*exp}}, {"filter", "metrics.accuracy > 0.998"}, {"max_results", 100}}.dump();
    std::vector<double> search_ms;
    size_t found = 0;
    for (int i = 0; i < 9; ++i) {
      auto t0 = Clock::now();
      auto res = client.post("/api/2.0/mlflow/runs/search", search);
      search_ms.push_back(ms_since(t0));
      if (!res.ok() || res->status != 200) return 1;
      found = json::parse(res->body).value("runs", json::array()).size();
    }
    std::printf("runs/search metrics.accuracy > 0.998 over %d runs (%zu matches, page of 100): median %.1f ms\n", runs,
                found, percentile(search_ms, 0.5));
  }

  if (section("history")) {
    // 5. A chart of a very long metric history.
    auto long_run = (*store)->create_run("0", "long-history", 1'700'000'000'000);
    if (!long_run.ok()) return 1;
    auto t0 = Clock::now();
    for (int start = 0; start < history_points; start += 10'000) {
      std::vector<wattlab::Metric> chunk;
      for (int step = start; step < std::min(history_points, start + 10'000); ++step)
        chunk.push_back({"loss", 1.0 / (step + 1), 1'700'000'000'000 + step, step});
      if (!(*store)->log_batch(long_run->run_id, chunk, {}, {}).ok()) return 1;
    }
    const double ingest_s = ms_since(t0) / 1000.0;
    const std::string sampled_path = "/api/2.0/wattlab/metrics/get-history-sampled?run_id=" + long_run->run_id +
                                     "&metric_key=loss&max_points=1000";
    std::vector<double> sampled_ms;
    size_t sampled = 0;
    for (int i = 0; i < 9; ++i) {
      t0 = Clock::now();
      auto res = client.get(sampled_path);
      sampled_ms.push_back(ms_since(t0));
      if (!res.ok() || res->status != 200) return 1;
      sampled = json::parse(res->body)["metrics"].size();
    }
    std::printf("get-history-sampled of a %d-point metric (%zu points back): median %.1f ms "
                "(history ingested at %.0f points/s in batches of 10,000)\n",
                history_points, sampled, percentile(sampled_ms, 0.5), history_points / ingest_s);
  }

  (*server)->stop();
  server->reset();
  store->reset();
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Both durabilities by default, in the same run: what the sync costs.
  const char* chosen = arg(argc, argv, "--durability");
  const std::string modes = chosen ? chosen : "process,full";
  for (const char* mode : {"process", "full"}) {
    if (modes.find(mode) == std::string::npos) continue;
    auto durability = wattlab::parse_durability(mode);
    std::printf("== durability %s (%s)\n", mode,
                *durability == wattlab::Durability::kPowerLoss
                    ? "each acknowledged write synced to disk, group commit"
                    : "SQLite WAL with synchronous=NORMAL, no sync per write");
    std::fflush(stdout);
    if (run_bench(argc, argv, *durability) != 0) return 1;
  }
  return 0;
}
