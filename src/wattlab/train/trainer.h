// Trains a model of the zoo on an IDX data set (Fashion-MNIST by default) and
// reports per-epoch metrics. The API is free of LibTorch; only trainer.cpp
// and the model zoo (models.cpp, models/) include it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/idx.h"

namespace wattlab {

// One training run. Flag names in comments are those validate() names.
struct TrainConfig {
  std::string model = "cnn";                                  // --model: see model_names()
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // --data-dir: IDX files, .gz or plain
  int64_t subset = 0;       // --subset: train on the first N training images; 0 = all
  int64_t test_subset = 0;  // --test-subset: evaluate on the first N test images; 0 = all
  int threads = 1;          // --threads: LibTorch intra-op threads
  int64_t batch_size = 64;  // --batch-size
  int epochs = 1;           // --epochs
  uint64_t seed = 42;       // --seed: weights, shuffling and dropout
  std::string optimizer = "adam";  // --optimizer: "sgd" or "adam"
  double learning_rate = 1e-3;     // --lr
  double momentum = 0.9;           // --momentum (sgd only)
  double width_multiplier = 1.0;   // --width-multiplier: scales every layer's channels
};

// OK if `config` can be trained; otherwise InvalidArgument whose message names
// the flag, the rule and the value given ("--threads must be at least 1 (got 0)").
// Does not touch the file system: a missing data set is reported by train_model.
Status validate(const TrainConfig& config);

// Metrics of one epoch: a training pass then an evaluation on the test split.
struct EpochMetrics {
  int epoch = 0;             // 1-based
  double train_loss = 0;     // mean cross-entropy over the epoch's training images
  double test_loss = 0;      // mean cross-entropy over the test images
  double accuracy = 0;       // on the test images, in [0, 1]
  double precision_macro = 0;  // unweighted means over the classes present in the
  double recall_macro = 0;     // labels or the predictions; a class never predicted
  double f1_macro = 0;         // has precision 0 (sklearn's zero_division=0)
  int64_t train_images = 0;  // images trained on in this epoch
  int64_t test_images = 0;   // images evaluated
  double train_time_s = 0;   // wall time of the training pass (data already in memory)
  double eval_time_s = 0;    // wall time of the evaluation
  std::vector<int64_t> confusion;  // num_classes x num_classes, row = true class, column = predicted
};

// Receives the trainer's progress. Every method is called on the thread that
// called train_model; the defaults do nothing.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  // A phase ("epoch-1/train", "epoch-1/eval", ...) starts or ends; every begun
  // phase is ended, also when training fails or is cancelled. Meant for energy windows.
  virtual void on_phase_begin(const std::string& phase) {}
  virtual void on_phase_end(const std::string& phase) {}
  // After each training batch: `images_done` of `images_total` in this epoch.
  virtual void on_progress(int epoch, int64_t images_done, int64_t images_total) {}
  // After each epoch's evaluation.
  virtual void on_epoch_end(int epoch, const EpochMetrics& metrics) {}
  // Polled before every batch (training and evaluation); true makes
  // train_model return a Cancelled status.
  virtual bool should_stop() { return false; }
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int64_t parameter_count = 0;  // trainable scalars of the model
  int64_t num_classes = 0;
  int threads = 0;              // intra-op threads used
};

// Both splits of a data set in memory, as train_model uses them.
struct TrainData {
  IdxDataset train;  // the first config.subset images of the "train" split (all if 0)
  IdxDataset test;   // the first config.test_subset images of the "t10k" split (all if 0)
};

// Loads config.data_dir's splits, so that several trainings can share one load.
// Errors: those of load_idx_dataset (missing or corrupt files, negative subsets),
// and Corrupt when the splits' image sizes differ or one holds no images.
Result<TrainData> load_train_data(const TrainConfig& config);

// Builds the model and trains it on `data` (config.data_dir, subset and
// test_subset are not used) for config.epochs epochs, evaluating after each.
// Otherwise as the overload below, which loads the data first.
Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer);

// Loads the data set into memory, builds the model, and trains it for
// config.epochs epochs, evaluating after each. Deterministic: the same config
// (seed and threads included) on the same machine and LibTorch build gives
// bit-identical metrics (times aside). Sets LibTorch's intra-op thread count for
// the duration of the call and its inter-op thread count to 1 once per process;
// reseeds LibTorch's global generator, so do not run two trainings concurrently
// in one process if you need reproducibility.
// Errors: InvalidArgument (see validate), those of load_idx_dataset (missing or
// corrupt data), Cancelled when the observer asked to stop, Internal for a
// LibTorch failure (its message included).
Result<TrainResult> train_model(const TrainConfig& config, TrainObserver& observer);

// The LibTorch version this library was compiled against, e.g. "1.13.0".
std::string libtorch_version();

}  // namespace wattlab
