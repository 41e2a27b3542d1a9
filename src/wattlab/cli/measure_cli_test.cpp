// End-to-end tests of `wattlab measure` as a user meets it: the CPU share
// and attributed energy of a workload whose share the test sets, what is
// said on stderr (once, or nothing with --quiet), and what is stored of the
// estimator's assumptions.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/cli_testing.h"
#include "wattlab/track/store.h"

extern char** environ;

namespace wattlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::count_lines;

// A machine made of files: a powercap package counter at 1 J under sys/, and
// under proc/ two logical "AMD EPYC" CPUs, 16 GiB and an aggregate cpu line.
class MeasureCliTest : public testing::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    const fs::path zone = dir_ / "sys/class/powercap/intel-rapl:0";
    fs::create_directories(zone);
    std::ofstream(zone / "name") << "package-0\n";
    std::ofstream(zone / "max_energy_range_uj") << "262143328850\n";
    std::ofstream(zone / "energy_uj") << "1000000\n";
    counter_ = (zone / "energy_uj").string();
    proc_ = dir_ / "proc";
    fs::create_directories(proc_);
    std::ofstream(proc_ / "cpuinfo") << "processor\t: 0\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n\n";
    std::ofstream(proc_ / "meminfo") << "MemTotal:       16777216 kB\n";
    write_proc_stat(1000, 9000);
  }
  // The machine's aggregate CPU time, in ticks: busy (as user) and idle.
  void write_proc_stat(uint64_t user, uint64_t idle) {
    std::ofstream(proc_ / "stat", std::ios::trunc) << "cpu  " << user << " 0 0 " << idle << " 0 0 0 0 0 0\n";
  }
  std::string fixture_env() const {
    return "WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string() + " WATTLAB_PROC_ROOT=" + proc_.string();
  }

  std::string counter_;
  fs::path proc_;
};

// "/proc/<pid>/stat" of a process with `ticks` of user time.
std::string proc_stat_line(int pid, int ppid, uint64_t ticks) {
  return std::to_string(pid) + " (proc) S " + std::to_string(ppid) + " 1 1 0 -1 0 0 0 0 0 " + std::to_string(ticks) +
         " 0 0 0 20 0 1 0 100\n";
}

TEST_F(MeasureCliTest, CpuShareAndAttributedEnergyOfAWorkloadWhoseShareTheTestSets) {
  // wattlab's pid is known before it runs: it is the forked child's, which
  // waits on a pipe until its process entry is in the fixture.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const std::string binary = WATTLAB_BINARY;
  const std::string out = (dir_ / "out.json").string();
  // While it runs, the measured command puts in place what the test wrote:
  // the package counter 14 J further, wattlab's own CPU time 100 ticks more,
  // a child of wattlab with 150 ticks, and the machine 1000 ticks further
  // (400 of them busy) — a share of (100 + 150) / 1000.
  const fs::path after = dir_ / "after";
  const std::string command = "echo 15000000 > " + counter_ + " && cp " + (after / "parent").string() + " " +
                              proc_.string() + "/$PPID/stat && mkdir -p " + (proc_ / "999999").string() + " && cp " +
                              (after / "child").string() + " " + (proc_ / "999999/stat").string() + " && cp " +
                              (after / "stat").string() + " " + (proc_ / "stat").string() + " && sleep 0.3";
  std::vector<std::string> args = {binary, "measure", "--store", store_, "--format", "json", "--", "sh", "-c", command};
  std::vector<std::string> env_strings = {"WATTLAB_SYSFS_ROOT=" + (dir_ / "sys").string(),
                                          "WATTLAB_PROC_ROOT=" + proc_.string(),
                                          "WATTLAB_STATE_DIR=" + (dir_ / "state").string(), "PATH=/usr/bin:/bin"};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char byte;
    close(go[1]);
    if (read(go[0], &byte, 1) != 1) _exit(127);
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(go[0]);
  fs::create_directories(proc_ / std::to_string(pid));
  std::ofstream(proc_ / std::to_string(pid) / "stat") << proc_stat_line(pid, 1, 100);
  fs::create_directories(after);
  std::ofstream(after / "parent") << proc_stat_line(pid, 1, 200);
  std::ofstream(after / "child") << proc_stat_line(999999, pid, 150);
  std::ofstream(after / "stat") << "cpu  1400 0 0 9600 0 0 0 0 0 0\n";
  ASSERT_EQ(write(go[1], "x", 1), 1);
  close(go[1]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << testing::slurp(out);

  json summary = json::parse(testing::slurp(out));
  EXPECT_DOUBLE_EQ(summary["cpu_share"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(summary["cpu_energy_attributed_j"].get<double>(), 3.5) << "a quarter of the package's 14 J";
  auto store = std::move(Store::open(store_)).value();
  auto run = store->get_run(summary["run_id"]);
  ASSERT_TRUE(run.ok());
  EXPECT_DOUBLE_EQ(run->latest_metrics.at("cpu_share").value, 0.25);
  EXPECT_DOUBLE_EQ(run->latest_metrics.at("cpu_energy_attributed_j").value, 3.5);
}

TEST_F(MeasureCliTest, TheCommandsOwnOptionsWithoutDashDashGetAHint) {
  auto r = wattlab("measure --store " + store_ + " python3 -c 'print(1)'", fixture_env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("-c"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("put the command after --: wattlab measure [OPTIONS] -- CMD ARGS..."), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(store_));
}

TEST_F(MeasureCliTest, NotesAreSaidOnceUntilDevicesAndNeverWithQuiet) {
  // No NVML library here: make_meters notes it (and the RAM estimate).
  const std::string env = fixture_env() + " WATTLAB_NVML_LIBRARY=libwattlab-no-such-nvml.so.1";
  auto first = wattlab("measure --store " + store_ + " -- true", env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("wattlab: note: nvml: "), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("shown once; `wattlab devices` explains"), std::string::npos) << first.err;
  auto second = wattlab("measure --store " + store_ + " -- true", env);
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.err.find("note:"), std::string::npos) << second.err;
  ASSERT_EQ(wattlab("devices", env).exit_code, 0);
  auto after_devices = wattlab("measure --store " + store_ + " -- true", env);
  EXPECT_NE(after_devices.err.find("wattlab: note: nvml: "), std::string::npos) << after_devices.err;
  ASSERT_EQ(wattlab("devices", env).exit_code, 0);
  auto quiet = wattlab("measure --quiet --store " + store_ + " -- true", env);
  ASSERT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "") << "no notes and no summary";
  EXPECT_EQ(quiet.out, "");
}

TEST_F(MeasureCliTest, DevicesListsTheMetersAsCsv) {
  auto r = wattlab("devices --format csv", fixture_env() + " WATTLAB_NVML_LIBRARY=libwattlab-no-such-nvml.so.1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("nvml,")),
            "meter,available,estimated,domains,reason,detail\n"
            "rapl,true,false,package-0,,intel-rapl:0 \u2192 package-0\n");
  EXPECT_NE(r.out.find("\nnvml,false,false,,libwattlab-no-such-nvml.so.1 not found"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nestimator,true,true,\"cpu-estimated,ram-estimated\",,\"CPU: AMD EPYC, TDP unknown"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(count_lines(r.out), 4);
}

TEST_F(MeasureCliTest, TheEstimatorsAssumptionsAreStoredWithTheRun) {
  auto r = wattlab("measure --meter estimate --format json --store " + store_ + " -- true", fixture_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto store = std::move(Store::open(store_)).value();
  auto run = store->get_run(json::parse(r.out)["run_id"]);
  ASSERT_TRUE(run.ok());
  // Two unknown logical CPUs: CodeCarbon's 4 W each; 16 GiB at 0.375 W/GiB.
  EXPECT_EQ(run->environment.at("estimator_cpu_tdp_w"), "8");
  EXPECT_EQ(run->environment.at("estimator_cpu_tdp_source"), "4 W per logical CPU (unknown CPU)");
  EXPECT_EQ(run->environment.at("estimator_ram_w"), "6");
  EXPECT_EQ(run->tags.at("wattlab.energy_estimated"), "true");
}

}  // namespace
}  // namespace wattlab
