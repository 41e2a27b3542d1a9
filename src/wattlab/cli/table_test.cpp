#include "wattlab/cli/table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace wattlab::cli {
namespace {

TEST(TextTableTest, AlignsColumnsByDisplayWidth) {
  TextTable t({"model", "energy"}, {false, true});
  t.add_row({"cnn", "12.5"});
  t.add_row({"résnet", "1234.0"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "model   energy\n"
            "------  ------\n"
            "cnn       12.5\n"
            "résnet  1234.0\n");
}

TEST(FormatTest, UnitsScaleWithTheValue) {
  EXPECT_EQ(format_energy_j(812), "812.0 J");
  EXPECT_EQ(format_energy_j(12'400), "12.40 kJ");
  EXPECT_EQ(format_energy_j(3'210'000), "3.21 MJ");
  EXPECT_EQ(format_duration_s(12.34), "12.3 s");
  EXPECT_EQ(format_duration_s(65), "1m 05s");
  EXPECT_EQ(format_duration_s(7380), "2h 03m");
  EXPECT_EQ(format_number(NAN, 2), "-");
  EXPECT_EQ(format_number(0.91234, 4), "0.9123");
}

TEST(FormatTest, ValuesOfUnknownScaleKeepTheirDigits) {
  EXPECT_EQ(format_value(421642.0), "421642");
  EXPECT_EQ(format_value(0.0), "0");
  EXPECT_EQ(format_value(-3.0), "-3");
  EXPECT_EQ(format_value(7.63e-05), "7.63e-05");  // energy_kwh of a short run
  EXPECT_EQ(format_value(0.91234), "0.9123");
  EXPECT_EQ(format_value(1234.56), "1234.6");
  EXPECT_EQ(format_value(NAN), "-");
}

}  // namespace
}  // namespace wattlab::cli
