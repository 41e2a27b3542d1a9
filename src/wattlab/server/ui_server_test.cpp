// What the web UI needs from the server: its embedded files, served with the
// right types and caching and without the token, next to an API that keeps
// its own rules; and the power-sampled endpoint its power chart reads.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "wattlab/server/http_client.h"
#include "wattlab/server/mlflow_api.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/server/ui_assets.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;

class UiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open(":memory:", &clock_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  std::unique_ptr<TrackingServer> start(const std::string& token = "") {
    ServerOptions options;
    options.port = 0;
    options.token = token;
    auto server = TrackingServer::bind(store_.get(), options, &clock_);
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    if (!server.ok()) return nullptr;
    (*server)->start_background();
    return std::move(server).value();
  }

  FakeClock clock_{0, kT0};
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(UiServerTest, ThePageAndEveryFileItNamesAreServedWithTypeAndCaching) {
  auto server = start();
  ASSERT_TRUE(server);
  HttpClient client("127.0.0.1", server->port());
  auto page = client.get("/");
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->header("Cache-Control"), "no-cache");
  EXPECT_EQ(page->header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(page->header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(client.get("/index.html")->body, page->body);
  if (!ui_is_built()) {
    EXPECT_NE(page->body.find("was not built"), std::string::npos) << page->body;
    return;
  }
  EXPECT_NE(page->body.find("<div id=\"app\">"), std::string::npos) << page->body;

  // Every script, style sheet and icon the page names, with its type; the
  // hashed assets are cached for good.
  std::set<std::string> seen_types;
  const std::regex reference(R"re((?:src|href)="(/[^"]+)")re");
  int files = 0;
  for (std::sregex_iterator it(page->body.begin(), page->body.end(), reference), end; it != end; ++it, ++files) {
    const std::string path = (*it)[1];
    auto file = client.get(path);
    ASSERT_TRUE(file.ok()) << path << ": " << file.status().to_string();
    ASSERT_EQ(file->status, 200) << path;
    EXPECT_FALSE(file->body.empty()) << path;
    const std::string type = file->header("Content-Type");
    seen_types.insert(type);
    if (path.rfind("/assets/", 0) == 0) {
      EXPECT_EQ(file->header("Cache-Control"), "public, max-age=31536000, immutable") << path;
    }
    const std::string extension = path.substr(path.rfind('.'));
    const std::map<std::string, std::string> kExpected = {
        {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"}, {".svg", "image/svg+xml"}};
    ASSERT_TRUE(kExpected.count(extension)) << path;
    EXPECT_EQ(type, kExpected.at(extension)) << path;
  }
  EXPECT_GE(files, 3) << "a script, a style sheet and the icon";
  EXPECT_TRUE(seen_types.count("text/javascript; charset=utf-8"));
  EXPECT_TRUE(seen_types.count("text/css; charset=utf-8"));
}

TEST_F(UiServerTest, ARevalidatedPageIsA304WithoutBody) {
  auto server = start();
  ASSERT_TRUE(server);
  HttpClient client("127.0.0.1", server->port());
  auto first = client.get("/");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  const std::string etag = first->header("ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // 16 hex digits in quotes
  auto again = client.get("/", {{"If-None-Match", "\"0000000000000000\", W/" + etag}});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto changed = client.get("/", {{"If-None-Match", "\"0000000000000000\""}});
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(changed->body, first->body);
}

TEST_F(UiServerTest, TheUiNeedsNoTokenButTheApiAndUnknownPathsStillDo) {
  auto server = start("s3cret-token-for-tests");
  ASSERT_TRUE(server);
  HttpClient client("127.0.0.1", server->port());
  auto page = client.get("/");
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  EXPECT_EQ(page->status, 200);
  auto api = client.get("/api/2.0/mlflow/experiments/search");
  ASSERT_TRUE(api.ok()) << api.status().to_string();
  EXPECT_EQ(api->status, 401);
  auto unknown = client.get("/nothing-here.js");
  ASSERT_TRUE(unknown.ok()) << unknown.status().to_string();
  EXPECT_EQ(unknown->status, 401);  // says nothing about what exists without the token
  auto unknown_asset = client.get("/assets/nothing.js", {{"Authorization", "Bearer s3cret-token-for-tests"}});
  ASSERT_TRUE(unknown_asset.ok()) << unknown_asset.status().to_string();
  EXPECT_EQ(unknown_asset->status, 404);
  EXPECT_EQ(json::parse(unknown_asset->body)["error_code"], "ENDPOINT_NOT_FOUND");
  auto health = client.get("/health", {{"Authorization", "Bearer s3cret-token-for-tests"}});
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "OK");
}

TEST_F(UiServerTest, PowerSampledGivesColumnsPerDomainWithNullsForMissingSamples) {
  auto run = store_->create_run("0", "metered", kT0);
  ASSERT_TRUE(run.ok());
  std::vector<PowerSample> samples;
  for (int i = 0; i < 1000; ++i) samples.push_back({kT0 + i, {10.0 + i, i % 2 ? std::nan("") : 5.0}});
  ASSERT_TRUE(store_->log_power_samples(run->run_id, {"package-0", "dram"}, samples).ok());
  MlflowApi api(store_.get(), &clock_);

  auto r = api.handle("GET", "wattlab", "runs/power-sampled", {{"run_id", run->run_id}, {"max_points", "4"}});
  ASSERT_EQ(r.http_status, 200) << r.body.dump();
  EXPECT_EQ(r.body["domains"], (json{"package-0", "dram"}));
  EXPECT_EQ(r.body["timestamps_ms"], (json{kT0, kT0 + 250, kT0 + 500, kT0 + 750}));
  EXPECT_EQ(r.body["power_w"][0], (json{10.0, 260.0, 510.0, 760.0}));
  EXPECT_EQ(r.body["power_w"][1], (json{5.0, 5.0, 5.0, 5.0}));

  // A range: every sample in it, NaN as null.
  auto range = api.handle("GET", "wattlab", "runs/power-sampled",
                          {{"run_id", run->run_id}, {"from_ms", std::to_string(kT0 + 1)}, {"to_ms", std::to_string(kT0 + 3)}});
  ASSERT_EQ(range.http_status, 200) << range.body.dump();
  EXPECT_EQ(range.body["timestamps_ms"], (json{kT0 + 1, kT0 + 2, kT0 + 3}));
  EXPECT_EQ(range.body["power_w"][1], (json{nullptr, 5.0, nullptr}));

  auto bad = api.handle("GET", "wattlab", "runs/power-sampled", {{"run_id", run->run_id}, {"max_points", "0"}});
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.body["error_code"], "INVALID_PARAMETER_VALUE");
  auto reversed = api.handle("GET", "wattlab", "runs/power-sampled",
                             {{"run_id", run->run_id}, {"from_ms", "20"}, {"to_ms", "10"}});
  EXPECT_EQ(reversed.http_status, 400);
  auto missing = api.handle("GET", "wattlab", "runs/power-sampled", {{"run_id", std::string(32, 'a')}});
  EXPECT_EQ(missing.http_status, 404);
  EXPECT_EQ(missing.body["error_code"], "RESOURCE_DOES_NOT_EXIST");
}

}  // namespace
}  // namespace wattlab
