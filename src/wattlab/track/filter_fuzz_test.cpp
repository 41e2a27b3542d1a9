// A bounded randomized fuzz test of the search language: random bytes, token
// soup, and mutations of the valid filters in testdata/filter_cases.txt go
// through parse_filter / parse_order_by / compile_run_filter /
// compile_run_order_by. Properties:
//   - nothing crashes (CI also runs this under ASan/UBSan);
//   - every refusal is InvalidArgument with a non-empty message;
//   - every filter that compiles runs as parameterised SQL against a real
//     SQLite store without an SQL error, through the store and directly;
//   - no value or key ever reaches the SQL text: replacing them all with
//     sentinels gives the same SQL, and no sentinel appears in it.
// The seed is fixed (override: WATTLAB_FUZZ_SEED); the run stops after
// WATTLAB_FUZZ_SECONDS (default 20) seconds.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "wattlab/track/filter.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

double env_double(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  return end && *end == '\0' && d >= 0 ? d : fallback;
}

// The valid filters and order_by terms of filter_cases.txt.
struct Seeds {
  std::vector<std::string> filters;
  std::vector<std::string> order_by;
};

Seeds load_seeds() {
  Seeds seeds;
  std::ifstream in(std::string(WATTLAB_TRACK_TESTDATA) + "/filter_cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    size_t arrow = line.rfind("=>");
    if (arrow == std::string::npos) continue;
    std::string left = line.substr(0, arrow);
    const bool error = trim(line.substr(arrow + 2)).rfind("error:", 0) == 0;
    if (size_t ob = left.find("ORDER BY"); ob != std::string::npos) {
      std::stringstream terms(left.substr(ob + 8));
      std::string term;
      while (std::getline(terms, term, ','))
        if (!trim(term).empty()) seeds.order_by.push_back(trim(term));
      left = left.substr(0, ob);
    }
    if (!error && !trim(left).empty()) seeds.filters.push_back(trim(left));
  }
  return seeds;
}

// Pieces the mutator inserts: quotes, backticks, SQL metacharacters, huge
// and odd numbers, unicode (valid and not), NUL and keywords.
const std::vector<std::string>& tokens() {
  static const std::vector<std::string> kTokens = {
      "'", "\"", "`", "''", "\"\"", "``", "\\", "\\'", "(", ")", ",", ".", " ", "\t", "\n",
      "=", "!=", "<>", ">", ">=", "<", "<=", "==", "!", " AND ", " and ", " OR ", " NOT ", " IN ", " NOT IN ",
      " LIKE ", " ILIKE ", " IS NULL", " ORDER BY ", " ASC", " DESC",
      "'; DROP TABLE runs; --", "; DROP TABLE runs; --", "--", "/*", "*/", ";", "%", "_", "?", "?1", ":a", "@a", "$1",
      "' OR '1'='1", "\" OR \"1\"=\"1", ") OR (1=1", "UNION SELECT * FROM params", "sqlite_master",
      "0", "-0", "1", "-1", "0.5", ".5", "5.", "1e3", "1E-3", "1e308", "1e309", "-1e309", "1e-400",
      "99999999999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
      "0x10", "1_000", "NaN", "nan", "Infinity", "-Infinity", "inf", "+1", "--1", "1..2", "1e", "e1",
      "metrics.", "metric.", "params.", "param.", "parameters.", "tags.", "tag.", "attributes.", "attribute.", "attr.",
      "run.", "datasets.", "accuracy", "loss", "model", "lr", "team", "mlflow.runName", "status", "run_id", "run_name",
      "start_time", "end_time", "artifact_uri", "experiment_id", "user_id", "a-b", "a-b/c d", "odd key",
      "'cnn'", "'c%'", "'FINISHED'", "\"it's\"", "'it''s'",
      "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x94\x8b", "\xc3", "\xff\xfe", "\xed\xa0\x80", "\xef\xbb\xbf",
      std::string("\0", 1), std::string("a\0b", 3), "\x01", "\x7f",
  };
  return kTokens;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  const std::string& token() { return tokens()[below(tokens().size())]; }

  std::string random_bytes(size_t max_length) {
    std::string s(below(max_length + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng_() & 0xff);
    return s;
  }

  std::string token_soup() {
    std::string s;
    for (size_t i = 0, n = 1 + below(12); i < n; ++i) s += token();
    return s;
  }

  // One to four edits of `text`: insert, delete, replace, duplicate, flip.
  std::string mutate(std::string text) {
    for (size_t i = 0, n = 1 + below(4); i < n; ++i) {
      const size_t pos = below(text.size() + 1);
      const size_t len = 1 + below(std::min<size_t>(text.size() - std::min(pos, text.size()), 12) + 1);
      switch (below(6)) {
        case 0: text.insert(pos, token()); break;
        case 1:
          if (pos < text.size()) text.erase(pos, len);
          break;
        case 2:
          if (pos < text.size()) text.replace(pos, len, token());
          else text += token();
          break;
        case 3:
          if (pos < text.size()) text.insert(below(text.size() + 1), text.substr(pos, len));
          break;
        case 4:
          if (pos < text.size()) text[pos] = static_cast<char>(rng_() & 0xff);
          break;
        default: {
          // Swap one kind of quote for another, a classic confusion.
          static const char kQuotes[] = {'\'', '"', '`'};
          for (char& c : text) {
            if ((c == '\'' || c == '"' || c == '`') && below(2) == 0) c = kQuotes[below(3)];
          }
        }
      }
    }
    return text;
  }

 private:
  std::mt19937_64 rng_;
};

// `filter` with every value and every metric/param/tag key replaced by a
// sentinel of the same kind; the sentinels in `*strings`.
Filter with_sentinels(const Filter& filter, std::vector<std::string>* strings) {
  Filter out = filter;
  int n = 0;
  for (auto& c : out.comparisons) {
    if (c.entity != FilterEntity::kAttribute) {
      c.key = "SENTINELK" + std::to_string(n++);
      strings->push_back(c.key);
    }
    for (auto& v : c.values) {
      if (v.is_number) {
        v.number = 4242.0 + n++;
      } else {
        v.text = "SENTINELV" + std::to_string(n++);
        strings->push_back(v.text);
      }
    }
  }
  return out;
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

class FilterFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab-filter-fuzz-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = SqliteStore::open((dir_ / "fuzz.db").string(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto exp = store_->create_experiment("fuzz", "", {});
    ASSERT_TRUE(exp.ok());
    struct RunSpec {
      const char* name;
      std::vector<Param> params;
      std::vector<Metric> metrics;
      std::vector<RunTag> tags;
    };
    const std::vector<RunSpec> runs = {
        {"cnn-a", {{"model", "cnn"}, {"lr", "0.01"}}, {{"accuracy", 0.95, 1, 0}, {"loss", 0.2, 1, 0}}, {{"team", "vision"}}},
        {"resnet", {{"model", "resnet"}}, {{"accuracy", 0.97, 1, 0}, {"energy_j", 1500, 1, 0}}, {{"odd key", "it's"}}},
        {"mlp", {{"model", "mlp"}}, {{"accuracy", std::nan(""), 1, 0}, {"loss", INFINITY, 1, 0}}, {}},
        {"weird", {{"a-b/c d", "x' OR '1'='1; DROP TABLE runs; --"}}, {{"a-b", 1, 1, 0}}, {{"note", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x8b"}}},
    };
    int64_t start = 1000;
    for (const auto& spec : runs) {
      auto run = store_->create_run(*exp, spec.name, start += 1000);
      ASSERT_TRUE(run.ok());
      std::vector<RunTag> tags = spec.tags;
      tags.push_back({"mlflow.runName", spec.name});
      Status logged = store_->log_batch(run->run_id, spec.metrics, spec.params, tags);
      ASSERT_TRUE(logged.ok()) << logged.to_string();
    }
    ASSERT_EQ(sqlite3_open_v2((dir_ / "fuzz.db").c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  }
  void TearDown() override {
    if (db_) sqlite3_close_v2(db_);
    store_.reset();
    fs::remove_all(dir_);
  }

  // Runs `where` and `order` as one SELECT over the runs table; the SQLite
  // error, or "" when it ran to the end.
  std::string execute(const SqlFragment& where, const SqlFragment& order, int* rows) {
    const std::string sql = "SELECT r.run_id FROM runs r WHERE (" + where.sql + ") ORDER BY " + order.sql;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      std::string error = sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
      return "prepare: " + error + " in " + sql;
    }
    int index = 1;
    for (const auto* params : {&where.params, &order.params}) {
      for (const SqlValue& v : *params) {
        int rc = SQLITE_OK;
        if (const auto* i = std::get_if<int64_t>(&v)) rc = sqlite3_bind_int64(stmt, index, *i);
        else if (const auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(stmt, index, *d);
        else {
          const auto& s = std::get<std::string>(v);
          rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        }
        if (rc != SQLITE_OK) {
          sqlite3_finalize(stmt);
          return "bind " + std::to_string(index) + ": " + sqlite3_errstr(rc);
        }
        ++index;
      }
    }
    if (index - 1 != sqlite3_bind_parameter_count(stmt)) {
      sqlite3_finalize(stmt);
      return "bound " + std::to_string(index - 1) + " values to " + std::to_string(sqlite3_bind_parameter_count(stmt)) +
             " placeholders";
    }
    int rc;
    *rows = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) ++*rows;
    std::string error = rc == SQLITE_DONE ? "" : std::string("step: ") + sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return error;
  }

  FakeClock clock_{0, 1'700'000'000'000};
  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
  sqlite3* db_ = nullptr;
};

TEST_F(FilterFuzzTest, RandomAndMutatedFiltersNeverCrashAndNeverReachSqlAsText) {
  const Seeds seeds = load_seeds();
  ASSERT_GT(seeds.filters.size(), 40u) << "filter_cases.txt lost its valid filters?";
  ASSERT_GT(seeds.order_by.size(), 5u);
  const uint64_t seed = static_cast<uint64_t>(env_double("WATTLAB_FUZZ_SEED", 20261126));
  const double budget_s = env_double("WATTLAB_FUZZ_SECONDS", 20);
  std::cout << "[ fuzz     ] seed " << seed << " (WATTLAB_FUZZ_SEED), " << budget_s << " s (WATTLAB_FUZZ_SECONDS)\n";
  Mutator m(seed);
  const SqlFragment default_order = *compile_run_order_by({});

  int64_t inputs = 0, parsed = 0, compiled = 0, executed = 0, order_inputs = 0, orders_compiled = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  // At least one round even with a zero budget; stop at the first failure.
  // Four fifths of the time for filters, the rest for order_by alone.
  while ((inputs == 0 || elapsed_s() < 0.8 * budget_s) && !HasFailure()) {
    std::string text;
    switch (m.below(10)) {
      case 0: text = m.random_bytes(64); break;
      case 1: text = m.token_soup(); break;
      case 2: text = seeds.filters[m.below(seeds.filters.size())]; break;  // unmutated: must compile
      case 3:  // two seeds joined, then mutated
        text = m.mutate(seeds.filters[m.below(seeds.filters.size())] + " AND " +
                        seeds.filters[m.below(seeds.filters.size())]);
        break;
      default: text = m.mutate(seeds.filters[m.below(seeds.filters.size())]);
    }
    ++inputs;
    const std::string shown = printable(text);
    auto filter = parse_filter(text);
    if (!filter.ok()) {
      ASSERT_EQ(filter.status().code(), Status::Code::kInvalidArgument) << shown << ": " << filter.status().to_string();
      ASSERT_FALSE(filter.status().message().empty()) << shown;
      continue;
    }
    ++parsed;
    auto where = compile_run_filter(*filter);
    if (!where.ok()) {
      ASSERT_EQ(where.status().code(), Status::Code::kInvalidArgument) << shown << ": " << where.status().to_string();
      ASSERT_FALSE(where.status().message().empty()) << shown;
      continue;
    }
    ++compiled;

    // Values and keys travel as parameters only.
    std::vector<std::string> sentinels;
    auto twin = compile_run_filter(with_sentinels(*filter, &sentinels));
    ASSERT_TRUE(twin.ok()) << shown << ": the same filter with other values fails: " << twin.status().to_string();
    ASSERT_EQ(twin->sql, where->sql) << shown << ": the SQL text depends on the values";
    ASSERT_EQ(twin->params.size(), where->params.size()) << shown;
    for (const auto& s : sentinels) ASSERT_EQ(twin->sql.find(s), std::string::npos) << shown << ": " << s << " in SQL";

    // A random order_by with it, now and then.
    SqlFragment order = default_order;
    std::vector<std::string> order_texts;
    if (m.below(3) == 0) {
      const std::string term = seeds.order_by[m.below(seeds.order_by.size())];
      order_texts.push_back(m.below(2) ? term : m.mutate(term));
      auto t = parse_order_by(order_texts.back());
      auto o = t.ok() ? compile_run_order_by({*t}) : Result<SqlFragment>(t.status());
      if (o.ok()) order = *o;
      else order_texts.clear();
    }
    int rows = 0;
    const std::string error = execute(*where, order, &rows);
    ASSERT_EQ(error, "") << shown;
    ++executed;

    // Through the store as well: an accepted filter is never an internal error.
    SearchRunsOptions options;
    options.filter = text;
    options.order_by = order_texts;
    auto page = store_->search_runs(options);
    ASSERT_TRUE(page.ok() || page.status().code() == Status::Code::kInvalidArgument)
        << shown << ": " << page.status().to_string();
    if (page.ok()) {
      ASSERT_EQ(static_cast<int>(page->runs.size()), rows) << shown;
    }
  }

  // order_by alone: random bytes, soup and mutations of the seeds' terms,
  // up to three terms at once.
  const auto order_start = std::chrono::steady_clock::now();
  const double order_budget_s = 0.2 * budget_s;
  while ((order_inputs == 0 || std::chrono::duration<double>(std::chrono::steady_clock::now() - order_start).count() <
                                   order_budget_s) &&
         !HasFailure()) {
    std::vector<OrderByTerm> terms;
    std::vector<std::string> texts;
    bool all_parsed = true;
    for (size_t i = 0, n = 1 + m.below(3); i < n; ++i) {
      std::string text;
      switch (m.below(4)) {
        case 0: text = m.random_bytes(32); break;
        case 1: text = m.token_soup(); break;
        default: text = m.mutate(seeds.order_by[m.below(seeds.order_by.size())]);
      }
      ++order_inputs;
      texts.push_back(text);
      auto t = parse_order_by(text);
      if (!t.ok()) {
        ASSERT_EQ(t.status().code(), Status::Code::kInvalidArgument) << printable(text);
        ASSERT_FALSE(t.status().message().empty()) << printable(text);
        all_parsed = false;
        continue;
      }
      terms.push_back(*t);
    }
    if (!all_parsed) continue;
    auto order = compile_run_order_by(terms);
    if (!order.ok()) {
      ASSERT_EQ(order.status().code(), Status::Code::kInvalidArgument);
      ASSERT_FALSE(order.status().message().empty());
      continue;
    }
    ++orders_compiled;
    // Keys are parameters: other keys give the same SQL, and never appear in it.
    std::vector<OrderByTerm> twins = terms;
    for (size_t i = 0; i < twins.size(); ++i)
      if (twins[i].entity != FilterEntity::kAttribute) twins[i].key = "SENTINELK" + std::to_string(i);
    auto twin = compile_run_order_by(twins);
    ASSERT_TRUE(twin.ok()) << printable(texts[0]) << ": " << twin.status().to_string();
    ASSERT_EQ(twin->sql, order->sql) << printable(texts[0]);
    ASSERT_EQ(twin->sql.find("SENTINELK"), std::string::npos) << twin->sql;
    int rows = 0;
    SqlFragment all;
    all.sql = "1";
    ASSERT_EQ(execute(all, *order, &rows), "") << printable(texts[0]);
    ASSERT_EQ(rows, 4);
  }

  std::cout << "[ fuzz     ] " << inputs << " filters and order_by in " << elapsed_s() << " s: " << parsed << " parsed, " << compiled
            << " compiled, " << executed << " executed; " << order_inputs << " order_by terms, " << orders_compiled
            << " orderings executed\n";
  // The generators reach both sides: most inputs are refused, many are not.
  EXPECT_GT(compiled, inputs / 20) << "too few inputs compile: the fuzzer is not reaching the SQL";
  EXPECT_LT(compiled, inputs) << "nothing was refused: the mutations are too weak";
  EXPECT_GT(orders_compiled, 0);
  // Hostile values changed nothing in the store.
  SearchRunsOptions all;
  auto page = store_->search_runs(all);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->runs.size(), 4u);
}

}  // namespace
}  // namespace wattlab
