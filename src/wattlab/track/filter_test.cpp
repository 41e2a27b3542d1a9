// Data-driven tests of the filter language: testdata/filter_cases.txt holds
// `filter => expected run names` and `filter => error: text` lines; one
// runner searches a fixed set of runs with each.
#include "wattlab/track/filter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "wattlab/track/page_token.h"
#include "wattlab/track/store_test_backend.h"

namespace wattlab {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Runs on every back end (store_test_backend.h), so SQLite's and
// PostgreSQL's SQL dialects must give the same answers.
class FilterCasesTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = open_store();
    ASSERT_TRUE(store_);
    auto exp = store_->create_experiment("filters", "", {});
    ASSERT_TRUE(exp.ok()) << exp.status().to_string();
    experiment_id_ = *exp;
    add("cnn-a", 1000, {{"model", "cnn"}, {"lr", "0.01"}}, {{"accuracy", 0.95}, {"loss", 0.2}}, {{"team", "vision"}},
        RunStatus::kFinished);
    add("cnn-b", 2000, {{"model", "cnn"}, {"lr", "0.1"}}, {{"accuracy", 0.85}, {"loss", 0.4}}, {{"team", "Vision"}},
        RunStatus::kFailed);
    add("resnet", 3000, {{"model", "resnet"}, {"lr", "0.01"}}, {{"accuracy", 0.97}, {"energy_j", 1500}},
        {{"odd key", "it's"}}, RunStatus::kFinished, 9000);
    add("mlp", 4000, {{"model", "mlp"}}, {{"accuracy", std::nan("")}}, {}, RunStatus::kRunning);
    add("weird", 5000, {{"a-b/c d", "x' OR '1'='1; DROP TABLE runs; --"}}, {{"a-b", 1}}, {}, RunStatus::kRunning);
  }

  void add(const std::string& name, int64_t start_ms, std::vector<Param> params,
           std::vector<std::pair<std::string, double>> metrics, std::vector<RunTag> tags, RunStatus status,
           std::optional<int64_t> end_ms = std::nullopt) {
    auto run = store_->create_run(experiment_id_, name, start_ms);
    ASSERT_TRUE(run.ok()) << run.status().to_string();
    std::vector<Metric> ms;
    for (const auto& [k, v] : metrics) ms.push_back({k, v, start_ms + 1, 0});
    tags.push_back({"mlflow.runName", name});
    Status s = store_->log_batch(run->run_id, ms, params, tags);
    ASSERT_TRUE(s.ok()) << s.to_string();
    RunUpdate update;
    update.status = status;
    update.end_time_ms = end_ms;
    ASSERT_TRUE(store_->update_run_info(run->run_id, update).ok());
  }

  std::unique_ptr<Store> store_;
  std::string experiment_id_;
};
INSTANTIATE_TEST_SUITE_P(Backends, FilterCasesTest,
                         ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres), store_backend_name);

TEST_P(FilterCasesTest, EveryCaseInTheFile) {
  const std::string path = std::string(WATTLAB_TRACK_TESTDATA) + "/filter_cases.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::string line;
  int line_no = 0;
  int cases = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    size_t arrow = line.rfind("=>");
    ASSERT_NE(arrow, std::string::npos) << path << ":" << line_no << ": no '=>'";
    std::string left = line.substr(0, arrow);
    const std::string expected = trim(line.substr(arrow + 2));
    SearchRunsOptions options;
    options.experiment_ids = std::vector<std::string>{experiment_id_};
    if (size_t ob = left.find("ORDER BY"); ob != std::string::npos) {
      options.order_by = split_list(left.substr(ob + 8));
      left = left.substr(0, ob);
    }
    options.filter = trim(left);
    auto page = store_->search_runs(options);
    const std::string where = path + ":" + std::to_string(line_no) + ": " + line;
    ++cases;
    if (expected.rfind("error:", 0) == 0) {
      ASSERT_FALSE(page.ok()) << where << "\n  expected an error, got " << (page.ok() ? page->runs.size() : 0)
                              << " runs";
      EXPECT_EQ(page.status().code(), Status::Code::kInvalidArgument) << where;
      EXPECT_NE(page.status().message().find(trim(expected.substr(6))), std::string::npos)
          << where << "\n  message: " << page.status().message();
      continue;
    }
    ASSERT_TRUE(page.ok()) << where << "\n  " << page.status().to_string();
    std::vector<std::string> names;
    for (const auto& r : page->runs) names.push_back(r.info.run_name);
    EXPECT_EQ(names, split_list(expected)) << where;
  }
  EXPECT_GT(cases, 60);
  // The hostile filters above changed nothing.
  SearchRunsOptions all;
  auto page = store_->search_runs(all);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->runs.size(), 5u);
}

TEST_P(FilterCasesTest, PagesCoverEveryRunOnceInOrder) {
  SearchRunsOptions options;
  options.max_results = 2;
  std::vector<std::string> names;
  int pages = 0;
  for (;;) {
    auto page = store_->search_runs(options);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    ++pages;
    for (const auto& r : page->runs) names.push_back(r.info.run_name);
    if (page->next_page_token.empty()) break;
    options.page_token = page->next_page_token;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"weird", "mlp", "resnet", "cnn-b", "cnn-a"}));
  EXPECT_EQ(pages, 3);
}

TEST_P(FilterCasesTest, DeletedRunsFollowTheViewType) {
  SearchRunsOptions options;
  options.filter = "params.model = 'cnn'";
  auto page = store_->search_runs(options);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->runs.size(), 2u);
  ASSERT_TRUE(store_->delete_run(page->runs[0].info.run_id).ok());
  EXPECT_EQ(store_->search_runs(options)->runs.size(), 1u);
  options.view_type = ViewType::kDeletedOnly;
  ASSERT_EQ(store_->search_runs(options)->runs.size(), 1u);
  EXPECT_EQ(store_->search_runs(options)->runs[0].info.run_name, "cnn-b");
  options.view_type = ViewType::kAll;
  EXPECT_EQ(store_->search_runs(options)->runs.size(), 2u);
}

// Random token soup: the parser and compiler never crash, and whatever they
// accept runs as SQL without a database error (ASan/UBSan builds run this too).
TEST_P(FilterCasesTest, RandomFiltersNeverCrashOrReachSqlAsText) {
  const std::vector<std::string> pieces = {
      "metrics.", "params.", "tags.", "attributes.", "accuracy", "model", "status", "start_time", "run_name",
      "`", "\"", "'", "''", " ", " AND ", " and ", " OR ", "=", "!=", ">", ">=", "<", "<=", " LIKE ", " ILIKE ",
      " IN ", " NOT IN ", "(", ")", ",", "'cnn'", "'%'", "0.9", "-1e3", "1e999", "NaN", ";", "--", "DROP TABLE runs",
      "\\", "\x01", "\xff", "mlflow.runName", "a-b", "."};
  std::mt19937 rng(20240601);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    // Mostly well-formed comparisons joined by AND, then mutated by
    // inserting random pieces, so both the accepting and the rejecting paths
    // are exercised.
    static const std::vector<std::string> lhs = {"metrics.accuracy", "params.model", "tags.\"mlflow.runName\"",
                                                 "attributes.status", "start_time", "metrics.`a-b`", "tags.team"};
    static const std::vector<std::string> ops = {" = ", " != ", " > ", " <= ", " LIKE ", " ILIKE ", " IN "};
    static const std::vector<std::string> rhs = {"0.9", "'cnn'", "'c%'", "('a', 'b')", "-1", "'x'' OR 1=1'"};
    std::string text;
    const int terms = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < terms; ++k) {
      if (k) text += " AND ";
      text += lhs[rng() % lhs.size()] + ops[rng() % ops.size()] + rhs[rng() % rhs.size()];
    }
    const int mutations = static_cast<int>(rng() % 3);
    for (int k = 0; k < mutations; ++k) text.insert(rng() % (text.size() + 1), pieces[rng() % pieces.size()]);
    auto filter = parse_filter(text);
    if (!filter.ok()) {
      ASSERT_EQ(filter.status().code(), Status::Code::kInvalidArgument) << text;
      continue;
    }
    SearchRunsOptions options;
    options.filter = text;
    auto page = store_->search_runs(options);
    ASSERT_TRUE(page.ok() || page.status().code() == Status::Code::kInvalidArgument)
        << text << " -> " << page.status().to_string();
    if (page.ok()) ++accepted;
  }
  EXPECT_GT(accepted, 10);  // the soup does produce valid filters
  SearchRunsOptions all;
  EXPECT_EQ(store_->search_runs(all)->runs.size(), 5u);
}

TEST(PageToken, RoundTripsAndRejectsForgeries) {
  for (int64_t offset : {0, 1, 7, 1000, 123456789}) {
    auto back = decode_page_token(encode_page_token(offset));
    ASSERT_TRUE(back.ok()) << offset;
    EXPECT_EQ(*back, offset);
  }
  EXPECT_EQ(encode_page_token(1000), "eyJvZmZzZXQiOiAxMDAwfQ==");  // base64 of {"offset": 1000}, as MLflow
  EXPECT_EQ(*decode_page_token(""), 0);
  for (const char* bad : {"x", "!!!!", "eyJvZmZzZXQiOiAtMX0=", "e30=", "' OR 1=1 --"}) {
    EXPECT_EQ(decode_page_token(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(FilterParse, BuildsTheAst) {
  auto f = parse_filter("metrics.`val loss` <= -1.5e-3 and tags.\"a.b\" NOT IN ('x', \"y\")");
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ(f->comparisons.size(), 2u);
  EXPECT_EQ(f->comparisons[0].entity, FilterEntity::kMetric);
  EXPECT_EQ(f->comparisons[0].key, "val loss");
  EXPECT_EQ(f->comparisons[0].op, FilterOp::kLe);
  EXPECT_DOUBLE_EQ(f->comparisons[0].values[0].number, -1.5e-3);
  EXPECT_EQ(f->comparisons[1].entity, FilterEntity::kTag);
  EXPECT_EQ(f->comparisons[1].key, "a.b");
  EXPECT_EQ(f->comparisons[1].op, FilterOp::kNotIn);
  ASSERT_EQ(f->comparisons[1].values.size(), 2u);
  EXPECT_EQ(f->comparisons[1].values[1].text, "y");
}

TEST(FilterCompile, PostgresDialectNumbersPlaceholdersAndKeepsNanOutOfComparisons) {
  auto f = parse_filter("metrics.acc > 0.5 AND params.model LIKE 'c%' AND tags.team ILIKE 'v%'");
  ASSERT_TRUE(f.ok());
  auto sqlite = compile_run_filter(*f);
  auto postgres = compile_run_filter(*f, SqlDialect::kPostgres);
  ASSERT_TRUE(sqlite.ok() && postgres.ok());
  EXPECT_NE(sqlite->sql.find("GLOB ?"), std::string::npos) << sqlite->sql;
  EXPECT_EQ(sqlite->sql.find("NaN"), std::string::npos) << sqlite->sql;
  EXPECT_NE(postgres->sql.find("lm.value <> 'NaN'::float8"), std::string::npos) << postgres->sql;
  EXPECT_NE(postgres->sql.find("LIKE ? ESCAPE ''"), std::string::npos) << postgres->sql;
  EXPECT_NE(postgres->sql.find("ILIKE ? ESCAPE ''"), std::string::npos) << postgres->sql;
  EXPECT_EQ(std::get<std::string>(postgres->params[3]), "c%") << "PostgreSQL takes the LIKE pattern as is";
  EXPECT_EQ(compile_run_filter(Filter{})->sql, "1");
  EXPECT_EQ(compile_run_filter(Filter{}, SqlDialect::kPostgres)->sql, "TRUE");
  EXPECT_EQ(number_placeholders("a = ? AND b IN (?, ?) LIMIT ?"), "a = $1 AND b IN ($2, $3) LIMIT $4");
  auto order = compile_run_order_by({{FilterEntity::kMetric, "acc", false}}, SqlDialect::kPostgres);
  ASSERT_TRUE(order.ok());
  EXPECT_NE(order->sql.find("NULLIF("), std::string::npos) << "NaN sorts with the missing values: " << order->sql;
}

TEST(FilterCompile, ValuesAreBoundNeverPasted) {
  auto f = parse_filter("params.\"k'; DROP\" = 'v'' OR 1=1'");
  ASSERT_TRUE(f.ok());
  auto sql = compile_run_filter(*f);
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(sql->sql.find("DROP"), std::string::npos) << sql->sql;
  EXPECT_EQ(sql->sql.find("OR 1=1"), std::string::npos) << sql->sql;
  ASSERT_EQ(sql->params.size(), 2u);
  EXPECT_EQ(std::get<std::string>(sql->params[0]), "k'; DROP");
  EXPECT_EQ(std::get<std::string>(sql->params[1]), "v' OR 1=1");
}

}  // namespace
}  // namespace wattlab
