#include "wattlab/core/stop_signal.h"

#include <csignal>

#include <gtest/gtest.h>

namespace wattlab {
namespace {

// The first SIGTERM asks to stop (it does not end the process) and is remembered.
TEST(StopSignalTest, FirstSignalIsRecordedNotFatal) {
  install_stop_signal_handlers();
  EXPECT_FALSE(stop_requested());
  EXPECT_EQ(stop_signal(), 0);
  ASSERT_EQ(raise(SIGTERM), 0);
  EXPECT_TRUE(stop_requested());
  EXPECT_EQ(stop_signal(), SIGTERM);
}

}  // namespace
}  // namespace wattlab
