// Test helper for the tests of sgemm and of the kernels built on it: runs a
// test once per micro-kernel (models/sgemm.h) that this CPU has.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "wattlab/train/models/sgemm.h"

namespace wattlab::zoo {

// Both micro-kernels; a test with a CPU that lacks one skips it.
inline const auto kEverySgemmIsa = ::testing::Values(SgemmIsa::kAvx2, SgemmIsa::kAvx512);

// How gtest prints a parameter: "avx2" or "avx512".
inline void PrintTo(SgemmIsa isa, std::ostream* out) { *out << sgemm_isa_name(isa); }

// "avx2" or "avx512", as a test-name suffix.
inline std::string sgemm_isa_test_name(const ::testing::TestParamInfo<SgemmIsa>& info) {
  return sgemm_isa_name(info.param);
}

// A fixture whose tests run with the micro-kernel of their parameter, and
// restores the one in use afterwards; skipped when the CPU lacks it.
class SgemmIsaTest : public ::testing::TestWithParam<SgemmIsa> {
 protected:
  void SetUp() override {
    if (!sgemm_isa_available(GetParam())) GTEST_SKIP() << "this CPU lacks " << sgemm_isa_name(GetParam());
    set_sgemm_isa(GetParam());
  }
  void TearDown() override {
    if (sgemm_available()) set_sgemm_isa(previous_);
  }

 private:
  const SgemmIsa previous_ = sgemm_available() ? sgemm_isa() : SgemmIsa::kAvx2;
};

}  // namespace wattlab::zoo
