#include "wattlab/track/environment.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "wattlab/core/subprocess.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

class EnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wattlab_environment_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc/sys/kernel");
    fs::create_directories(root_ / "proc/self");
    fs::create_directories(root_ / "etc");
    fs::create_directories(root_ / "not_a_repo");
    std::ofstream cpuinfo(root_ / "proc/cpuinfo");
    for (int i = 0; i < 6; ++i) {
      cpuinfo << "processor\t: " << i << "\nvendor_id\t: GenuineIntel\n"
              << "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\ncpu MHz\t\t: 2100.000\n\n";
    }
    std::ofstream(root_ / "proc/meminfo") << "MemTotal:       16303412 kB\nMemFree:         1234567 kB\n";
    std::ofstream(root_ / "proc/sys/kernel/osrelease") << "6.1.0-18-amd64\n";
    std::ofstream(root_ / "proc/sys/kernel/hostname") << "gpu-node-7\n";
    std::ofstream cmdline(root_ / "proc/self/cmdline", std::ios::binary);
    const char argv[] = "python3\0train.py\0--lr\0" "0.1\0--name\0my run\0";
    cmdline.write(argv, sizeof argv - 1);
    cmdline.close();
    std::ofstream(root_ / "etc/os-release")
        << "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  EnvironmentExtras extras() {
    EnvironmentExtras e;
    e.os_release_path = root_ / "etc/os-release";
    e.git_work_dir = root_ / "not_a_repo";
    return e;
  }

  fs::path root_;
  FakeClock clock_;
};

TEST_F(EnvironmentTest, ReadsTheMachineFromAFixtureProc) {
  Env env(root_ / "sys", root_ / "proc", &clock_);
  EnvironmentExtras e = extras();
  e.seed = 42;
  e.values = {{"libtorch_version", "2.1.2"}, {"threads", "8"}};
  auto snapshot = collect_environment(env, e);

  EXPECT_EQ(snapshot["cpu_model"], "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
  EXPECT_EQ(snapshot["cpu_count"], "6");
  EXPECT_EQ(snapshot["ram_gib"], "15.5");
  EXPECT_EQ(snapshot["os"], "Debian GNU/Linux 12 (bookworm) (kernel 6.1.0-18-amd64)");
  EXPECT_EQ(snapshot["hostname"], "gpu-node-7");
  EXPECT_EQ(snapshot["command_line"], "python3 train.py --lr 0.1 --name 'my run'");
  EXPECT_EQ(snapshot["seed"], "42");
  EXPECT_EQ(snapshot["libtorch_version"], "2.1.2");
  EXPECT_EQ(snapshot["threads"], "8");
  EXPECT_TRUE(snapshot["compiler"].rfind("gcc ", 0) == 0 || snapshot["compiler"].rfind("clang ", 0) == 0)
      << snapshot["compiler"];
  EXPECT_FALSE(snapshot["wattlab_version"].empty());
  EXPECT_EQ(snapshot.count("git_commit"), 0u) << "not a git work tree";
  EXPECT_EQ(snapshot.count("git_dirty"), 0u);
}

TEST_F(EnvironmentTest, GivenCommandLineAndExtrasOverrideCollectedValues) {
  Env env(root_ / "sys", root_ / "proc", &clock_);
  EnvironmentExtras e = extras();
  e.command_line = {"wattlab", "train", "--model", "mobilenet_v2"};
  e.values = {{"cpu_model", "Overridden"}};
  auto snapshot = collect_environment(env, e);
  EXPECT_EQ(snapshot["command_line"], "wattlab train --model mobilenet_v2");
  EXPECT_EQ(snapshot["cpu_model"], "Overridden");
  EXPECT_EQ(snapshot.count("seed"), 0u);
}

TEST_F(EnvironmentTest, MissingProcFilesAreLeftOut) {
  Env env(root_ / "sys", root_ / "empty_proc", &clock_);
  EnvironmentExtras e = extras();
  e.os_release_path = root_ / "etc/missing";
  auto snapshot = collect_environment(env, e);
  EXPECT_EQ(snapshot.count("cpu_model"), 0u);
  EXPECT_EQ(snapshot.count("cpu_count"), 0u);
  EXPECT_EQ(snapshot.count("ram_gib"), 0u);
  EXPECT_EQ(snapshot.count("os"), 0u);
  EXPECT_EQ(snapshot.count("command_line"), 0u);
  EXPECT_EQ(snapshot.count("compiler"), 1u);
}

TEST_F(EnvironmentTest, RecordsGitCommitAndDirtyFlag) {
  const fs::path repo = root_ / "repo";
  fs::create_directories(repo);
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@example.com"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_and_capture(argv);
  };
  auto init = git({"init", "-q"});
  if (!init.ok() || init->exit_code != 0) GTEST_SKIP() << "git is not available";
  std::ofstream(repo / "train.py") << "print('hi')\n";
  ASSERT_EQ(git({"add", "train.py"})->exit_code, 0);
  ASSERT_EQ(git({"commit", "-q", "-m", "init"})->exit_code, 0);
  std::string head = git({"rev-parse", "HEAD"})->stdout_text;
  head.erase(head.find_last_not_of('\n') + 1);
  ASSERT_EQ(head.size(), 40u);

  Env env(root_ / "sys", root_ / "proc", &clock_);
  EnvironmentExtras e = extras();
  e.git_work_dir = repo;
  auto clean = collect_environment(env, e);
  EXPECT_EQ(clean["git_commit"], head);
  EXPECT_EQ(clean["git_dirty"], "false");

  std::ofstream(repo / "train.py", std::ios::app) << "print('changed')\n";
  auto dirty = collect_environment(env, e);
  EXPECT_EQ(dirty["git_commit"], head);
  EXPECT_EQ(dirty["git_dirty"], "true");
}

}  // namespace
}  // namespace wattlab
