// /metrics: every line of the exposition parses as Prometheus text format
// 0.0.4, and the counters move by what the requests did.
#include "wattlab/server/server_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "wattlab/server/http_client.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// One parsed exposition: samples by their full series name
// ("name{label=\"v\",...}" exactly as written) and families' types.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter / gauge / histogram ...
  std::vector<std::string> errors;           // lines that do not parse, and why

  double value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? 0.0 : it->second;
  }
};

// The family a sample belongs to: histogram series drop _bucket/_sum/_count.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

Exposition parse_exposition(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*\})? ([-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf|NaN))( -?[0-9]+)?)");
  Exposition out;
  if (text.empty() || text.back() != '\n') out.errors.push_back("the text does not end with a newline");
  std::stringstream in(text);
  std::string line;
  std::set<std::string> seen_families;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.empty()) continue;
    if (std::regex_match(line, m, kHelp)) continue;
    if (std::regex_match(line, m, kType)) {
      if (out.types.count(m[1]) != 0) out.errors.push_back("TYPE given twice: " + line);
      if (seen_families.count(m[1]) != 0) out.errors.push_back("TYPE after its samples: " + line);
      out.types[m[1]] = m[2];
      continue;
    }
    if (line[0] == '#') {
      out.errors.push_back("unknown comment: " + line);
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      out.errors.push_back("not a sample: " + line);
      continue;
    }
    const std::string name = m[1];
    const std::string family = family_of(name, out.types);
    if (out.types.count(family) == 0) out.errors.push_back("sample without a TYPE: " + line);
    seen_families.insert(family);
    const std::string series = line.substr(0, line.rfind(' '));
    if (out.samples.count(series) != 0) out.errors.push_back("series given twice: " + line);
    const std::string v = m[5];
    out.samples[series] = v == "+Inf" || v == "Inf" ? INFINITY : v == "-Inf" ? -INFINITY : std::strtod(v.c_str(), nullptr);
  }
  return out;
}

TEST(ExpositionParser, RejectsWhatPrometheusWould) {
  // The parser is the test's instrument: check that it can fail.
  EXPECT_TRUE(parse_exposition("# TYPE a counter\na 1\n").errors.empty());
  EXPECT_TRUE(parse_exposition("# TYPE a counter\na{x=\"q\\\"uote\"} 1\n").errors.empty());
  EXPECT_FALSE(parse_exposition("a 1\n").errors.empty());                          // no TYPE
  EXPECT_FALSE(parse_exposition("# TYPE a counter\na one\n").errors.empty());      // not a number
  EXPECT_FALSE(parse_exposition("# TYPE a counter\na{x=y} 1\n").errors.empty());   // unquoted label
  EXPECT_FALSE(parse_exposition("# TYPE a counter\na 1").errors.empty());          // no final newline
  EXPECT_FALSE(parse_exposition("# TYPE a counter\na 1\na 2\n").errors.empty());   // duplicate series
  EXPECT_FALSE(parse_exposition("# TYPE 1a counter\n").errors.empty());            // bad name
}

// Checks every histogram: buckets cumulative, +Inf equal to _count.
std::vector<std::string> histogram_errors(const Exposition& e) {
  std::vector<std::string> errors;
  static const std::regex kBucket(R"re((.*)_bucket\{(.*),?le="([^"]+)"\})re");
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // series less le -> (le, count)
  for (const auto& [series, value] : e.samples) {
    std::smatch m;
    if (!std::regex_match(series, m, kBucket)) continue;
    std::string le = m[3];
    buckets[std::string(m[1]) + "{" + std::string(m[2]) + "}"].push_back(
        {le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), value});
  }
  for (auto& [key, list] : buckets) {
    std::sort(list.begin(), list.end());
    for (size_t i = 1; i < list.size(); ++i)
      if (list[i].second < list[i - 1].second) errors.push_back(key + ": buckets not cumulative");
    if (list.empty() || !std::isinf(list.back().first)) errors.push_back(key + ": no +Inf bucket");
    std::string labels = key.substr(key.find('{'));
    if (!labels.empty() && labels[labels.size() - 2] == ',') labels.erase(labels.size() - 2, 1);
    const std::string count = key.substr(0, key.find('{')) + "_count" + labels;
    if (e.samples.count(count) == 0) errors.push_back(key + ": no " + count);
    else if (e.samples.at(count) != list.back().second) errors.push_back(key + ": +Inf bucket != count");
  }
  return errors;
}

class ServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open(":memory:", &clock_);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    artifacts_ = fs::temp_directory_path() / ("wattlab-metrics-test-" + std::to_string(getpid()));
    fs::remove_all(artifacts_);
    ServerOptions options;
    options.port = 0;
    options.artifacts_dir = artifacts_.string();
    auto server = TrackingServer::bind(store_.get(), options, &clock_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
    server_->start_background();
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(artifacts_);
  }

  // Scrapes /metrics, checking the format on the way.
  Exposition scrape() {
    auto res = client_->get("/metrics");
    EXPECT_TRUE(res.ok()) << res.status().to_string();
    if (!res.ok()) return {};
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    last_text_ = res->body;
    Exposition e = parse_exposition(res->body);
    for (const auto& error : e.errors) ADD_FAILURE() << error;
    for (const auto& error : histogram_errors(e)) ADD_FAILURE() << error;
    return e;
  }

  FakeClock clock_{0, 1'700'000'000'000};
  std::unique_ptr<SqliteStore> store_;
  fs::path artifacts_;
  std::unique_ptr<TrackingServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string last_text_;
};

TEST_F(ServerMetricsTest, EveryLineParsesAndEveryFamilyIsTyped) {
  Exposition e = scrape();
  EXPECT_EQ(e.types["wattlab_http_requests_total"], "counter");
  EXPECT_EQ(e.types["wattlab_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(e.types["wattlab_http_request_body_bytes_total"], "counter");
  EXPECT_EQ(e.types["wattlab_ingested_metric_points_total"], "counter");
  EXPECT_EQ(e.types["wattlab_ingested_params_total"], "counter");
  EXPECT_EQ(e.types["wattlab_ingested_tags_total"], "counter");
  EXPECT_EQ(e.types["wattlab_artifact_bytes_written_total"], "counter");
  EXPECT_EQ(e.types["process_start_time_seconds"], "gauge");
  const double now_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start_s = e.value("process_start_time_seconds");
  EXPECT_LE(start_s, now_s + 1);
  EXPECT_GT(start_s, now_s - 7 * 24 * 3600) << "a test process started more than a week ago?";
}

TEST_F(ServerMetricsTest, CountersMoveByWhatTheRequestsDid) {
  Exposition before = scrape();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_->get("/health").ok());
  auto run = client_->post("/api/2.0/mlflow/runs/create", "{}");
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  ASSERT_EQ(run->status, 200);
  const std::string run_id = json::parse(run->body)["run"]["info"]["run_id"];
  const std::string batch = json{{"run_id", run_id},
                                 {"metrics", {{{"key", "loss"}, {"value", 1.0}, {"timestamp", 1}},
                                              {{"key", "loss"}, {"value", 0.5}, {"timestamp", 2}, {"step", 1}},
                                              {{"key", "acc"}, {"value", 0.9}, {"timestamp", 2}}}},
                                 {"params", {{{"key", "lr"}, {"value", "0.1"}}, {{"key", "bs"}, {"value", "32"}}}},
                                 {"tags", {{{"key", "phase"}, {"value", "train"}}}}}
                              .dump();
  auto logged = client_->post("/api/2.0/mlflow/runs/log-batch", batch);
  ASSERT_TRUE(logged.ok()) << logged.status().to_string();
  ASSERT_EQ(logged->status, 200) << logged->body;
  // A failed write ingests nothing.
  auto refused = client_->post("/api/2.0/mlflow/runs/log-metric",
                               json{{"run_id", "0123456789abcdef0123456789abcdef"}, {"key", "x"}, {"value", 1}, {"timestamp", 1}}.dump());
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  ASSERT_EQ(refused->status, 404);
  const std::string artifact(5000, 'a');
  auto put = client_->put("/api/2.0/mlflow-artifacts/artifacts/0/" + run_id + "/artifacts/a.bin", artifact,
                          "application/octet-stream");
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_TRUE(client_->get("/api/2.0/mlflow/no-such-endpoint").ok());
  ASSERT_TRUE(client_->get("/nowhere/at/all").ok());
  // A body that is not JSON counts under its endpoint when that exists, and
  // under "other" when it does not.
  auto not_json = client_->post("/api/2.0/mlflow/runs/log-batch", "{");
  ASSERT_TRUE(not_json.ok()) << not_json.status().to_string();
  ASSERT_EQ(not_json->status, 400);
  auto not_json_anywhere = client_->post("/api/2.0/mlflow/no-such-endpoint", "{");
  ASSERT_TRUE(not_json_anywhere.ok()) << not_json_anywhere.status().to_string();
  ASSERT_EQ(not_json_anywhere->status, 400);

  // Each request was counted before its response went out, so one scrape
  // sees them all, also those whose connection the server closed (the 404
  // for an unknown path, the upload).
  Exposition after = scrape();
  const int earlier_scrapes = 1;  // `before`'s
  auto delta = [&](const std::string& series) { return after.value(series) - before.value(series); };
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="health",status="200"})"), 3);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="mlflow/runs/create",status="200"})"), 1);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="mlflow/runs/log-batch",status="200"})"), 1);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="mlflow/runs/log-batch",status="400"})"), 1);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="other",status="400"})"), 1);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="mlflow/runs/log-metric",status="404"})"), 1);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="mlflow-artifacts/upload",status="200"})"), 1);
  // Unknown paths share one label, so clients cannot make series without bound.
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="other",status="404"})"), 2);
  EXPECT_EQ(last_text_.find("no-such-endpoint"), std::string::npos);
  EXPECT_EQ(delta(R"(wattlab_http_requests_total{endpoint="metrics",status="200"})"), earlier_scrapes);
  EXPECT_EQ(delta(R"(wattlab_http_request_duration_seconds_count{endpoint="health"})"), 3);
  EXPECT_GT(delta(R"(wattlab_http_request_duration_seconds_sum{endpoint="mlflow/runs/log-batch"})"), 0);
  EXPECT_EQ(delta("wattlab_ingested_metric_points_total"), 3);
  EXPECT_EQ(delta("wattlab_ingested_params_total"), 2);
  // The batch's tag, and runs/create's mlflow.runName.
  EXPECT_EQ(delta("wattlab_ingested_tags_total"), 2);
  EXPECT_EQ(delta("wattlab_artifact_bytes_written_total"), 5000);
  EXPECT_GE(delta("wattlab_http_request_body_bytes_total"), 5000 + static_cast<double>(batch.size()) + 2);
}

TEST_F(ServerMetricsTest, PromtoolAcceptsTheOutputWhenInstalled) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool is not installed";
  ASSERT_TRUE(client_->get("/health").ok());
  scrape();
  const fs::path file = artifacts_.string() + ".prom";
  std::ofstream(file) << last_text_;
  const std::string command = "promtool check metrics < " + file.string() + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << last_text_;
  fs::remove(file);
}

TEST(ServerMetrics, ConcurrentRecordingLosesNothing) {
  ServerMetrics metrics(1.7e9);
  constexpr int kThreads = 8, kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.record_request(t % 2 ? "a" : "b", 200, 0.003);
        metrics.add_ingested(1, 0, 2);
      }
    });
  }
  for (auto& t : threads) t.join();
  Exposition e = parse_exposition(metrics.exposition());
  EXPECT_TRUE(e.errors.empty());
  EXPECT_EQ(e.value(R"(wattlab_http_requests_total{endpoint="a",status="200"})"), kThreads / 2 * kPerThread);
  EXPECT_EQ(e.value(R"(wattlab_http_request_duration_seconds_bucket{endpoint="a",le="0.0025"})"), 0);
  EXPECT_EQ(e.value(R"(wattlab_http_request_duration_seconds_bucket{endpoint="a",le="0.005"})"), kThreads / 2 * kPerThread);
  // Bounds print as written in kLatencyBucketsS ("10", not "1e+01").
  EXPECT_EQ(e.value(R"(wattlab_http_request_duration_seconds_bucket{endpoint="a",le="10"})"), kThreads / 2 * kPerThread);
  EXPECT_EQ(e.value("wattlab_ingested_tags_total"), 2.0 * kThreads * kPerThread);
  EXPECT_EQ(e.value("process_start_time_seconds"), 1.7e9);
}

}  // namespace
}  // namespace wattlab
