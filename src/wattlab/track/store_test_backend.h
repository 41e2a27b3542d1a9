// Test support (not part of wattlab_track): the store back ends the store
// tests are parameterised over, and a fresh, empty store for each test.
//
// SQLite: a store file in a new temporary folder. PostgreSQL: a new database
// wattlab_test_<pid>_<n>_<random> on the server named by the environment
// variable WATTLAB_TEST_POSTGRES_URI (e.g. postgresql://postgres@127.0.0.1:5432/postgres),
// dropped again at the end of the test; without the variable, PostgreSQL
// tests are skipped with a message saying how to run them
// (scripts/with_postgres.sh ctest ...).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "wattlab/core/clock.h"
#include "wattlab/track/store.h"

namespace wattlab {

enum class StoreBackend { kSqlite, kPostgres };

// "Sqlite" / "Postgres", for test names and gtest's messages.
void PrintTo(StoreBackend backend, std::ostream* os);
// "Sqlite" / "Postgres", for test names.
std::string store_backend_name(const ::testing::TestParamInfo<StoreBackend>& info);

// Why PostgreSQL tests cannot run here (the variable is unset), or "".
std::string postgres_test_skip_reason();

// `uri` (a postgresql:// URI) naming database `database` instead of its own.
std::string postgres_uri_with_database(const std::string& uri, const std::string& database);

// One fresh store location; removes the folder / drops the database when
// destroyed (close every store on it first, or let the drop end them).
class TestStoreLocation {
 public:
  explicit TestStoreLocation(StoreBackend backend);
  ~TestStoreLocation();
  TestStoreLocation(const TestStoreLocation&) = delete;
  TestStoreLocation& operator=(const TestStoreLocation&) = delete;

  // Empty when the location is ready; otherwise why it is not (a skip
  // reason, or a failure to create the database).
  const std::string& problem() const { return problem_; }
  // True when the problem is only that PostgreSQL is not configured.
  bool skipped() const { return skipped_; }

  StoreBackend backend() const { return backend_; }
  // What Store::open takes: the file path or the database's URI.
  const std::string& location() const { return location_; }
  // SQLite: the folder holding the file; PostgreSQL: empty.
  const std::filesystem::path& dir() const { return dir_; }
  // Where the store makes experiments' default artifact locations.
  std::string artifact_root() const;

  // Runs SQL on the store's database behind the store's back (to set up
  // states the API cannot produce); the error text, or "" on success.
  std::string raw_sql(const std::string& sql) const;

 private:
  StoreBackend backend_;
  std::string problem_;
  bool skipped_ = false;
  std::string location_;
  std::filesystem::path dir_;
  std::string admin_uri_;  // PostgreSQL: the server's URI, for CREATE/DROP DATABASE
  std::string database_;   // PostgreSQL: the test's database
};

// A fixture parameterised over the back ends: a fresh location per test
// (PostgreSQL tests skip when the server is not configured) and a fake clock.
class StoreBackendTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  // Opens the test's store (ADD_FAILURE and nullptr on failure).
  std::unique_ptr<Store> open_store();
  // Runs SQL behind the store's back; fails the test on an error.
  void raw_sql(const std::string& sql);

  static constexpr int64_t kT0 = 1'700'000'000'000;
  std::unique_ptr<TestStoreLocation> location_;  // declared first: outlives the stores below
  FakeClock clock_{0, kT0};
};

}  // namespace wattlab
