#include "wattlab/energy/process_cpu_share.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace wattlab {
namespace {

class ProcessCpuShareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("wattlab_cpu_share_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "proc");
    std::filesystem::create_directories(root_ / "sys");
    std::filesystem::create_directories(root_ / "proc/self");  // not a pid: ignored
    env_ = std::make_unique<Env>(root_ / "sys", root_ / "proc", &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // user nice system idle iowait irq softirq steal
  void machine(uint64_t user, uint64_t system, uint64_t idle, uint64_t steal = 0) {
    std::ofstream(root_ / "proc/stat", std::ios::trunc)
        << "cpu  " << user << " 0 " << system << " " << idle << " 0 0 0 " << steal << " 0 0\ncpu0 1 0 0 1\n";
  }
  void process(int pid, int ppid, const std::string& comm, uint64_t utime, uint64_t stime, uint64_t cutime = 0,
               uint64_t cstime = 0) {
    std::filesystem::create_directories(root_ / "proc" / std::to_string(pid));
    std::ofstream(root_ / "proc" / std::to_string(pid) / "stat", std::ios::trunc)
        << pid << " (" << comm << ") S " << ppid << " " << pid << " " << pid << " 0 -1 4194304 100 0 0 0 " << utime
        << " " << stime << " " << cutime << " " << cstime << " 20 0 1 0 100 1000 10\n";
  }
  void gone(int pid) { std::filesystem::remove_all(root_ / "proc" / std::to_string(pid)); }

  std::filesystem::path root_;
  FakeClock clock_;
  std::unique_ptr<Env> env_;
};

TEST_F(ProcessCpuShareTest, TreeShareOfTheMachine) {
  machine(1000, 500, 8500);
  process(1, 0, "systemd", 50, 50);
  process(100, 1, "python3", 100, 10);
  process(101, 100, "data (worker) 1", 40, 0);
  process(102, 101, "nvcc", 5, 5);
  process(200, 1, "unrelated", 300, 0);
  auto before = read_process_tree_cpu_times(*env_, 100);
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  EXPECT_EQ(before->processes, 3);
  EXPECT_EQ(before->tree_ticks, 160u);
  EXPECT_EQ(before->busy_ticks, 1500u);
  EXPECT_EQ(before->total_ticks, 10000u);

  // 1000 ticks pass machine-wide, 400 of them busy; the tree uses 230: 100
  // +90, 101 +20, and 102 +120 before it exits and is reaped by 101 (its 130
  // ticks in all move to 101's cutime, so nothing is lost).
  machine(1300, 600, 9100);
  process(100, 1, "python3", 180, 20);
  process(101, 100, "data (worker) 1", 60, 0, 130, 0);
  gone(102);
  process(200, 1, "unrelated", 450, 0);
  auto after = read_process_tree_cpu_times(*env_, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->processes, 2);
  EXPECT_EQ(after->tree_ticks, 200u + 190u);
  EXPECT_DOUBLE_EQ(cpu_share(*before, *after), 230.0 / 1000.0);
  EXPECT_DOUBLE_EQ(cpu_busy_share(*before, *after), 230.0 / 400.0);
  // Of the 400 busy ticks, 170 were outside the tree.
  EXPECT_DOUBLE_EQ(other_cpu_share(*before, *after), 170.0 / 1000.0);
}

TEST_F(ProcessCpuShareTest, NoTimePassedGivesZero) {
  machine(10, 10, 10);
  process(7, 1, "x", 1, 1);
  auto a = read_process_tree_cpu_times(*env_, 7);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(cpu_share(*a, *a), 0.0);
  EXPECT_EQ(cpu_busy_share(*a, *a), 0.0);
  EXPECT_EQ(other_cpu_share(*a, *a), 0.0);
}

TEST_F(ProcessCpuShareTest, MissingRootOrStatAreErrors) {
  machine(10, 10, 10);
  auto missing = read_process_tree_cpu_times(*env_, 4242);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("process 4242 not found"), std::string::npos);
  std::filesystem::remove(root_ / "proc/stat");
  process(7, 1, "x", 1, 1);
  auto no_stat = read_process_tree_cpu_times(*env_, 7);
  ASSERT_FALSE(no_stat.ok());
  EXPECT_NE(no_stat.status().message().find((root_ / "proc/stat").string()), std::string::npos);
}

}  // namespace
}  // namespace wattlab
