// What only the PostgreSQL store does: connection URIs, connection errors
// that name the server but never the password, and schema migration shared
// by several openers. The Store contract itself is tested on both back ends
// in store_test.cpp and store_ops_test.cpp.
#include "wattlab/track/postgres_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "wattlab/track/store_test_backend.h"

namespace wattlab {
namespace {

TEST(PostgresUri, PasswordsAreRedacted) {
  EXPECT_TRUE(is_postgres_uri("postgresql://h/db"));
  EXPECT_TRUE(is_postgres_uri("postgres://h/db"));
  EXPECT_FALSE(is_postgres_uri("sqlite:////x.db"));
  EXPECT_FALSE(is_postgres_uri("postgresql.db"));
  EXPECT_EQ(redact_postgres_uri("postgresql://ana:s3cret@db.lab:5432/runs"), "postgresql://ana@db.lab:5432/runs");
  EXPECT_EQ(redact_postgres_uri("postgres://ana@db.lab/runs"), "postgres://ana@db.lab/runs");
  EXPECT_EQ(redact_postgres_uri("postgresql://db.lab:5432/runs"), "postgresql://db.lab:5432/runs");
  EXPECT_EQ(redact_postgres_uri("postgresql://ana:p%40ss@h/db?sslmode=require&password=x&connect_timeout=3"),
            "postgresql://ana@h/db?sslmode=require&connect_timeout=3");
  EXPECT_EQ(redact_postgres_uri("postgresql:///runs?host=/tmp&password=x"), "postgresql:///runs?host=/tmp");
}

TEST(PostgresUri, TestDatabasesReplaceThePath) {
  EXPECT_EQ(postgres_uri_with_database("postgresql://u@h:5/postgres", "t1"), "postgresql://u@h:5/t1");
  EXPECT_EQ(postgres_uri_with_database("postgresql://u@h:5", "t1"), "postgresql://u@h:5/t1");
  EXPECT_EQ(postgres_uri_with_database("postgresql://u@h:5/postgres?sslmode=disable", "t1"),
            "postgresql://u@h:5/t1?sslmode=disable");
  EXPECT_EQ(postgres_uri_with_database("postgresql://u@h?host=/tmp", "t1"), "postgresql://u@h/t1?host=/tmp");
}

// No server needed: nothing listens on port 1.
TEST(PostgresStoreOpen, AnUnreachableServerNamesTheUriAndTheFixButNotThePassword) {
  const std::string uri = "postgresql://ana:s3cret@127.0.0.1:1/runs?connect_timeout=5";
  auto store = Store::open(uri);
  ASSERT_FALSE(store.ok());
  const Status& s = store.status();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.to_string();
  EXPECT_NE(s.message().find("postgresql://ana@127.0.0.1:1/runs"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is the server running"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << "one line: " << s.message();
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    location_ = std::make_unique<TestStoreLocation>(StoreBackend::kPostgres);
    if (location_->skipped()) GTEST_SKIP() << location_->problem();
    ASSERT_EQ(location_->problem(), "");
  }
  std::unique_ptr<TestStoreLocation> location_;
};

TEST_F(PostgresStoreTest, AMissingDatabaseIsNotFoundAndNamed) {
  const std::string uri = postgres_uri_with_database(location_->location(), "wattlab_no_such_database");
  auto store = Store::open(uri);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kNotFound) << store.status().to_string();
  EXPECT_NE(store.status().message().find("wattlab_no_such_database"), std::string::npos);
  EXPECT_NE(store.status().message().find("createdb"), std::string::npos) << store.status().message();
}

// Several processes (here: threads with their own stores) opening a new
// database at once: one migrates, the others wait and find the schema made.
TEST_F(PostgresStoreTest, OpenersRacingOnANewDatabaseAllSucceed) {
  constexpr int kOpeners = 4;
  std::vector<std::string> failures(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto store = PostgresStore::open(location_->location());
      if (!store.ok()) {
        failures[i] = store.status().to_string();
        return;
      }
      auto version = (*store)->schema_version();
      if (!version.ok() || *version != PostgresStore::latest_schema_version()) failures[i] = "wrong schema version";
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kOpeners; ++i) EXPECT_EQ(failures[i], "") << "opener " << i;
  auto store = PostgresStore::open(location_->location());
  ASSERT_TRUE(store.ok());
  auto experiments = (*store)->list_experiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 1u) << "one Default experiment, however many openers";
  EXPECT_EQ((*experiments)[0].name, "Default");
}

// PostgreSQL text cannot hold NUL; the store refuses such a value instead of
// letting libpq cut it short.
TEST_F(PostgresStoreTest, ANulByteIsRefusedNotTruncated) {
  auto store = Store::open(location_->location());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto run = (*store)->create_run("0", "r", 1);
  ASSERT_TRUE(run.ok());
  Status s = (*store)->log_batch(run->run_id, {}, {{"note", std::string("a\0b", 3)}}, {});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("NUL"), std::string::npos) << s.message();
  auto data = (*store)->get_run(run->run_id);
  ASSERT_TRUE(data.ok());
  EXPECT_TRUE(data->params.empty());
}

// A server restart (here: the server ending every session of the database)
// costs the pooled connections; the next calls reconnect instead of failing.
TEST_F(PostgresStoreTest, PooledConnectionsEndedByTheServerAreReplaced) {
  auto store = Store::open(location_->location());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto run = (*store)->create_run("0", "r", 1);
  ASSERT_TRUE(run.ok());
  const std::string error = location_->raw_sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid()");
  ASSERT_EQ(error, "");
  Status s = (*store)->log_batch(run->run_id, {{"loss", 0.5, 2, 0}}, {}, {});
  EXPECT_TRUE(s.ok()) << s.to_string();
  auto data = (*store)->get_run(run->run_id);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->latest_metrics.at("loss").value, 0.5);
}

}  // namespace
}  // namespace wattlab
