#include "wattlab/core/ids.h"

#include <random>

namespace wattlab {

std::string new_run_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id(32, '0');
  for (int i = 0; i < 32; i += 16) {
    uint64_t bits = rng();
    for (int j = 0; j < 16; ++j) id[i + j] = kHex[(bits >> (4 * j)) & 0xF];
  }
  return id;
}

}  // namespace wattlab
