// validate_settings of trainer.h and parse_device of device.h: torch-free, so
// that `wattlab estimate` checks a training's flags as `train` does without
// loading LibTorch.
#include <cctype>
#include <cmath>

#include "wattlab/train/augment.h"
#include "wattlab/train/device.h"
#include "wattlab/train/models.h"
#include "wattlab/train/trainer.h"

namespace wattlab {

std::string DeviceSpec::name() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }

Result<DeviceSpec> parse_device(const std::string& text) {
  DeviceSpec spec;
  if (text == "cpu") return spec;
  spec.cuda = true;
  if (text == "cuda") return spec;
  const std::string prefix = "cuda:";
  const std::string digits = text.rfind(prefix, 0) == 0 ? text.substr(prefix.size()) : "";
  bool numeric = !digits.empty() && digits.size() <= 4;
  for (char c : digits) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
  if (!numeric) {
    return Status::invalid_argument("--device must be cpu, cuda or cuda:N with N the device's index (got \"" + text +
                                    "\")");
  }
  spec.index = std::stoi(digits);
  return spec;
}

Status validate_settings(const TrainConfig& c) {
  auto bad = [](const std::string& flag, const std::string& rule, const std::string& got) {
    return Status::invalid_argument(flag + " must be " + rule + " (got " + got + ")");
  };
  WATTLAB_RETURN_IF_ERROR(check_model_name(c.model));
  if (c.data_dir.empty()) return bad("--data", "a folder holding a data set", "an empty path");
  if (c.subset < 0) return bad("--subset", "0 (all images) or positive", std::to_string(c.subset));
  if (c.test_subset < 0) return bad("--test-subset", "0 (all images) or positive", std::to_string(c.test_subset));
  if (c.threads < 1) return bad("--threads", "at least 1", std::to_string(c.threads));
  if (c.batch_size < 1) return bad("--batch-size", "at least 1", std::to_string(c.batch_size));
  if (c.epochs < 1) return bad("--epochs", "at least 1", std::to_string(c.epochs));
  if (c.precision == "fp16") {
    return Status::invalid_argument(
        "--precision fp16 is not available: LibTorch's CPU autocast supports bfloat16 only, and "
        "fp16 training on CUDA needs loss scaling (a GradScaler), which LibTorch's C++ API lacks; use --precision "
        "bf16 (or fp32)");
  }
  if (c.precision != "fp32" && c.precision != "bf16") return bad("--precision", "fp32 or bf16", "\"" + c.precision + "\"");
  if (Result<KernelMode> mode = parse_kernel_mode(c.kernels); !mode.ok()) return mode.status();
  if (Result<DeviceSpec> device = parse_device(c.device); !device.ok()) return device.status();
  if (c.dataset != "auto" && c.dataset != "idx" && c.dataset != "cifar10" && c.dataset != "cifar100" &&
      c.dataset != "folder") {
    return bad("--dataset", "auto, idx, cifar10, cifar100 or folder", "\"" + c.dataset + "\"");
  }
  if (c.resize < 0) return bad("--resize", "0 (keep) or a side in pixels", std::to_string(c.resize));
  if (c.resize > 0 && c.resize < 4) return bad("--resize", "at least 4 pixels", std::to_string(c.resize));
  if (c.channels != 0 && c.channels != 1 && c.channels != 3) {
    return bad("--channels", "0 (from the images), 1 or 3", std::to_string(c.channels));
  }
  if (c.channels != 0 && c.dataset != "folder" && c.dataset != "auto") {
    return bad("--channels", "left at 0 except for --dataset folder", std::to_string(c.channels));
  }
  if (c.val_split != 0 && !(c.val_split > 0 && c.val_split < 1)) {
    return bad("--val-split", "0 (none) or a fraction in (0, 1)", std::to_string(c.val_split));
  }
  if (Result<AugmentOptions> a = parse_augment(c.augment, c.crop_padding, 1 << 20); !a.ok()) return a.status();
  if (c.crop_padding < -1) return bad("--crop-padding", "-1 (automatic) or a number of pixels", std::to_string(c.crop_padding));
  for (double s : c.std) {
    if (!(s > 0) || !std::isfinite(s)) return bad("--std", "positive numbers", std::to_string(s));
  }
  for (double m : c.mean) {
    if (!std::isfinite(m)) return bad("--mean", "finite numbers", std::to_string(m));
  }
  if (c.prefetch < 0 || c.prefetch > 16) return bad("--prefetch", "in [0, 16] batches", std::to_string(c.prefetch));
  if (c.optimizer != "sgd" && c.optimizer != "adam" && c.optimizer != "adamw") {
    return bad("--optimizer", "sgd, adam or adamw", "\"" + c.optimizer + "\"");
  }
  if (c.nesterov && (c.optimizer != "sgd" || !(c.momentum > 0))) {
    return bad("--nesterov", "used with --optimizer sgd and --momentum above 0",
               "optimizer " + c.optimizer + ", momentum " + std::to_string(c.momentum));
  }
  if (c.weight_decay != -1 && (!(c.weight_decay >= 0) || !std::isfinite(c.weight_decay))) {
    return bad("--weight-decay", "0 or more (-1: the optimizer's default)", std::to_string(c.weight_decay));
  }
  WATTLAB_RETURN_IF_ERROR(validate(c.schedule));
  WATTLAB_RETURN_IF_ERROR(validate(c.early_stopping));
  if (c.monitor != "loss" && c.monitor != "accuracy") return bad("--monitor", "loss or accuracy", "\"" + c.monitor + "\"");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate)) {
    return bad("--lr", "a positive number", std::to_string(c.learning_rate));
  }
  if (!(c.momentum >= 0 && c.momentum < 1)) return bad("--momentum", "in [0, 1)", std::to_string(c.momentum));
  if (!(c.width_multiplier > 0) || !std::isfinite(c.width_multiplier)) {
    return bad("--width-multiplier", "a positive number", std::to_string(c.width_multiplier));
  }
  return Status();
}

}  // namespace wattlab
