// What an acknowledged write survives (store.h's Durability), tested against
// a simulated power loss: a VFS over SQLite's "unix" one remembers each
// file's content as of its last sync, and a "crash" puts every file back to
// that content (the -shm file, never synced, is lost) before the store is
// reopened. Group commit is exercised by writers on several threads.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

// The VFS "wattlab-power-loss": "unix" underneath, plus each file's durable
// content (as of its last xSync through any handle; a file's content when
// first opened counts as durable).
class PowerLossVfs {
 public:
  static constexpr const char* kName = "wattlab-power-loss";

  static PowerLossVfs& instance() {
    static PowerLossVfs vfs;
    return vfs;
  }
  // Every file's durable content now.
  std::map<std::string, std::string> durable() {
    std::lock_guard lock(mu_);
    return durable_;
  }
  // Puts every file back to `images` and drops the -shm files: what the disk
  // holds after a power loss at the moment `images` was taken.
  static void crash_to(const std::map<std::string, std::string>& images) {
    for (const auto& [path, content] : images) {
      if (path.size() > 4 && path.compare(path.size() - 4, 4, "-shm") == 0) continue;
      std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    }
    for (const auto& [path, content] : images) {
      if (path.size() > 4 && path.compare(path.size() - 4, 4, "-shm") == 0) fs::remove(path);
    }
  }

 private:
  struct File {
    sqlite3_file base;   // pMethods: kMethods
    sqlite3_file* real;  // the "unix" file underneath
    std::string* path;
  };

  PowerLossVfs() {
    real_ = sqlite3_vfs_find("unix");
    vfs_ = *real_;
    vfs_.zName = kName;
    vfs_.szOsFile = sizeof(File);
    vfs_.pNext = nullptr;
    vfs_.xOpen = &PowerLossVfs::open;
    vfs_.xDelete = [](sqlite3_vfs*, const char* name, int sync_dir) {
      return instance().real_->xDelete(instance().real_, name, sync_dir);
    };
    vfs_.xAccess = [](sqlite3_vfs*, const char* name, int flags, int* out) {
      return instance().real_->xAccess(instance().real_, name, flags, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs*, const char* name, int n, char* out) {
      return instance().real_->xFullPathname(instance().real_, name, n, out);
    };
    vfs_.xDlOpen = nullptr;
    vfs_.xDlError = nullptr;
    vfs_.xDlSym = nullptr;
    vfs_.xDlClose = nullptr;
    vfs_.xRandomness = [](sqlite3_vfs*, int n, char* out) { return instance().real_->xRandomness(instance().real_, n, out); };
    vfs_.xSleep = [](sqlite3_vfs*, int us) { return instance().real_->xSleep(instance().real_, us); };
    vfs_.xCurrentTime = [](sqlite3_vfs*, double* out) { return instance().real_->xCurrentTime(instance().real_, out); };
    vfs_.xGetLastError = [](sqlite3_vfs*, int n, char* out) {
      return instance().real_->xGetLastError(instance().real_, n, out);
    };
    vfs_.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) {
      return instance().real_->xCurrentTimeInt64(instance().real_, out);
    };
    vfs_.iVersion = 2;
    sqlite3_vfs_register(&vfs_, 0);
  }

  // The file's whole content, read through `real`.
  static std::string content(sqlite3_file* real) {
    sqlite3_int64 size = 0;
    real->pMethods->xFileSize(real, &size);
    std::string out(static_cast<size_t>(size), '\0');
    if (size > 0) real->pMethods->xRead(real, out.data(), static_cast<int>(size), 0);
    return out;
  }

  static int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    PowerLossVfs& self = instance();
    auto* f = reinterpret_cast<File*>(file);
    f->base.pMethods = nullptr;
    f->real = static_cast<sqlite3_file*>(sqlite3_malloc(self.real_->szOsFile));
    std::memset(f->real, 0, static_cast<size_t>(self.real_->szOsFile));
    const int rc = self.real_->xOpen(self.real_, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
      sqlite3_free(f->real);
      return rc;
    }
    f->path = new std::string(name ? name : "");
    f->base.pMethods = &kMethods;
    std::lock_guard lock(self.mu_);
    if (!self.durable_.count(*f->path)) self.durable_[*f->path] = content(f->real);
    return SQLITE_OK;
  }

  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static const sqlite3_io_methods kMethods;

  std::mutex mu_;
  std::map<std::string, std::string> durable_;  // path -> content as of its last sync
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
};

const sqlite3_io_methods PowerLossVfs::kMethods = {
    2,
    [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      const int rc = file->real->pMethods->xClose(file->real);
      sqlite3_free(file->real);
      delete file->path;
      return rc;
    },
    [](sqlite3_file* f, void* out, int n, sqlite3_int64 at) { return real(f)->pMethods->xRead(real(f), out, n, at); },
    [](sqlite3_file* f, const void* in, int n, sqlite3_int64 at) { return real(f)->pMethods->xWrite(real(f), in, n, at); },
    [](sqlite3_file* f, sqlite3_int64 size) { return real(f)->pMethods->xTruncate(real(f), size); },
    [](sqlite3_file* f, int flags) {
      const int rc = real(f)->pMethods->xSync(real(f), flags);
      if (rc == SQLITE_OK) {
        PowerLossVfs& self = instance();
        std::string now = content(real(f));
        std::lock_guard lock(self.mu_);
        self.durable_[*reinterpret_cast<File*>(f)->path] = std::move(now);
      }
      return rc;
    },
    [](sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); },
    [](sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); },
    [](sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); },
    [](sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); },
    [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); },
    [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
    },
    [](sqlite3_file* f, int offset, int n, int flags) { return real(f)->pMethods->xShmLock(real(f), offset, n, flags); },
    [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); },
    [](sqlite3_file* f, int remove) { return real(f)->pMethods->xShmUnmap(real(f), remove); },
    nullptr,
    nullptr,
};

constexpr int kBatches = 40;
constexpr int kPointsPerBatch = 50;
constexpr int kWriters = 4;

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PowerLossVfs::instance();
    dir_ = fs::temp_directory_path() / ("wattlab_durability_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "wattlab.db").string();
    // A store made and closed cleanly beforehand, with one run per writer.
    auto store = SqliteStore::open(path_);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int w = 0; w < kWriters; ++w) {
      auto run = (*store)->create_run("0", "writer" + std::to_string(w), 1);
      ASSERT_TRUE(run.ok());
      runs_.push_back(run->run_id);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Opens the store with `durability` on the power-loss VFS, logs from
  // kWriters threads at once, takes the disk's durable state right after the
  // last acknowledgement, closes the store, and puts the files back to that
  // state. The points acknowledged, per writer.
  std::vector<int> log_then_lose_power(Durability durability) {
    std::vector<int> acknowledged(kWriters, 0);
    std::map<std::string, std::string> at_power_loss;
    {
      auto store = SqliteStore::open(path_, nullptr, {.durability = durability, .vfs = PowerLossVfs::kName});
      EXPECT_TRUE(store.ok()) << store.status().to_string();
      if (!store.ok()) return acknowledged;
      std::vector<std::thread> writers;
      for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
          for (int b = 0; b < kBatches; ++b) {
            std::vector<Metric> batch;
            for (int i = 0; i < kPointsPerBatch; ++i) {
              const int step = b * kPointsPerBatch + i;
              batch.push_back({"loss", 1.0 / (step + 1), 1000 + step, step});
            }
            if (!(*store)->log_batch(runs_[static_cast<size_t>(w)], batch, {}, {}).ok()) return;
            acknowledged[static_cast<size_t>(w)] = (b + 1) * kPointsPerBatch;
          }
        });
      }
      for (auto& t : writers) t.join();
      at_power_loss = PowerLossVfs::instance().durable();
    }  // the store closes (and checkpoints): none of that reached the disk
    PowerLossVfs::crash_to(at_power_loss);
    return acknowledged;
  }

  fs::path dir_;
  std::string path_;
  std::vector<std::string> runs_;
};

TEST_F(DurabilityTest, EveryAcknowledgedWriteSurvivesAPowerLossByDefault) {
  const std::vector<int> acknowledged = log_then_lose_power(StoreOptions().durability);
  auto store = SqliteStore::open(path_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_EQ(acknowledged[static_cast<size_t>(w)], kBatches * kPointsPerBatch);
    auto history = (*store)->get_metric_history(runs_[static_cast<size_t>(w)], "loss");
    ASSERT_TRUE(history.ok()) << history.status().to_string();
    ASSERT_EQ(static_cast<int>(history->size()), acknowledged[static_cast<size_t>(w)]) << "writer " << w;
    for (int step = 0; step < static_cast<int>(history->size()); ++step) ASSERT_EQ((*history)[step].step, step);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* check = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
  sqlite3_finalize(check);
  sqlite3_close(db);
}

// The simulation is not vacuous: without the sync (the old default), the
// same power loss takes acknowledged writes.
TEST_F(DurabilityTest, ProcessCrashDurabilityLosesAcknowledgedWritesInAPowerLoss) {
  const std::vector<int> acknowledged = log_then_lose_power(Durability::kProcessCrash);
  auto store = SqliteStore::open(path_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  int lost = 0;
  for (int w = 0; w < kWriters; ++w) {
    auto history = (*store)->get_metric_history(runs_[static_cast<size_t>(w)], "loss");
    ASSERT_TRUE(history.ok());
    lost += acknowledged[static_cast<size_t>(w)] - static_cast<int>(history->size());
  }
  EXPECT_GT(lost, 0);
}

}  // namespace
}  // namespace wattlab
