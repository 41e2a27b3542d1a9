// Attack tables and bitboard helpers shared by board.cpp and movegen.cpp
// (internal to chess/). Sliding attacks use the classical ray method: the ray
// from a square in one direction, cut behind the first blocker.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace wattlab::chess::attacks {

inline uint64_t bit(int square) { return uint64_t{1} << square; }
inline int lsb(uint64_t b) { return std::countr_zero(b); }
inline int msb(uint64_t b) { return 63 - std::countl_zero(b); }
inline int pop_lsb(uint64_t& b) {
  int s = lsb(b);
  b &= b - 1;
  return s;
}

// Directions, in the order of Tables::ray: the first four (N, E, NE, NW)
// step to higher squares, the last four to lower ones.
enum Direction { kNorth, kEast, kNorthEast, kNorthWest, kSouth, kWest, kSouthWest, kSouthEast };

struct Tables {
  std::array<uint64_t, 64> knight{};
  std::array<uint64_t, 64> king{};
  std::array<std::array<uint64_t, 64>, 2> pawn{};   // [colour][square]: squares a pawn there attacks
  std::array<std::array<uint64_t, 64>, 8> ray{};    // [direction][square], the square itself excluded
  std::array<std::array<uint64_t, 64>, 64> between{};  // squares strictly between two aligned squares, else 0
  std::array<std::array<uint64_t, 64>, 64> line{};     // the whole line through two aligned squares, else 0
};

// Built once, on first use (thread-safe).
const Tables& tables();

inline uint64_t ray_attacks(const Tables& t, int dir, int square, uint64_t occupancy) {
  uint64_t a = t.ray[dir][square];
  uint64_t blockers = a & occupancy;
  if (blockers) {
    int b = dir < 4 ? lsb(blockers) : msb(blockers);
    a ^= t.ray[dir][b];
  }
  return a;
}

inline uint64_t rook_attacks(int square, uint64_t occupancy) {
  const Tables& t = tables();
  return ray_attacks(t, kNorth, square, occupancy) | ray_attacks(t, kEast, square, occupancy) |
         ray_attacks(t, kSouth, square, occupancy) | ray_attacks(t, kWest, square, occupancy);
}

inline uint64_t bishop_attacks(int square, uint64_t occupancy) {
  const Tables& t = tables();
  return ray_attacks(t, kNorthEast, square, occupancy) | ray_attacks(t, kNorthWest, square, occupancy) |
         ray_attacks(t, kSouthWest, square, occupancy) | ray_attacks(t, kSouthEast, square, occupancy);
}

}  // namespace wattlab::chess::attacks
