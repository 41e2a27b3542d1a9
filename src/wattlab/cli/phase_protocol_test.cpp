#include "wattlab/cli/phase_protocol.h"

#include <gtest/gtest.h>

namespace wattlab::cli {
namespace {

TEST(PhaseProtocolTest, ParsesBeginAndEndWithNamesContainingSpaces) {
  auto begin = parse_phase_line("begin epoch 3 ");
  ASSERT_TRUE(begin.ok());
  EXPECT_TRUE(begin->begin);
  EXPECT_EQ(begin->name, "epoch 3");
  auto end = parse_phase_line("end epoch-3\r");
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->begin);
  EXPECT_EQ(end->name, "epoch-3");
}

TEST(PhaseProtocolTest, RejectsOtherLinesQuotingThem) {
  for (const char* bad : {"start x", "begin", "end  ", "beginx y", ""}) {
    auto r = parse_phase_line(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(LineSplitterTest, KeepsPartialLinesUntilComplete) {
  LineSplitter s;
  std::string line;
  s.feed("begin a\nend", 11);
  ASSERT_TRUE(s.next_line(&line));
  EXPECT_EQ(line, "begin a");
  EXPECT_FALSE(s.next_line(&line));
  s.feed(" a\n", 3);
  ASSERT_TRUE(s.next_line(&line));
  EXPECT_EQ(line, "end a");
  s.feed("begin b", 7);
  EXPECT_FALSE(s.next_line(&line));
  EXPECT_EQ(s.take_rest(), "begin b");
}

}  // namespace
}  // namespace wattlab::cli
