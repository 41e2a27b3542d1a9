#include "wattlab/train/early_stopping.h"

#include <cmath>

namespace wattlab {

Status validate(const EarlyStoppingOptions& o) {
  if (o.patience < 0) {
    return Status::invalid_argument("--early-stopping must be 0 (off) or a patience of 1 or more epochs (got " +
                                    std::to_string(o.patience) + ")");
  }
  if (!(o.min_delta >= 0) || !std::isfinite(o.min_delta)) {
    return Status::invalid_argument("--min-delta must be 0 or more (got " + std::to_string(o.min_delta) + ")");
  }
  if (o.start_from_epoch < 0) {
    return Status::invalid_argument("--start-from-epoch must be 0 or more (got " + std::to_string(o.start_from_epoch) +
                                    ")");
  }
  return Status();
}

bool EarlyStopping::observe(int epoch, double value) {
  if (!enabled() || epoch <= options_.start_from_epoch) return false;
  const bool improved = best_epoch_ == 0 || (options_.maximize ? value - options_.min_delta > best_
                                                               : value + options_.min_delta < best_);
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    return false;
  }
  return ++wait_ >= options_.patience;
}

}  // namespace wattlab
