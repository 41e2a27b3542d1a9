#include "wattlab/track/store_test_backend.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace wattlab {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUriVariable = "WATTLAB_TEST_POSTGRES_URI";

// Runs `sql` (no parameters) on the database at `uri`; "" or the error.
std::string run_postgres(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = "cannot connect to " + uri + ": " + PQerrorMessage(conn);
  } else {
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    PGresult* r = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

}  // namespace

void PrintTo(StoreBackend backend, std::ostream* os) { *os << (backend == StoreBackend::kSqlite ? "Sqlite" : "Postgres"); }

std::string store_backend_name(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param == StoreBackend::kSqlite ? "Sqlite" : "Postgres";
}

std::string postgres_test_skip_reason() {
  const char* uri = std::getenv(kUriVariable);
  if (uri != nullptr && *uri != '\0') return "";
  return std::string(kUriVariable) +
         " is not set, so the PostgreSQL store tests are skipped — run them with a throw-away server: "
         "scripts/with_postgres.sh ctest --test-dir build (or point " + kUriVariable +
         " at a server, e.g. postgresql://postgres@127.0.0.1:5432/postgres)";
}

std::string postgres_uri_with_database(const std::string& uri, const std::string& database) {
  const size_t authority = uri.find("://");
  const size_t start = authority == std::string::npos ? 0 : authority + 3;
  const size_t query = uri.find('?', start);
  const size_t path = uri.find('/', start);
  const size_t path_end = query == std::string::npos ? uri.size() : query;
  std::string rest = query == std::string::npos ? "" : uri.substr(query);
  if (path == std::string::npos || path > path_end) return uri.substr(0, path_end) + "/" + database + rest;
  return uri.substr(0, path) + "/" + database + rest;
}

TestStoreLocation::TestStoreLocation(StoreBackend backend) : backend_(backend) {
  static std::atomic<int> counter{0};
  const std::string unique = std::to_string(getpid()) + "_" + std::to_string(counter++);
  if (backend == StoreBackend::kSqlite) {
    dir_ = fs::temp_directory_path() / ("wattlab_store_test_" + unique);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    location_ = (dir_ / "wattlab.db").string();
    return;
  }
  problem_ = postgres_test_skip_reason();
  if (!problem_.empty()) {
    skipped_ = true;
    return;
  }
  admin_uri_ = std::getenv(kUriVariable);
  std::random_device rd;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  database_ = "wattlab_test_" + unique + "_" + suffix;
  problem_ = run_postgres(admin_uri_, "CREATE DATABASE " + database_);
  if (!problem_.empty()) {
    database_.clear();
    return;
  }
  location_ = postgres_uri_with_database(admin_uri_, database_);
}

TestStoreLocation::~TestStoreLocation() {
  if (!dir_.empty()) {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  if (!database_.empty()) {
    std::string error = run_postgres(admin_uri_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
    EXPECT_EQ(error, "") << "cannot drop the test database " << database_;
  }
}

std::string TestStoreLocation::artifact_root() const {
  if (backend_ == StoreBackend::kSqlite) return (fs::absolute(dir_).lexically_normal() / "artifacts").string();
  return fs::absolute("artifacts").lexically_normal().string();
}

std::string TestStoreLocation::raw_sql(const std::string& sql) const {
  if (backend_ == StoreBackend::kPostgres) return run_postgres(location_, sql);
  sqlite3* db = nullptr;
  if (sqlite3_open(location_.c_str(), &db) != SQLITE_OK) {
    std::string error = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return error;
  }
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string error = rc == SQLITE_OK ? "" : (err ? err : "error");
  sqlite3_free(err);
  sqlite3_close(db);
  return error;
}

void StoreBackendTest::SetUp() {
  location_ = std::make_unique<TestStoreLocation>(GetParam());
  if (location_->skipped()) GTEST_SKIP() << location_->problem();
  ASSERT_EQ(location_->problem(), "");
}

std::unique_ptr<Store> StoreBackendTest::open_store() {
  auto store = Store::open(location_->location(), &clock_);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

void StoreBackendTest::raw_sql(const std::string& sql) {
  std::string error = location_->raw_sql(sql);
  ASSERT_EQ(error, "") << sql;
}

}  // namespace wattlab
