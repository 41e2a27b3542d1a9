#include "wattlab/analysis/pareto.h"

#include <cmath>

namespace wattlab {

std::vector<ParetoEntry> pareto_front(const std::vector<TradeoffPoint>& points) {
  auto valid = [](const TradeoffPoint& p) { return std::isfinite(p.cost) && std::isfinite(p.benefit); };
  std::vector<ParetoEntry> out;
  for (size_t i = 0; i < points.size(); ++i) {
    ParetoEntry e;
    e.point = points[i];
    if (valid(points[i])) {
      for (size_t j = 0; j < points.size(); ++j) {
        const TradeoffPoint& a = points[j];
        const TradeoffPoint& b = points[i];
        if (j == i || !valid(a)) continue;
        const bool no_worse = a.cost <= b.cost && a.benefit >= b.benefit;
        const bool better = a.cost < b.cost || a.benefit > b.benefit;
        if (no_worse && better) e.dominated_by.push_back(j);
      }
      e.on_front = e.dominated_by.empty();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace wattlab
