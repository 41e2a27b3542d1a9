#include "wattlab/energy/energy_window.h"

#include <algorithm>

namespace wattlab {

double EnergyWindow::energy_j() const {
  double total_j = 0;
  for (const DomainEnergy& domain : domains) {
    if (domain.counts_in_total) total_j += domain.energy_j;
  }
  return total_j;
}

bool EnergyWindow::estimated() const {
  return std::any_of(domains.begin(), domains.end(), [](const DomainEnergy& d) { return d.estimated; });
}

}  // namespace wattlab
