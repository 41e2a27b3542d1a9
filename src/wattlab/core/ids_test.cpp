#include "wattlab/core/ids.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(IdsTest, RunIdsAre32HexDigitsAndDiffer) {
  const std::string a = new_run_id(), b = new_run_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(IdsTest, ContentHashIsFnv1a64) {
  EXPECT_EQ(content_hash(""), "cbf29ce484222325");  // FNV-1a's offset basis
  EXPECT_EQ(content_hash("a"), "af63dc4c8601ec8c");  // the published FNV-1a 64 test vector
  EXPECT_NE(content_hash("model: cnn\n"), content_hash("model: cnn \n"));
}

}  // namespace
}  // namespace wattlab
