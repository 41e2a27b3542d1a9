// Learning-rate schedules, epoch by epoch. Torch-free: the trainer asks for
// each epoch's rate and sets it on the optimizer.
#pragma once

#include <cstdint>
#include <string>

#include "wattlab/core/status.h"

namespace wattlab {

struct LrScheduleOptions {
  std::string kind = "none";     // --schedule: none, step, cosine or plateau
  int step_epochs = 10;          // --lr-step: step multiplies the rate by gamma every this many epochs
  double gamma = 0.1;            // --lr-gamma
  int warmup_epochs = 0;         // --warmup-epochs (cosine): linear ramp base/W, 2*base/W, ... base
  double plateau_factor = 0.1;   // --plateau-factor: plateau multiplies the rate by this...
  int plateau_patience = 2;      // --plateau-patience: ...after more than this many epochs without improvement
  double plateau_min_delta = 0;  // improvement = the monitored loss falls below best - this
  double min_lr = 0;             // plateau never goes below this
};

// OK or InvalidArgument naming the flag at fault.
Status validate(const LrScheduleOptions& options);

// The rate of every epoch of a run of `epochs` epochs starting from `base_lr`.
//   none:    base_lr throughout.
//   step:    base_lr * gamma^floor((epoch - 1) / step_epochs).
//   cosine:  after W warm-up epochs (epoch e <= W runs at base_lr * e / W),
//            base_lr * (1 + cos(pi * (e - 1 - W) / (epochs - W))) / 2, so the
//            first epoch after warm-up runs at base_lr and the rate would reach
//            0 at the end of the last epoch (it is set once per epoch).
//   plateau: as PyTorch's ReduceLROnPlateau (mode min, cooldown 0): starts at
//            base_lr; observe() counts epochs whose loss is not below
//            best - min_delta and, when that count exceeds the patience,
//            multiplies the rate by the factor (not below min_lr) and restarts
//            the count.
class LrSchedule {
 public:
  LrSchedule(const LrScheduleOptions& options, double base_lr, int epochs);

  // The rate for `epoch` (1-based). For plateau, the rate after the epochs observed so far.
  double lr(int epoch) const;

  // Reports the monitored loss at the end of an epoch (used by plateau only).
  // Returns true when the rate was reduced.
  bool observe(double loss);

 private:
  LrScheduleOptions options_;
  double base_lr_;
  int epochs_;
  double plateau_lr_;          // current rate of plateau
  double best_;                // lowest loss seen (plateau)
  int bad_epochs_ = 0;         // epochs since the best (plateau)
};

}  // namespace wattlab
