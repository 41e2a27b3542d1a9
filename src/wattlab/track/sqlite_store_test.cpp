#include "wattlab/track/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000'000;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("wattlab_store_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "wattlab.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> open_store() {
    auto store = Store::open(path_, &clock_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  fs::path dir_;
  std::string path_;
  FakeClock clock_{0, kT0};
};

TEST_F(SqliteStoreTest, UnwritablePathFailsWithTheFixAndCreatesNothing) {
  const std::string in_proc = "/proc/wattlab_store_test_" + std::to_string(getpid()) + ".db";
  auto proc = Store::open(in_proc, &clock_);
  ASSERT_FALSE(proc.ok());
  EXPECT_TRUE(proc.status().code() == Status::Code::kPermissionDenied ||
              proc.status().code() == Status::Code::kIoError)
      << proc.status().to_string();
  EXPECT_NE(proc.status().message().find(in_proc), std::string::npos) << proc.status().message();
  EXPECT_NE(proc.status().message().find("--store"), std::string::npos) << proc.status().message();
  EXPECT_EQ(proc.status().message().find('\n'), std::string::npos) << "one line";
  EXPECT_FALSE(fs::exists(in_proc));

  const std::string no_parent = (dir_ / "missing" / "wattlab.db").string();
  auto missing = Store::open(no_parent, &clock_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(no_parent), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "missing"));

}

// Opening a store in a folder the user cannot write. Root ignores folder
// permissions, so as root the open runs in a child that drops to "nobody".
TEST_F(SqliteStoreTest, ReadOnlyFolderIsPermissionDeniedAndCreatesNothing) {
  fs::path ro = dir_ / "ro";
  fs::create_directories(ro);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                          fs::perms::others_exec);
  const std::string ro_path = (ro / "wattlab.db").string();
  auto check = [&]() -> std::string {  // empty when every expectation holds
    auto denied = Store::open(ro_path, &clock_);
    if (denied.ok()) return "opened";
    const Status& s = denied.status();
    if (s.code() != Status::Code::kPermissionDenied) return "code: " + s.to_string();
    if (s.message().find(ro_path) == std::string::npos) return "path missing: " + s.message();
    if (s.message().find("WATTLAB_STORE") == std::string::npos) return "fix missing: " + s.message();
    if (s.message().find("permission denied") == std::string::npos) return "reason missing: " + s.message();
    return "";
  };
  if (geteuid() != 0) {
    EXPECT_EQ(check(), "");
  } else {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
      std::string problem = check();
      if (!problem.empty()) std::fprintf(stderr, "%s\n", problem.c_str());
      _exit(problem.empty() ? 0 : 1);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    ASSERT_NE(WEXITSTATUS(wstatus), 2) << "could not switch to user nobody";
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "see the child's message above";
  }
  fs::permissions(ro, fs::perms::owner_all);
  EXPECT_TRUE(fs::is_empty(ro));
}

TEST_F(SqliteStoreTest, AFileThatIsNotAStoreIsCorruptAndLeftAlone) {
  std::ofstream(path_) << "this is not a database, it is a shopping list\n";
  auto store = Store::open(path_, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorrupt) << store.status().to_string();
  EXPECT_NE(store.status().message().find(path_), std::string::npos);
  EXPECT_TRUE(fs::exists(path_));
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Another application's database: refused, and not one byte of it changed
// (no wattlab tables, no switch to WAL, no -wal file).
TEST_F(SqliteStoreTest, AnotherApplicationsDatabaseIsRefusedUntouched) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); "
                             "INSERT INTO invoices VALUES (1, 99.5); CREATE TABLE customers (name TEXT)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = file_bytes(path_);

  auto store = Store::open(path_, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument) << store.status().to_string();
  EXPECT_NE(store.status().message().find("customers, invoices"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("not a wattlab store"), std::string::npos) << store.status().message();
  EXPECT_EQ(file_bytes(path_), before);
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  EXPECT_FALSE(fs::exists(path_ + "-shm"));
}

// Another process creating the store right now has made some of wattlab's
// tables only: that is a store, not a foreign database.
TEST_F(SqliteStoreTest, AStoreHalfwayThroughItsCreationIsOpened) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE schema_version (version INTEGER NOT NULL)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->get_or_create_experiment("x").ok());
}

TEST_F(SqliteStoreTest, AnEmptyFileIsRefusedUntouched) {
  std::ofstream(path_).close();
  auto store = Store::open(path_, &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument) << store.status().to_string();
  EXPECT_NE(store.status().message().find("empty"), std::string::npos) << store.status().message();
  EXPECT_EQ(fs::file_size(path_), 0u);
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  // A new file, and a wattlab store, still open.
  fs::remove(path_);
  ASSERT_NE(open_store(), nullptr);
  ASSERT_NE(open_store(), nullptr);
}

TEST_F(SqliteStoreTest, LocationsAcceptPathsAndSqliteUris) {
  EXPECT_EQ(*sqlite_path_from_location("wattlab.db"), "wattlab.db");
  EXPECT_EQ(*sqlite_path_from_location("/data/runs.db"), "/data/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:///rel/runs.db"), "rel/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:////abs/runs.db"), "/abs/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite:////abs/runs.db?timeout=5"), "/abs/runs.db");
  EXPECT_EQ(*sqlite_path_from_location("sqlite://"), ":memory:");
  EXPECT_EQ(sqlite_path_from_location("sqlite:/x.db").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sqlite_path_from_location("mysql://h/db").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sqlite_path_from_location("postgresql://h/db").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sqlite_tracking_uri("/abs/runs.db"), "sqlite:////abs/runs.db");

  const std::string uri = sqlite_tracking_uri(path_);
  auto store = Store::open(uri, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto exp = (*store)->get_or_create_experiment("via-uri");
  ASSERT_TRUE(exp.ok());
  store->reset();
  EXPECT_TRUE(fs::exists(path_));
  auto reopened = Store::open(path_, &clock_);
  ASSERT_TRUE(reopened.ok());
  auto experiments = (*reopened)->list_experiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 2u);
  EXPECT_EQ((*experiments)[1].name, "via-uri");

  auto relative = Store::open("sqlite:///no_such_folder_here/x.db", &clock_);
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.status().message().find("sqlite:////absolute/path.db"), std::string::npos)
      << relative.status().message();

  auto memory = Store::open(":memory:", &clock_);
  ASSERT_TRUE(memory.ok()) << memory.status().to_string();
  EXPECT_TRUE((*memory)->get_or_create_experiment("m").ok());
}

}  // namespace
}  // namespace wattlab
