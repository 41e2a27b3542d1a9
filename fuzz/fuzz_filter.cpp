// libFuzzer target: the search language (track/filter.h). The input's first
// line is a filter, the following lines order_by terms. Properties:
//   - parsing and compiling never crash (ASan/UBSan watch memory and UB);
//   - every refusal is InvalidArgument with a message;
//   - a search of a real (in-memory) SQLite store with whatever compiles
//     fails only with InvalidArgument: a filter the database cannot run is
//     the client's error, never the server's (issue 21's 1,000 ANDs).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "wattlab/track/filter.h"
#include "wattlab/track/sqlite_store.h"

namespace {

void require(bool condition, const char* what, const wattlab::Status& status) {
  if (condition) return;
  std::fprintf(stderr, "property violated: %s: %s\n", what, status.to_string().c_str());
  std::abort();
}

void require_refusal(const wattlab::Status& status, const char* what) {
  require(status.code() == wattlab::Status::Code::kInvalidArgument && !status.message().empty(), what, status);
}

wattlab::SqliteStore& store() {
  static std::unique_ptr<wattlab::SqliteStore> s = [] {
    auto opened = wattlab::SqliteStore::open(":memory:");
    if (!opened.ok()) std::abort();
    auto store = std::move(opened).value();
    // Two runs with a metric, a param and a tag, so that searches do work.
    for (const char* name : {"a", "b"}) {
      auto run = store->create_run("0", name, 1000);
      if (!run.ok() || !store->log_batch(run->run_id, {{"acc", 0.5, 1, 0}}, {{"model", name}}, {{"team", "x"}}).ok()) {
        std::abort();
      }
    }
    return store;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string filter_text;
  std::getline(in, filter_text);
  std::vector<std::string> order_by;
  for (std::string line; std::getline(in, line) && order_by.size() < 60;) order_by.push_back(line);

  auto filter = wattlab::parse_filter(filter_text);
  if (!filter.ok()) require_refusal(filter.status(), "parse_filter");
  auto terms = wattlab::parse_order_by_list(order_by);
  if (!terms.ok()) require_refusal(terms.status(), "parse_order_by_list");
  for (auto dialect : {wattlab::SqlDialect::kSqlite, wattlab::SqlDialect::kPostgres}) {
    if (filter.ok()) {
      auto runs = wattlab::compile_run_filter(*filter, dialect);
      if (!runs.ok()) require_refusal(runs.status(), "compile_run_filter");
      auto experiments = wattlab::compile_experiment_filter(*filter, dialect);
      if (!experiments.ok()) require_refusal(experiments.status(), "compile_experiment_filter");
    }
    if (terms.ok()) {
      auto runs = wattlab::compile_run_order_by(*terms, dialect);
      if (!runs.ok()) require_refusal(runs.status(), "compile_run_order_by");
      auto experiments = wattlab::compile_experiment_order_by(*terms, dialect);
      if (!experiments.ok()) require_refusal(experiments.status(), "compile_experiment_order_by");
    }
  }
  wattlab::SearchRunsOptions runs;
  runs.filter = filter_text;
  runs.order_by = order_by;
  auto found = store().search_runs(runs);
  if (!found.ok()) require_refusal(found.status(), "search_runs");
  wattlab::SearchExperimentsOptions experiments;
  experiments.filter = filter_text;
  experiments.order_by = order_by;
  auto listed = store().search_experiments(experiments);
  if (!listed.ok()) require_refusal(listed.status(), "search_experiments");
  return 0;
}
