#include "wattlab/energy/cpu_tdp.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

TEST(TdpTableTest, BuiltinTableIsEmbeddedWhole) {
  // data/cpu_tdp.csv holds 4,895 models; a truncated or unparsable embed shows here.
  EXPECT_EQ(CpuTdpTable::builtin().size(), 4895u);
}

TEST(TdpLookupTest, CpuinfoStringsOfKnownModels) {
  EXPECT_EQ(lookup_cpu_tdp_w("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"), 150.0);
  EXPECT_EQ(lookup_cpu_tdp_w("Intel(R) Xeon(R) Gold 6148F CPU @ 2.40GHz"), 160.0);
  EXPECT_EQ(lookup_cpu_tdp_w("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz"), 95.0);
  EXPECT_EQ(lookup_cpu_tdp_w("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz"), 65.0);
  // AMD names carry a core count and "Processor" that the table lacks.
  EXPECT_EQ(lookup_cpu_tdp_w("AMD EPYC 7763 64-Core Processor"), 280.0);
  EXPECT_EQ(lookup_cpu_tdp_w("AMD EPYC 7282 16-Core Processor"), 120.0);
  // Newer Intel names put the generation in front.
  auto tiger_lake = CpuTdpTable::builtin().match("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz");
  ASSERT_TRUE(tiger_lake.has_value());
  EXPECT_EQ(tiger_lake->table_name, "Intel Core i7-1165G7");
  EXPECT_EQ(tiger_lake->tdp_w, 28.0);
}

TEST(TdpLookupTest, ExactTableNamesAndCaseDoNotMatter) {
  EXPECT_EQ(lookup_cpu_tdp_w("AMD EPYC 7203"), 120.0);
  EXPECT_EQ(lookup_cpu_tdp_w("amd epyc 7261"), 170.0);
  EXPECT_EQ(lookup_cpu_tdp_w("Intel EP80579 Integrated, 1066 MHz"), 18.0);  // a quoted name with a comma
  auto match = CpuTdpTable::builtin().match("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->table_name, "Intel Xeon Gold 6148");
}

TEST(TdpLookupTest, UnknownAndAmbiguousNamesHaveNoTdp) {
  EXPECT_EQ(lookup_cpu_tdp_w("AMD EPYC"), std::nullopt);  // what this VM's /proc/cpuinfo says
  EXPECT_EQ(lookup_cpu_tdp_w("AMD EPYC 9999 Processor"), std::nullopt);
  EXPECT_EQ(lookup_cpu_tdp_w("Intel(R) Xeon(R) CPU"), std::nullopt);
  EXPECT_EQ(lookup_cpu_tdp_w("QEMU Virtual CPU version 2.5+"), std::nullopt);
  EXPECT_EQ(lookup_cpu_tdp_w(""), std::nullopt);
}

TEST(TdpNormaliseTest, DropsMarksFrequencyAndTheWordCpu) {
  EXPECT_EQ(normalise_cpu_model_name("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"), "intel xeon gold 6148");
  EXPECT_EQ(normalise_cpu_model_name("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz"), "intel core i5-8250u");
  EXPECT_EQ(normalise_cpu_model_name("Intel(R) Pentium(R) 4 CPU 3.00GHz"), "intel pentium 4 3.00ghz");
  EXPECT_EQ(normalise_cpu_model_name("AMD Ryzen\u00ae 7  5800X @ 3.8 GHz"), "amd ryzen 7 5800x");
}

TEST(TdpTableParseTest, ParsesQuotesAndComments) {
  auto table = CpuTdpTable::parse("# comment\n\nname,tdp_w\n\"Chip \"\"X\"\", 2 GHz\",12.5\nChip Y 1000,45\n");
  ASSERT_TRUE(table.ok()) << table.status().to_string();
  EXPECT_EQ(table->size(), 2u);
  auto x = table->match("Chip \"X\", 2 GHz");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->tdp_w, 12.5);
  EXPECT_EQ(table->match("Vendor Chip Y 1000 8-Core")->tdp_w, 45.0);
}

TEST(TdpTableParseTest, ConflictingCandidatesGiveNoMatch) {
  auto table = CpuTdpTable::parse("name,tdp_w\nFoo 1000 A,10\nFoo 1000 B,20\nBar 2000 A,30\nBar 2000 B,30\n");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->match("Foo 1000"), std::nullopt);         // 10 W or 20 W: unknowable
  EXPECT_EQ(table->match("Bar 2000")->tdp_w, 30.0);          // both rows agree
  EXPECT_EQ(table->match("Foo 1000 A 4-Core")->tdp_w, 10.0);  // the most specific row wins
}

TEST(TdpTableParseTest, CorruptLinesAreNamed) {
  auto no_header = CpuTdpTable::parse("Foo,1\n");
  EXPECT_EQ(no_header.status().code(), Status::Code::kCorrupt);
  auto bad_number = CpuTdpTable::parse("name,tdp_w\nFoo,1\nBar,27.29.5\n");
  ASSERT_FALSE(bad_number.ok());
  EXPECT_NE(bad_number.status().message().find("line 3"), std::string::npos) << bad_number.status().to_string();
  EXPECT_FALSE(CpuTdpTable::parse("name,tdp_w\n\"Foo,1\n").ok());
  EXPECT_FALSE(CpuTdpTable::parse("name,tdp_w\nFoo,-5\n").ok());
}

}  // namespace
}  // namespace wattlab
