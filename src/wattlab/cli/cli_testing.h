// Test helper for the end-to-end tests of the `wattlab` binary (cli_test,
// runs_cli_test): a fresh folder per test, and running the binary as a user
// would. WATTLAB_BINARY must name the binary (the tests' CMake definitions do).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace wattlab::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A tiny image folder: ROOT/{train,test}/{dark,light}/N.ppm, 12x12 RGB
// (stb_image reads binary PPM as it reads PNG or JPEG).
inline void write_image_folder(const std::filesystem::path& root, int per_class_train, int per_class_test) {
  auto ppm = [](const std::filesystem::path& path, int value) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << "P6\n12 12\n255\n";
    for (int i = 0; i < 12 * 12 * 3; ++i) out.put(static_cast<char>((value + i % 7) & 0xff));
  };
  for (const auto& [split, count] : {std::pair{"train", per_class_train}, std::pair{"test", per_class_test}}) {
    for (int i = 0; i < count; ++i) {
      ppm(root / split / "dark" / (std::to_string(i) + ".ppm"), 20 + i);
      ppm(root / split / "light" / (std::to_string(i) + ".ppm"), 200 + i);
    }
  }
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wattlab_cli_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    store_ = (dir_ / "runs.db").string();
    // Which notes were shown is remembered here, not in the user's home.
    setenv("WATTLAB_STATE_DIR", (dir_ / "state").c_str(), 1);
    // The kernel cache is the test's own, so runs compared bit for bit share their kernel choices.
    setenv("XDG_CACHE_HOME", (dir_ / "cache").c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `wattlab ARGS` through the shell (args are pasted as given), with
  // `env` (VAR=value ...) in its environment.
  CommandResult wattlab(const std::string& args, const std::string& env = "") {
    std::string cmd = env + " " + std::string(WATTLAB_BINARY) + " " + args + " >" + (dir_ / "out").string() + " 2>" +
                      (dir_ / "err").string() + " </dev/null";
    int status = std::system(cmd.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir_ / "out");
    r.err = slurp(dir_ / "err");
    return r;
  }

  std::filesystem::path dir_;
  std::string store_;
};

}  // namespace wattlab::testing
