// read_log_batch must read exactly what nlohmann's parse and MlflowApi's
// conversion read, and decline the rest, so that MlflowApi::handle_body
// answers every body as MlflowApi::handle on nlohmann's DOM does.
#include "wattlab/server/log_batch_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "wattlab/server/mlflow_api.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

using nlohmann::json;

constexpr const char* kRunId = "0123456789abcdef0123456789abcdef";

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// What the general path reads from `body` (assumed to be of the shape
// read_log_batch takes): nlohmann's DOM, fields converted as MlflowApi does.
void expect_same_as_dom(const std::string& body, const LogBatchRequest& read) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << "accepted a body nlohmann refuses: " << body;
  EXPECT_EQ(read.run_id, j.at("run_id").get<std::string>());
  const json metrics = j.value("metrics", json::array());
  ASSERT_EQ(read.metrics.size(), metrics.size()) << body;
  for (size_t i = 0; i < metrics.size(); ++i) {
    EXPECT_EQ(read.metrics[i].key, metrics[i].at("key").get<std::string>());
    const double value = metrics[i].at("value").get<double>();
    EXPECT_TRUE(same_bits(read.metrics[i].value, value)) << read.metrics[i].value << " vs " << value << " in " << body;
    EXPECT_EQ(read.metrics[i].timestamp_ms, metrics[i].at("timestamp").get<int64_t>());
    EXPECT_EQ(read.metrics[i].step, metrics[i].value("step", int64_t{0}));
  }
  auto expect_same_pairs = [&](const auto& read_list, const char* name) {
    const json list = j.value(name, json::array());
    ASSERT_EQ(read_list.size(), list.size()) << body;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_EQ(read_list[i].key, list[i].at("key").get<std::string>());
      EXPECT_EQ(read_list[i].value, list[i].value("value", std::string()));
    }
  };
  expect_same_pairs(read.params, "params");
  expect_same_pairs(read.tags, "tags");
}

std::string metric_body(const std::string& metric) {
  return std::string(R"({"run_id": ")") + kRunId + R"(", "metrics": [)" + metric + "]}";
}

TEST(LogBatchReaderTest, ReadsTheUsualShape) {
  const std::string body = std::string(R"({"metrics":[{"key":"loss","step":3,"timestamp":1700000000000,"value":0.25},)") +
                           R"({"key":"acc","timestamp":-5,"value":-7}],"params":[{"key":"lr","value":"0.1"},{"key":"bs"}],)" +
                           R"("run_id":")" + kRunId + R"(","tags":[{"key":"phase","value":""}]})";
  auto read = read_log_batch(body);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->run_id, kRunId);
  ASSERT_EQ(read->metrics.size(), 2u);
  EXPECT_EQ(read->metrics[0].key, "loss");
  EXPECT_EQ(read->metrics[0].value, 0.25);
  EXPECT_EQ(read->metrics[0].timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(read->metrics[0].step, 3);
  EXPECT_EQ(read->metrics[1].value, -7.0);
  EXPECT_EQ(read->metrics[1].timestamp_ms, -5);
  EXPECT_EQ(read->metrics[1].step, 0);  // absent
  ASSERT_EQ(read->params.size(), 2u);
  EXPECT_EQ(read->params[1].key, "bs");
  EXPECT_EQ(read->params[1].value, "");  // absent
  ASSERT_EQ(read->tags.size(), 1u);
  EXPECT_EQ(read->tags[0].key, "phase");
  expect_same_as_dom(body, *read);

  // JSON whitespace anywhere between tokens, empty lists, no metrics at all.
  const std::string spaced = std::string(" \t\r\n{ \"run_id\" :\n\"") + kRunId +
                             "\" , \"metrics\" : [ { \"key\" : \"a\" , \"value\" : 1e-3 , \"timestamp\" : 0 } ] ,"
                             " \"params\" : [ ] }\n ";
  read = read_log_batch(spaced);
  ASSERT_TRUE(read.has_value());
  expect_same_as_dom(spaced, *read);
  read = read_log_batch(std::string(R"({"run_id":")") + kRunId + "\"}");
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->metrics.empty());
}

TEST(LogBatchReaderTest, DeclinesWhatItCannotReadAsTheGeneralPathDoes) {
  const std::string run = std::string("\"run_id\":\"") + kRunId + "\"";
  const std::vector<std::string> bodies = {
           std::string(""), std::string("   "), std::string("{}"), std::string("[]"), std::string("null"),
           "\xEF\xBB\xBF{" + run + "}",                       // a byte order mark (nlohmann skips it)
           "{" + run + "} {}",                                // trailing garbage
           "{" + run + ",}",                                  // trailing comma
           "{" + run + "," + run + "}",                       // a member twice (nlohmann keeps the last)
           R"({"run_id":""})",                                // empty: the general path tries run_uuid
           "{\"run_uuid\":\"" + std::string(kRunId) + "\"}",  // members it does not know
           "{" + run + ",\"experiment_id\":\"0\"}",
           "{" + run + ",\"metrics\":null}",                  // null counts as absent there
           "{" + run + ",\"metrics\":{}}",
           "{" + run + ",\"metrics\":[5]}",
           "{" + run + ",\"metrics\":[{\"key\":\"a\",\"value\":1,\"timestamp\":1}]",  // unterminated
           "{\"run_id\":\"caf\xC3\xA9\"}",                    // non-ASCII
           "{\"run_id\":\"a\\u0062\"}",                       // escapes
           "{\"run_id\":\"tab\there\"}",                      // control characters
           metric_body(R"({"key":"a","value":1,"timestamp":1,"step":2,"step":3})"),
           metric_body(R"({"key":"","value":1,"timestamp":1})"),
           metric_body(R"({"value":1,"timestamp":1})"),
           metric_body(R"({"key":"a","timestamp":1})"),
           metric_body(R"({"key":"a","value":1})"),
           metric_body(R"({"key":"a","value":"1.5","timestamp":1})"),   // strings of numbers
           metric_body(R"({"key":"a","value":"NaN","timestamp":1})"),
           metric_body(R"({"key":"a","value":1,"timestamp":"1"})"),
           metric_body(R"({"key":"a","value":1,"timestamp":1.0})"),     // a float (the general path takes it)
           metric_body(R"({"key":"a","value":1,"timestamp":1e3})"),
           metric_body(R"({"key":"a","value":1,"timestamp":9223372036854775808})"),
           metric_body(R"({"key":"a","value":18446744073709551616,"timestamp":1})"),
           metric_body(R"({"key":"a","value":1e309,"timestamp":1})"),   // overflow: nlohmann refuses it
           metric_body(R"({"key":"a","value":01,"timestamp":1})"),      // not JSON numbers
           metric_body(R"({"key":"a","value":1.,"timestamp":1})"),
           metric_body(R"({"key":"a","value":.5,"timestamp":1})"),
           metric_body(R"({"key":"a","value":+1,"timestamp":1})"),
           metric_body(R"({"key":"a","value":1e,"timestamp":1})"),
           metric_body(R"({"key":"a","value":-,"timestamp":1})"),
           metric_body(R"({"key":"a","value":NaN,"timestamp":1})"),
           metric_body(R"({"key":"a","value":1,"timestamp":1,"extra":true})"),
           "{" + run + ",\"params\":[{\"key\":\"a\",\"value\":1}]}",
           "{" + run + ",\"tags\":[{\"value\":\"v\"}]}",
  };
  for (const std::string& body : bodies) {
    EXPECT_FALSE(read_log_batch(body).has_value()) << body;
  }
}

// Numbers read bit for bit as nlohmann reads them and get<double>() converts
// them: random doubles in shortest and long forms, integers near int64's
// limits, subnormals.
TEST(LogBatchReaderTest, NumbersAreReadAsNlohmannReadsThem) {
  std::mt19937_64 random(20261126);
  std::vector<std::string> values = {"0", "-0", "-0.0", "0.1", "1e308", "-1.7976931348623157e308", "4.9e-324",
                                     "2.2250738585072014e-308", "123456789012345678", "9223372036854775807",
                                     "-9223372036854775808", "9007199254740993", "1E+2", "1e-2"};
  for (int i = 0; i < 2000; ++i) {
    double d;
    do {
      uint64_t bits = random();
      std::memcpy(&d, &bits, sizeof d);
    } while (!std::isfinite(d));
    char text[64];
    std::snprintf(text, sizeof text, i % 2 ? "%.17g" : "%.6e", d);
    values.push_back(text);
    values.push_back(std::to_string(static_cast<int64_t>(random())));
  }
  for (const auto& value : values) {
    const std::string body = metric_body(R"({"key":"m","value":)" + value + R"(,"timestamp":)" +
                                         std::to_string(static_cast<int64_t>(random())) + "}");
    auto read = read_log_batch(body);
    ASSERT_TRUE(read.has_value()) << body;
    expect_same_as_dom(body, *read);
  }
}

// MlflowApi::handle_body against handle() on nlohmann's DOM, on thousands of
// random corruptions of a log-batch body: the same status and body every
// time (the reader only ever takes a body the general path reads the same
// way), and every body the reader takes read as nlohmann reads it.
TEST(LogBatchReaderTest, HandleBodyAnswersAsTheGeneralPathOnCorruptedBodies) {
  FakeClock clock(0, 1'700'000'000'000);
  auto store = SqliteStore::open(":memory:", &clock);
  ASSERT_TRUE(store.ok());
  MlflowApi api(store->get(), &clock);
  auto run = (*store)->create_run("0", "fuzz", 1'700'000'000'000);
  ASSERT_TRUE(run.ok());
  const std::string valid = json{{"run_id", run->run_id},
                                 {"metrics", {{{"key", "loss"}, {"value", 0.5}, {"timestamp", 17}, {"step", 2}},
                                              {{"key", "acc"}, {"value", 1}, {"timestamp", -1}}}},
                                 {"params", {{{"key", "lr"}, {"value", "0.1"}}}},
                                 {"tags", {{{"key", "t"}, {"value", "v"}}}}}
                                .dump(1);
  const std::string alphabet = "{}[]\":,. -+0123456789eEatrunlfs_\\\n\x01\xC3\xA9";
  std::mt19937 random(4);
  int accepted = 0, declined = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t at = random() % body.size();
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0: body[at] = c; break;
        case 1: body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: body.erase(at, 1); break;
      }
    }
    const ApiResponse fast = api.handle_body("POST", "mlflow", "runs/log-batch", body);
    const json dom = json::parse(body, nullptr, /*allow_exceptions=*/false);
    auto read = read_log_batch(body);
    if (read) {
      ++accepted;
      expect_same_as_dom(body, *read);
    } else {
      ++declined;
    }
    if (dom.is_discarded()) {
      EXPECT_FALSE(read.has_value()) << body;
      EXPECT_EQ(fast.http_status, 400) << body;
      EXPECT_EQ(fast.body.value("error_code", ""), "BAD_REQUEST") << body;
      continue;
    }
    const ApiResponse general = api.handle("POST", "mlflow", "runs/log-batch", dom);
    EXPECT_EQ(fast.http_status, general.http_status) << body;
    EXPECT_EQ(fast.body, general.body) << body;
  }
  // Both kinds occurred often enough to mean something.
  EXPECT_GT(accepted, 200);
  EXPECT_GT(declined, 200);
}

}  // namespace
}  // namespace wattlab
