// Tracking-server benchmark (issue 4's figures), all in one process on
// loopback with a SQLite store in a temporary file (WAL, synchronous=NORMAL):
//   1. runs/log-metric round trip on one keep-alive connection: p50/p90/p99
//   2. runs/log-batch ingest, 1000 metrics per request: points/s, and where
//      a request's time goes (JSON parse, MlflowApi::handle, HTTP)
//   3. store log_batch in process (no HTTP): points/s, and the same points
//      through the tracking client (log_metric calls, flushed): points/s
//   4. runs/search with a metric filter over --runs runs: median ms
//   5. wattlab/metrics/get-history-sampled (1000 points) of a metric of
//      --history-points points: median ms (and the ingest rate of that history)
// Usage: server_bench [--calls N] [--batches N] [--runs N] [--history-points N]
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = arg(argc, argv, "--calls", 5000);
  const int batches = arg(argc, argv, "--batches", 100);
  const int runs = arg(argc, argv, "--runs", 20000);
  const int history_points = arg(argc, argv, "--history-points", 1'000'000);
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("wattlab_server_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto store = wattlab::SqliteStore::open((dir / "bench.db").string());
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().to_string().c_str());
    return 1;
  }
  wattlab::ServerOptions options;
  options.port = 0;
  auto server = wattlab::TrackingServer::bind(store->get(), options);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().to_string().c_str());
    return 1;
  }
  (*server)->start_background();
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);

  auto created = client.Post("/api/2.0/mlflow/runs/create", "{}", "application/json");
  const std::string run_id = json::parse(created->body)["run"]["info"]["run_id"];

  // 1. log-metric round trips.
  std::vector<double> rtt_ms;
  rtt_ms.reserve(calls);
  for (int i = 0; i < calls; ++i) {
    const std::string body = json{{"run_id", run_id}, {"key", "loss"}, {"value", 1.0 / (i + 1)},
                                  {"timestamp", 1'700'000'000'000 + i}, {"step", i}}
                                 .dump();
    auto t0 = Clock::now();
    auto res = client.Post("/api/2.0/mlflow/runs/log-metric", body, "application/json");
    rtt_ms.push_back(ms_since(t0));
    if (!res || res->status != 200) {
      std::fprintf(stderr, "log-metric failed\n");
      return 1;
    }
  }
  std::printf("log-metric round trip (%d calls, keep-alive): p50 %.3f ms  p90 %.3f ms  p99 %.3f ms\n", calls,
              percentile(rtt_ms, 0.5), percentile(rtt_ms, 0.9), percentile(rtt_ms, 0.99));

  // 2. log-batch over HTTP, bodies prepared beforehand.
  std::vector<std::string> bodies;
  for (int b = 0; b < batches; ++b) {
    json metrics = json::array();
    for (int i = 0; i < 1000; ++i)
      metrics.push_back({{"key", "m" + std::to_string(i % 10)}, {"value", i * 0.5},
                         {"timestamp", 1'700'000'000'000 + i}, {"step", b * 1000 + i}});
    bodies.push_back(json{{"run_id", run_id}, {"metrics", metrics}}.dump());
  }
  auto t0 = Clock::now();
  for (const auto& body : bodies) {
    auto res = client.Post("/api/2.0/mlflow/runs/log-batch", body, "application/json");
    if (!res || res->status != 200) {
      std::fprintf(stderr, "log-batch failed: %s\n", res ? res->body.c_str() : "no response");
      return 1;
    }
  }
  double batch_ms = ms_since(t0);
  std::printf("log-batch over HTTP (%d x 1000 points): %.0f points/s (%.2f ms per request)\n", batches,
              batches * 1000.0 / (batch_ms / 1000.0), batch_ms / batches);

  // 2b. Where a log-batch request's time goes: the JSON parse alone, then
  // MlflowApi::handle on the parsed body (routing, conversion, the store's
  // log_batch) without HTTP; HTTP's share is what section 2 adds on top.
  {
    wattlab::MlflowApi api(store->get());
    std::vector<double> parse_ms, handle_ms;
    for (const auto& body : bodies) {
      auto p0 = Clock::now();
      json request = json::parse(body);
      parse_ms.push_back(ms_since(p0));
      auto h0 = Clock::now();
      auto response = api.handle("POST", "mlflow", "runs/log-batch", request);
      handle_ms.push_back(ms_since(h0));
      if (response.http_status != 200) return 1;
    }
    std::printf("log-batch request of 1000 points, median: JSON parse %.2f ms, MlflowApi::handle (routing + store) "
                "%.2f ms, over HTTP in all %.2f ms\n",
                percentile(parse_ms, 0.5), percentile(handle_ms, 0.5), batch_ms / batches);
  }

  // 3. The same through the store directly.
  std::vector<std::vector<wattlab::Metric>> direct_batches(batches);
  for (int b = 0; b < batches; ++b)
    for (int i = 0; i < 1000; ++i)
      direct_batches[b].push_back({"direct" + std::to_string(i % 10), i * 0.5, 1'700'000'000'000 + i, b * 1000 + i});
  t0 = Clock::now();
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

  // 4. runs/search with a metric filter.
  auto exp = (*store)->create_experiment("search-bench", "", {});
  for (int r = 0; r < runs; ++r) {
    auto run = (*store)->create_run(*exp, "r" + std::to_string(r), 1'700'000'000'000 + r);
    (void)(*store)->log_batch(run->run_id, {{"accuracy", (r % 1000) / 1000.0, 1'700'000'000'000, 0}}, {}, {});
  }
  const std::string search = json{{"experiment_ids", {*exp}}, {"filter", "metrics.accuracy > 0.998"}, {"max_results", 100}}.dump();
  std::vector<double> search_ms;
  size_t found = 0;
  for (int i = 0; i < 9; ++i) {
    t0 = Clock::now();
    auto res = client.Post("/api/2.0/mlflow/runs/search", search, "application/json");
    search_ms.push_back(ms_since(t0));
    if (!res || res->status != 200) return 1;
    found = json::parse(res->body).value("runs", json::array()).size();
  }
  std::printf("runs/search metrics.accuracy > 0.998 over %d runs (%zu matches, page of 100): median %.1f ms\n", runs,
              found, percentile(search_ms, 0.5));

  // 5. A chart of a very long metric history.
  auto long_run = (*store)->create_run("0", "long-history", 1'700'000'000'000);
  if (!long_run.ok()) return 1;
  t0 = Clock::now();
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
    auto res = client.Get(sampled_path.c_str());
    sampled_ms.push_back(ms_since(t0));
    if (!res || res->status != 200) return 1;
    sampled = json::parse(res->body)["metrics"].size();
  }
  std::printf("get-history-sampled of a %d-point metric (%zu points back): median %.1f ms "
              "(history ingested at %.0f points/s in batches of 10,000)\n",
              history_points, sampled, percentile(sampled_ms, 0.5), history_points / ingest_s);

  (*server)->stop();
  server->reset();
  store->reset();
  fs::remove_all(dir);
  return 0;
}
