#include "wattlab/core/subprocess.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(SubprocessTest, CapturesStdoutAndExitCode) {
  auto out = run_and_capture({"sh", "-c", "echo hello; exit 3"});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->stdout_text, "hello\n");
  EXPECT_EQ(out->exit_code, 3);
}

// 200 KB on stderr before anything on stdout: more than a pipe holds, so
// reading one pipe at a time would stall the child.
TEST(SubprocessTest, CapturesLargeStderrBesideStdout) {
  auto out = run_and_capture({"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' e >&2; echo done"});
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(out->stdout_text, "done\n");
  EXPECT_EQ(out->stderr_text.size(), 200000u);
  EXPECT_EQ(out->stderr_text.find_first_not_of('e'), std::string::npos);
  EXPECT_EQ(out->exit_code, 0);
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  auto out = run_and_capture({"wattlab-no-such-program"});
  EXPECT_EQ(out.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace wattlab
