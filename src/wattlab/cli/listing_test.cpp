#include "wattlab/cli/listing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace wattlab::cli {
namespace {

Listing two_rows() {
  Listing listing({{"run_id", "run"}, {"energy_j", "energy J", true}, {"note", ""}});
  listing.add_row({text_cell("abc"), number_cell(1234.5, "1234.5"), text_cell("a, \"quoted\" note")});
  listing.add_row({text_cell("def"), number_cell(NAN, "-"), text_cell("")});
  return listing;
}

std::string print(const Listing& listing, const std::string& format) {
  std::ostringstream out;
  listing.print(out, format);
  return out.str();
}

TEST(ListingTest, OneDescriptionThreeFormats) {
  const Listing listing = two_rows();
  EXPECT_EQ(print(listing, "table"),
            "run  energy J\n"
            "---  --------\n"
            "abc    1234.5\n"
            "def         -\n")
      << "columns without a header stay out of the table";
  EXPECT_EQ(print(listing, "csv"),
            "run_id,energy_j,note\n"
            "abc,1234.5,\"a, \"\"quoted\"\" note\"\n"
            "def,,\n");
  auto json = nlohmann::json::parse(print(listing, "json"));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["energy_j"], 1234.5);
  EXPECT_TRUE(json[1]["energy_j"].is_null()) << "NaN is null";
  EXPECT_EQ(json[0]["note"], "a, \"quoted\" note");
}

TEST(ListingTest, CsvValuesKeepEveryDigit) {
  EXPECT_EQ(csv_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(csv_value(nlohmann::json(42)), "42");
  EXPECT_EQ(csv_value(nlohmann::json(true)), "true");
  EXPECT_EQ(csv_value(nlohmann::json()), "");
  EXPECT_EQ(csv_field("line\nbreak"), "\"line\nbreak\"");
}

}  // namespace
}  // namespace wattlab::cli
