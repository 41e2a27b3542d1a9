#include "wattlab/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace wattlab {

Status validate(const LrScheduleOptions& o) {
  auto bad = [](const std::string& flag, const std::string& rule, const std::string& got) {
    return Status::invalid_argument(flag + " must be " + rule + " (got " + got + ")");
  };
  if (o.kind != "none" && o.kind != "step" && o.kind != "cosine" && o.kind != "plateau") {
    return bad("--schedule", "none, step, cosine or plateau", "\"" + o.kind + "\"");
  }
  if (o.step_epochs < 1) return bad("--lr-step", "at least 1 epoch", std::to_string(o.step_epochs));
  if (!(o.gamma > 0 && o.gamma <= 1)) return bad("--lr-gamma", "in (0, 1]", std::to_string(o.gamma));
  if (o.warmup_epochs < 0) return bad("--warmup-epochs", "0 or more", std::to_string(o.warmup_epochs));
  if (!(o.plateau_factor > 0 && o.plateau_factor < 1)) {
    return bad("--plateau-factor", "in (0, 1)", std::to_string(o.plateau_factor));
  }
  if (o.plateau_patience < 0) return bad("--plateau-patience", "0 or more epochs", std::to_string(o.plateau_patience));
  if (!(o.plateau_min_delta >= 0)) return bad("--plateau-min-delta", "0 or more", std::to_string(o.plateau_min_delta));
  if (!(o.min_lr >= 0)) return bad("--min-lr", "0 or more", std::to_string(o.min_lr));
  return Status();
}

LrSchedule::LrSchedule(const LrScheduleOptions& options, double base_lr, int epochs)
    : options_(options),
      base_lr_(base_lr),
      epochs_(epochs),
      plateau_lr_(base_lr),
      best_(std::numeric_limits<double>::infinity()) {}

double LrSchedule::lr(int epoch) const {
  if (options_.kind == "step") {
    return base_lr_ * std::pow(options_.gamma, (epoch - 1) / options_.step_epochs);
  }
  if (options_.kind == "cosine") {
    const int warmup = options_.warmup_epochs;
    if (epoch <= warmup) return base_lr_ * epoch / warmup;
    const int span = std::max(epochs_ - warmup, 1);
    return base_lr_ * (1 + std::cos(std::numbers::pi * (epoch - 1 - warmup) / span)) / 2;
  }
  if (options_.kind == "plateau") return plateau_lr_;
  return base_lr_;
}

bool LrSchedule::observe(double loss) {
  if (options_.kind != "plateau") return false;
  if (loss < best_ - options_.plateau_min_delta) {
    best_ = loss;
    bad_epochs_ = 0;
    return false;
  }
  if (++bad_epochs_ <= options_.plateau_patience) return false;
  bad_epochs_ = 0;
  const double reduced = std::max(plateau_lr_ * options_.plateau_factor, options_.min_lr);
  const bool changed = reduced < plateau_lr_;
  plateau_lr_ = reduced;
  return changed;
}

}  // namespace wattlab
