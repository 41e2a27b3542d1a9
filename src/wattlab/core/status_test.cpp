#include "wattlab/core/status.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

Status fails_then_returns() {
  WATTLAB_RETURN_IF_ERROR(Status::not_found("x.idx"));
  return Status::internal("not reached");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = Status::permission_denied("cannot read energy_uj");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(s.to_string(), "permission denied: cannot read energy_uj");
  EXPECT_EQ(s.with_context("rapl").message(), "rapl: cannot read energy_uj");
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().to_string(), "OK");
}

TEST(StatusTest, ReturnIfErrorPropagatesTheFirstFailure) {
  EXPECT_EQ(fails_then_returns().code(), Status::Code::kNotFound);
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good = 42;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = Status::corrupt("bad magic");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorrupt);
}

}  // namespace
}  // namespace wattlab
