#include "wattlab/track/run_lease.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "wattlab/track/client.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNowMs = 1'700'000'100'000;
constexpr int64_t kStaleAfterMs = 60'000;

class RunLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wattlab_run_lease_test_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "proc/sys/kernel/random");
    std::ofstream(root_ / "proc/sys/kernel/random/boot_id") << "6f1c2d3e-0000-4000-8000-000000000001\n";
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A process of the fixture's /proc, in state `state`, started at `start` ticks.
  void process(int pid, char state, int start) {
    fs::create_directories(root_ / "proc" / std::to_string(pid));
    std::ofstream(root_ / "proc" / std::to_string(pid) / "stat", std::ios::trunc)
        << pid << " (wattlab (train)) " << state << " 1 " << pid << " " << pid
        << " 0 -1 4194304 100 0 0 0 50 7 0 0 20 0 3 0 " << start << " 1000 10\n";
  }

  // A run as read from a store: RUNNING, holder `holder`, heartbeat `beat_age_ms` ago (none if negative).
  RunData running(const std::string& holder, int64_t beat_age_ms) {
    RunData run;
    run.info.run_id = "0123456789abcdef0123456789abcdef";
    run.info.status = RunStatus::kRunning;
    if (!holder.empty()) run.tags[kLeaseTag] = holder;
    if (beat_age_ms >= 0) run.tags[kHeartbeatTag] = std::to_string(kNowMs - beat_age_ms);
    return run;
  }

  fs::path root_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
};

TEST_F(RunLeaseTest, HolderNamesTheProcessHostBootAndStartTime) {
  process(4242, 'S', 987654);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(lease_holder(*env_, 4242), "pid=4242 host=" + std::string(host) +
                                           " boot=6f1c2d3e-0000-4000-8000-000000000001 start=987654");
}

TEST_F(RunLeaseTest, ALiveHolderKeepsTheRunUntilItsHeartbeatIsStale) {
  process(4242, 'R', 987654);
  const std::string holder = lease_holder(*env_, 4242);
  Status held = check_run_lease_free(*env_, running(holder, 8'000), kNowMs, kStaleAfterMs);
  ASSERT_EQ(held.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(held.message().find("run 0123456789abcdef0123456789abcdef is being trained by process 4242 on "),
            std::string::npos)
      << held.message();
  EXPECT_NE(held.message().find("its last heartbeat was 8 s ago"), std::string::npos) << held.message();
  EXPECT_NE(held.message().find("retry in 53 s"), std::string::npos) << held.message();
  // No heartbeat yet: a trainer that is starting.
  EXPECT_EQ(check_run_lease_free(*env_, running(holder, -1), kNowMs, kStaleAfterMs).code(),
            Status::Code::kAlreadyExists);
  // A stale heartbeat frees it, whoever holds it.
  EXPECT_TRUE(check_run_lease_free(*env_, running(holder, 61'000), kNowMs, kStaleAfterMs).ok());
  // A run that ended is free.
  RunData finished = running(holder, 1'000);
  finished.info.status = RunStatus::kFinished;
  EXPECT_TRUE(check_run_lease_free(*env_, finished, kNowMs, kStaleAfterMs).ok());
}

TEST_F(RunLeaseTest, AHolderGoneFromThisMachineFreesTheRunAtOnce) {
  process(4242, 'S', 987654);
  const std::string holder = lease_holder(*env_, 4242);
  fs::remove_all(root_ / "proc/4242");  // kill -9
  EXPECT_TRUE(check_run_lease_free(*env_, running(holder, 2'000), kNowMs, kStaleAfterMs).ok());
  process(4242, 'S', 990000);  // the pid reused by another process
  EXPECT_TRUE(check_run_lease_free(*env_, running(holder, 2'000), kNowMs, kStaleAfterMs).ok());
  process(4242, 'Z', 987654);  // killed, not yet reaped
  EXPECT_TRUE(check_run_lease_free(*env_, running(holder, 2'000), kNowMs, kStaleAfterMs).ok());

  // The same pid on another machine, or before a reboot, proves nothing: only the heartbeat counts.
  fs::remove_all(root_ / "proc/4242");
  const std::string elsewhere = "pid=4242 host=another-node boot=6f1c2d3e-0000-4000-8000-000000000001 start=987654";
  EXPECT_EQ(check_run_lease_free(*env_, running(elsewhere, 2'000), kNowMs, kStaleAfterMs).code(),
            Status::Code::kAlreadyExists);
  std::ofstream(root_ / "proc/sys/kernel/random/boot_id", std::ios::trunc) << "another-boot\n";
  EXPECT_EQ(check_run_lease_free(*env_, running(holder, 2'000), kNowMs, kStaleAfterMs).code(),
            Status::Code::kAlreadyExists);
  // A run some other client keeps RUNNING, with no lease at all.
  EXPECT_NE(check_run_lease_free(*env_, running("", 2'000), kNowMs, kStaleAfterMs)
                .message()
                .find("another process (no wattlab lease recorded)"),
            std::string::npos);
}

TEST_F(RunLeaseTest, OfTwoTakersOfOneRunOneWins) {
  auto store = SqliteStore::open(":memory:");
  ASSERT_TRUE(store.ok());
  auto created = (*store)->create_run("0", "r", kNowMs - 50'000);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*store)->update_run(created->run_id, RunStatus::kFinished, kNowMs - 40'000).ok());
  auto read = (*store)->get_run(created->run_id);  // both takers read the run as it is now
  ASSERT_TRUE(read.ok());

  ASSERT_TRUE(take_run_lease(**store, *read, "pid=1 host=a boot=b start=1", kNowMs).ok());
  Status second = take_run_lease(**store, *read, "pid=2 host=a boot=b start=2", kNowMs + 5);
  EXPECT_EQ(second.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(second.message().find("was taken by another process a moment ago"), std::string::npos) << second.message();

  auto after = (*store)->get_run(created->run_id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->info.status, RunStatus::kRunning);
  EXPECT_FALSE(after->info.end_time_ms.has_value());
  EXPECT_EQ(after->tags.at(kLeaseTag), "pid=1 host=a boot=b start=1");
  EXPECT_EQ(after->tags.at(kHeartbeatTag), std::to_string(kNowMs));
  // Taken again from what is stored now (a stale or gone holder's run): the swap succeeds.
  EXPECT_TRUE(take_run_lease(**store, *after, "pid=3 host=a boot=b start=3", kNowMs + 90'000).ok());
  EXPECT_EQ((*store)->get_run(created->run_id)->tags.at(kLeaseTag), "pid=3 host=a boot=b start=3");
}

}  // namespace
}  // namespace wattlab
