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

TEST(SubprocessTest, MissingProgramIsNotFound) {
  auto out = run_and_capture({"wattlab-no-such-program"});
  EXPECT_EQ(out.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace wattlab
