// Training checkpoints: what a run needs to continue exactly where it stopped.
// Internal to train/ (it includes LibTorch); the trainer writes one after
// every epoch and reads one back for TrainFiles::resume_from (trainer.h).
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/models_torch.h"
#include "wattlab/train/saved_model.h"
#include "wattlab/train/trainer.h"

namespace wattlab {

// Everything beside the model and the optimizer that the next epoch depends on.
// The LR schedule's and early stopping's state are not stored: they follow
// from the metrics of the epochs done, so the trainer replays those.
struct TrainingState {
  std::vector<EpochMetrics> epochs;  // metrics of the epochs done (1..epochs.size())
  std::vector<int64_t> order;        // the training order after the last epoch's shuffle
  std::string shuffle_rng;           // the shuffling std::mt19937_64, as its operator<< writes it
  torch::Tensor torch_rng;           // LibTorch's default CPU generator (weights, dropout)
  // The settings that must not change between a checkpoint and its resumption,
  // by flag ("--model" -> "cnn").
  std::map<std::string, std::string> settings;
  // The kernel chosen for each shape and pass (KernelChooser::choices), which
  // a resumed run replays; empty in checkpoints written before they were chosen.
  std::map<std::string, std::string> kernel_choices;
};

// Writes the model's parameters and buffers, the optimizer's state and
// `state` to `path`: first to "<path>.tmp", then renamed over `path`, so a
// reader never sees half a checkpoint. Creates missing parent folders. Every
// tensor is written as a CPU tensor, wherever the model and the optimizer's
// state live (the optimizer's state visits the CPU for the write and moves
// back). IoError naming the path on failure.
Status save_checkpoint(const std::string& path, const ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                       const TrainingState& state);

// Reads a checkpoint of save_checkpoint into `model` (already on `device`),
// `optimizer` (built as for the run that wrote it, over the model's
// parameters) and `state`; the model's and the optimizer's tensors land on
// `device`, state.torch_rng on the CPU. NotFound when `path` does not exist;
// InvalidArgument when its settings differ from `expected` (naming the flag,
// both values and the file); Corrupt naming the file when it cannot be read.
Status load_checkpoint(const std::string& path, const std::map<std::string, std::string>& expected,
                       const torch::Device& device, ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                       TrainingState& state);

// A checkpoint's settings as read back: those added to the format later
// (--precision, --channels-last, --kernels) that an older checkpoint lacks get
// the value every run of that time had (fp32, false) or the default (auto:
// the kernels of that time followed fixed rules, which no mode repeats), so
// such a checkpoint still resumes; settings it has are kept as they are.
std::map<std::string, std::string> with_settings_older_checkpoints_imply(std::map<std::string, std::string> settings);

// Writes the model's parameters and buffers to DIR/model.pt (as
// torch::save(module) does, through a temporary file, but as CPU tensors
// wherever the model lives) and `info` to DIR/model.json. IoError naming the
// file on failure.
Status save_trained_model(const std::string& dir, const ClassifierImpl& model, const SavedModelInfo& info);

}  // namespace wattlab
