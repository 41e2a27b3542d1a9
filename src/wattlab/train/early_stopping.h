// Early stopping on a monitored metric, as Keras's EarlyStopping callback.
// Torch-free.
#pragma once

#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

struct EarlyStoppingOptions {
  int patience = 0;          // --early-stopping: stop after this many epochs without improvement; 0 = off
  double min_delta = 0;      // --min-delta: an improvement must beat the best by more than this
  int start_from_epoch = 0;  // --start-from-epoch: the first this many epochs are not monitored (warm-up)
  bool maximize = false;     // true for accuracy, false for a loss (the trainer sets it from --monitor)
};

// OK or InvalidArgument naming the flag at fault.
Status validate(const EarlyStoppingOptions& options);

class EarlyStopping {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options) : options_(options) {}

  bool enabled() const { return options_.patience > 0; }

  // Reports the monitored value of `epoch` (1-based, increasing). Epochs up to
  // start_from_epoch are ignored. Otherwise a value better than the best so far
  // by more than min_delta becomes the best and resets the count of epochs
  // without improvement; any other value adds one. Returns true (stop now) when
  // that count reaches the patience. Always false when disabled.
  bool observe(int epoch, double value);

  int best_epoch() const { return best_epoch_; }   // 0 before any monitored epoch
  double best_value() const { return best_; }
  int epochs_without_improvement() const { return wait_; }

 private:
  EarlyStoppingOptions options_;
  int best_epoch_ = 0;
  double best_ = 0;
  int wait_ = 0;
};

}  // namespace wattlab
