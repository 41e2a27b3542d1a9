#include "wattlab/core/ids.h"

#include <cinttypes>
#include <cstdio>
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

std::string content_hash(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, hash);
  return buf;
}

}  // namespace wattlab
