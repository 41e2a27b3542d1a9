// Pareto fronts of trade-offs: configurations that no other beats on both
// cost (energy, time: lower is better) and benefit (F1, accuracy: higher is
// better), with who dominates whom.
#pragma once

#include <string>
#include <vector>

namespace wattlab {

struct TradeoffPoint {
  std::string label;  // "mobilenet_v2 / 2-threads"
  double cost = 0;     // lower is better (joules per image, seconds)
  double benefit = 0;  // higher is better (F1, accuracy)
};

struct ParetoEntry {
  TradeoffPoint point;
  bool on_front = false;  // no other point dominates it
  // Indexes of the points that dominate this one: no worse on both axes and
  // better on at least one. Empty exactly when on_front.
  std::vector<size_t> dominated_by;
};

// Every point with its dominance, in the order given. Points with a NaN cost
// or benefit are neither dominated nor dominating, and are not on the front.
// O(n^2).
std::vector<ParetoEntry> pareto_front(const std::vector<TradeoffPoint>& points);

}  // namespace wattlab
