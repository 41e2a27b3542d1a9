// libFuzzer target: MlflowApi's request readers (server/mlflow_api.h) on a
// real in-memory store. The input's first byte picks an endpoint, the rest is
// a POST body, or a query string for GET endpoints; "$RUN" in it becomes the
// id of an existing run, so that requests get past the run lookup. Properties:
//   - nothing crashes or recurses without bound, whatever the body;
//   - no answer is a 5xx: a request the store cannot take is the client's
//     error (4xx), never the server's;
//   - every error answer is MLflow's {"error_code", "message"}.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "wattlab/server/http_message.h"
#include "wattlab/server/mlflow_api.h"
#include "wattlab/track/sqlite_store.h"

namespace {

struct Endpoint {
  const char* method;
  const char* api;
  const char* name;
};

constexpr Endpoint kEndpoints[] = {
    {"POST", "mlflow", "runs/log-batch"},        {"POST", "mlflow", "runs/log-metric"},
    {"POST", "mlflow", "runs/log-parameter"},    {"POST", "mlflow", "runs/set-tag"},
    {"POST", "mlflow", "runs/delete-tag"},       {"POST", "mlflow", "runs/create"},
    {"POST", "mlflow", "runs/update"},           {"POST", "mlflow", "runs/search"},
    {"POST", "mlflow", "experiments/create"},    {"POST", "mlflow", "experiments/search"},
    {"POST", "mlflow", "experiments/update"},    {"POST", "mlflow", "experiments/set-experiment-tag"},
    {"POST", "wattlab", "runs/log-energy-windows"}, {"POST", "wattlab", "runs/log-power-samples"},
    {"POST", "wattlab", "runs/set-environment"}, {"GET", "mlflow", "runs/get"},
    {"GET", "mlflow", "metrics/get-history"},    {"GET", "mlflow", "experiments/get-by-name"},
    {"GET", "wattlab", "metrics/get-history-sampled"}, {"GET", "wattlab", "runs/power"},
};

struct Fixture {
  std::unique_ptr<wattlab::SqliteStore> store;
  std::unique_ptr<wattlab::MlflowApi> api;
  std::string run_id;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture out;
    auto store = wattlab::SqliteStore::open(":memory:");
    if (!store.ok()) std::abort();
    out.store = std::move(store).value();
    auto run = out.store->create_run("0", "fuzzed", 1000);
    if (!run.ok()) std::abort();
    out.run_id = run->run_id;
    out.api = std::make_unique<wattlab::MlflowApi>(out.store.get());
    return out;
  }();
  return f;
}

std::string with_run_id(std::string text, const std::string& run_id) {
  for (size_t at = text.find("$RUN"); at != std::string::npos; at = text.find("$RUN", at + run_id.size())) {
    text.replace(at, 4, run_id);
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Fixture& f = fixture();
  const Endpoint& e = kEndpoints[data[0] % (sizeof(kEndpoints) / sizeof(kEndpoints[0]))];
  const std::string input = with_run_id(std::string(reinterpret_cast<const char*>(data) + 1, size - 1), f.run_id);
  wattlab::ApiResponse r;
  if (std::string(e.method) == "GET") {
    nlohmann::json query = nlohmann::json::object();
    for (const auto& [key, value] : wattlab::parse_query(input)) query[key] = value;
    r = f.api->handle("GET", e.api, e.name, query);
  } else {
    r = f.api->handle_body("POST", e.api, e.name, input);
  }
  if (r.http_status >= 500) {
    std::fprintf(stderr, "property violated: %s %s/%s answered %d: %s\n", e.method, e.api, e.name, r.http_status,
                 r.body.dump().c_str());
    std::abort();
  }
  if (r.http_status != 200 && !(r.body.contains("error_code") && r.body.contains("message"))) {
    std::fprintf(stderr, "property violated: an error without error_code and message\n");
    std::abort();
  }
  return 0;
}
