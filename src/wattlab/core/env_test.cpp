#include "wattlab/core/env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace wattlab {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("wattlab_env_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(root_ / "sys/class/powercap/intel-rapl:0");
    std::ofstream(root_ / "sys/class/powercap/intel-rapl:0/name") << "package-0\n";
    std::filesystem::create_directories(root_ / "proc");
    std::ofstream(root_ / "proc/stat") << "cpu  1 2 3 4\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
  FakeClock clock_;
};

TEST_F(EnvTest, ReadsUnderTheGivenRoots) {
  Env env(root_ / "sys", root_ / "proc", &clock_);
  auto name = Env::read_file(env.sysfs_path("class/powercap/intel-rapl:0/name"));
  ASSERT_TRUE(name.ok()) << name.status().to_string();
  EXPECT_EQ(*name, "package-0\n");
  auto stat = Env::read_file(env.proc_path("stat"));
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(*stat, "cpu  1 2 3 4\n");
  auto zones = Env::list_dir(env.sysfs_path("class/powercap"));
  ASSERT_TRUE(zones.ok());
  EXPECT_EQ(*zones, std::vector<std::string>{"intel-rapl:0"});
}

TEST_F(EnvTest, MissingFileIsNotFoundAndNamesThePath) {
  auto r = Env::read_file(root_ / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find((root_ / "nope").string()), std::string::npos);
  EXPECT_EQ(Env::list_dir(root_ / "nodir").status().code(), Status::Code::kNotFound);
}

TEST_F(EnvTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file; permission is tested as a user";
  auto path = root_ / "secret";
  std::ofstream(path) << "1";
  std::filesystem::permissions(path, std::filesystem::perms::none);
  EXPECT_EQ(Env::read_file(path).status().code(), Status::Code::kPermissionDenied);
}

TEST_F(EnvTest, RereadableFileSeesEachNewContentWhole) {
  auto path = root_ / "counter";
  std::ofstream(path) << "123\n";
  auto file = RereadableFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto first = file->read();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "123\n");
  // Rewritten in place, longer than the first buffer: read again whole.
  const std::string big(10'000, 'x');
  std::ofstream(path, std::ios::trunc) << big;
  auto second = file->read();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, big);
  RereadableFile moved = std::move(*file);
  std::ofstream(path, std::ios::trunc) << "7";
  EXPECT_EQ(*moved.read(), "7");
  EXPECT_EQ(RereadableFile::open(root_ / "nope").status().code(), Status::Code::kNotFound);
}

TEST_F(EnvTest, RereadableFileReadsTheHeadInOneGo) {
  auto path = root_ / "stat";
  std::ofstream(path) << "cpu  1 2 3 4\ncpu0 1 2 3 4\n";
  auto file = RereadableFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(*file->read_head(8), "cpu  1 2");
  EXPECT_EQ(*file->read_head(100), "cpu  1 2 3 4\ncpu0 1 2 3 4\n");  // shorter than asked: the whole file
  std::ofstream(path, std::ios::trunc) << "cpu  5 6 7 8\n";
  EXPECT_EQ(*file->read_head(100), "cpu  5 6 7 8\n");  // rewritten: read afresh from the start
  EXPECT_EQ(*file->read(), "cpu  5 6 7 8\n");
}

TEST_F(EnvTest, RereadableFileReadsProcStat) {
  auto file = RereadableFile::open("/proc/stat");
  if (!file.ok()) GTEST_SKIP() << "no /proc/stat here";
  auto a = file->read();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->substr(0, 4), "cpu ");
  auto b = file->read();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->substr(0, 4), "cpu ");  // read again from the start, not from where the last read ended
}

TEST(EnvSystemTest, HonoursWattlabSysfsRoot) {
  // Env::system() is built once per process; this test binary sets nothing,
  // so it sees the real roots unless the runner exported the variables.
  const char* sys = std::getenv("WATTLAB_SYSFS_ROOT");
  EXPECT_EQ(Env::system().sysfs_root(), std::filesystem::path(sys && *sys ? sys : "/sys"));
}

}  // namespace
}  // namespace wattlab
