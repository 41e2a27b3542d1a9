// Trains a model of the zoo on an image data set (Fashion-MNIST IDX by
// default; CIFAR-10/100 binary and image folders too) and reports per-epoch
// metrics. The API is free of LibTorch; only trainer.cpp and the model zoo
// (models.cpp, models/) include it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/early_stopping.h"
#include "wattlab/train/image_dataset.h"
#include "wattlab/train/kernel_dispatch.h"
#include "wattlab/train/lr_schedule.h"

namespace wattlab {

// One training run. Flag names in comments are those validate() names.
struct TrainConfig {
  std::string model = "cnn";                                  // --model: see model_names()
  // Data.
  std::string dataset = "auto";  // --dataset: auto, idx, cifar10, cifar100 or folder (see load_train_data)
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // --data: the data set's folder
  int64_t subset = 0;       // --subset: train on the first N training images (before the split); 0 = all
  int64_t test_subset = 0;  // --test-subset: evaluate on the first N test images; 0 = with --subset, the
                            // same share of the test images as of the training images, else all
  int64_t resize = 0;       // --resize: every image (all splits) resized to this side, pixels; 0 = keep
  int64_t channels = 0;     // --channels: image folders only, 1 or 3; 0 = from the first image
  double val_split = 0;     // --val-split: fraction of the training images held out for validation; 0 = none
  std::string augment = "none";  // --augment: none, or a comma-separated list of crop and flip
  int64_t crop_padding = -1;     // --crop-padding: pixels; -1 = 4 for images >= 32 pixels, else 2
  std::vector<double> mean;      // --mean: per-channel mean of pixels in [0, 1]; empty = from the training part
  std::vector<double> std;       // --std: per-channel std; empty = from the training part
  int prefetch = 2;              // --prefetch: batches prepared ahead on a worker thread; 0 = none
  // Compute.
  std::string device = "cpu";  // --device: cpu, cuda or cuda:N (device.h); model, optimizer state and
                               // batches live there, checkpoints and the saved model on the CPU
  int threads = 1;          // --threads: LibTorch intra-op threads
  int64_t batch_size = 64;  // --batch-size
  bool channels_last = false;  // --channels-last: weights and images in NHWC order for oneDNN; off by default:
                               // on this Zen 3 CPU, one thread, it was no faster for cnn and MobileNetV2 and
                               // slower for ResNet-18 (12.5 vs 13.8 images per CPU second)
  std::string kernels = "auto";  // --kernels: which implementation runs each pass of each convolution and
                                 // batch norm (kernel_dispatch.h): auto measures ours against LibTorch's per
                                 // shape and pass and keeps the faster; libtorch (LibTorch's results bit for
                                 // bit) or wattlab (ours wherever one applies) force one
  int epochs = 1;           // --epochs: at most this many (early stopping may end sooner)
  uint64_t seed = 42;       // --seed: weights, split, shuffling, augmentation and dropout
  std::string precision = "fp32";  // --precision: fp32, or bf16 (LibTorch's autocast, CPU or CUDA after
                                   // --device: convolutions and matrix products in bfloat16, weights and
                                   // losses in float32); fp16 is refused (see validate)
  // Optimisation.
  std::string optimizer = "adam";  // --optimizer: "sgd", "adam" or "adamw"
  double learning_rate = 1e-3;     // --lr: the base rate the schedule starts from
  double momentum = 0.9;           // --momentum (sgd only)
  bool nesterov = false;           // --nesterov (sgd only, needs momentum > 0)
  double weight_decay = -1;        // --weight-decay: L2 penalty (sgd, adam) or decoupled decay (adamw);
                                   // -1 = the optimizer's default: 0, or 0.01 for adamw
  LrScheduleOptions schedule;      // --schedule, --lr-step, --lr-gamma, --warmup-epochs, --plateau-*
  EarlyStoppingOptions early_stopping;  // --early-stopping (patience), --min-delta, --start-from-epoch
  std::string monitor = "loss";    // --monitor: loss or accuracy, of the validation part (the test split
                                   // without --val-split); drives early stopping (plateau always uses loss)
  double width_multiplier = 1.0;   // --width-multiplier: scales every layer's channels
};

// The weight decay the run uses: config.weight_decay, or the optimizer's default when it is -1.
double effective_weight_decay(const TrainConfig& config);

// OK if every setting of `config` is well-formed; otherwise InvalidArgument
// whose message names the flag, the rule and the value given ("--threads must
// be at least 1 (got 0)"). A --device must parse, but whether a CUDA device
// exists is left to validate. Torch-free (train_config.cpp) and does not touch
// the file system: a missing data set is reported by load_train_data.
Status validate_settings(const TrainConfig& config);

// validate_settings, then a CUDA --device must exist (check_device in
// device.h: the message says what LibTorch found and how to get a CUDA
// build): what train_model checks before it starts.
Status validate(const TrainConfig& config);

// Metrics of one epoch: a training pass, an evaluation on the validation part
// (with --val-split), then an evaluation on the test split.
struct EpochMetrics {
  int epoch = 0;             // 1-based
  double learning_rate = 0;  // the rate of this epoch
  double train_loss = 0;     // mean cross-entropy over the epoch's training images (augmented)
  double test_loss = 0;      // mean cross-entropy over the test images
  double accuracy = 0;       // on the test images, in [0, 1]
  double top5_accuracy = 0;  // share of test images whose class is among the 5 highest scores; NaN for <= 5 classes
  double precision_macro = 0;  // unweighted means over the classes present in the
  double recall_macro = 0;     // labels or the predictions; a class never predicted
  double f1_macro = 0;         // has precision 0 (sklearn's zero_division=0)
  double val_loss = 0;       // as test_loss, accuracy and top5_accuracy, on the validation
  double val_accuracy = 0;   // part; NaN without --val-split
  double val_top5_accuracy = 0;
  int64_t train_images = 0;  // images trained on in this epoch
  int64_t val_images = 0;    // images validated (0 without a split)
  int64_t test_images = 0;   // images evaluated
  double train_time_s = 0;   // wall time of the training pass (data already in memory)
  double val_time_s = 0;     // wall time of the validation
  double eval_time_s = 0;    // wall time of the test evaluation
  std::vector<int64_t> confusion;  // num_classes x num_classes, row = true class, column = predicted (test)
};

// Receives the trainer's progress. Every method is called on the thread that
// called train_model; the defaults do nothing.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  // A phase ("epoch-1/train", "epoch-1/validate" with a split, "epoch-1/eval", ...) starts or ends; every begun
  // phase is ended, also when training fails or is cancelled. Meant for energy windows.
  virtual void on_phase_begin(const std::string& phase) {}
  virtual void on_phase_end(const std::string& phase) {}
  // After each training batch: `images_done` of `images_total` in this epoch.
  virtual void on_progress(int epoch, int64_t images_done, int64_t images_total) {}
  // After each batch of an evaluation: `split` is "validation" or
  // "evaluation" (the test split), `images_done` of its `images_total`.
  virtual void on_evaluation_progress(int epoch, const std::string& split, int64_t images_done,
                                      int64_t images_total) {}
  // After each epoch's evaluation.
  virtual void on_epoch_end(int epoch, const EpochMetrics& metrics) {}
  // Once, before training, when a checkpoint is resumed: the metrics of the
  // epochs it holds (on_epoch_end is not called for them).
  virtual void on_resume(const std::vector<EpochMetrics>& earlier_epochs) {}
  // Polled before every batch (training and evaluation); true makes
  // train_model return a Cancelled status.
  virtual bool should_stop() { return false; }
  // Asked after on_epoch_end when more epochs would follow: a non-empty
  // reason ends training there, as a finished run whose stop_reason it
  // becomes (an energy budget, say).
  virtual std::string stop_after_epoch(int epoch) { return ""; }
  // Asked before every batch after should_stop(), `phase` being "training",
  // "validation" or "evaluation" and `images_done` of `images_total` of it
  // done: a non-empty reason ends training there, as stop_after_epoch does,
  // within the epoch. That epoch counts for nothing: no metrics, no
  // checkpoint, and the saved model is that of the last completed epoch
  // (read back from the checkpoint; none is saved without one).
  virtual std::string stop_before_batch(int epoch, const std::string& phase, int64_t images_done,
                                        int64_t images_total) {
    return "";
  }
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int64_t parameter_count = 0;  // trainable scalars of the model
  int64_t num_classes = 0;
  int threads = 0;              // intra-op threads used
  std::vector<double> mean;     // per-channel normalisation used (given or computed)
  std::vector<double> std;
  bool stopped_early = false;   // early stopping or the observer ended the run before config.epochs
  // Why training ended: "completed 10 epochs", or "early_stopping at epoch 7
  // (val_loss best 0.3123 at epoch 4, no improvement > 0 for 3 epochs)".
  std::string stop_reason;
  // The kernel each convolution and batch norm used, per shape and pass, in
  // the order first run (format_layer_kernels prints them one line per
  // layer), under --kernels `kernel_mode`: what two runs must share to be
  // compared kernel for kernel (the run's environment records it).
  std::string kernel_mode;
  std::vector<LayerKernel> kernels;
  double kernel_measure_s = 0;  // what this session spent measuring kernels (0 when all were known): CPU
                                // seconds of the training thread at one thread, wall-clock seconds at more
};

// The splits of a data set in memory, as train_model uses them.
struct TrainData {
  std::string dataset;      // the format read: "idx", "cifar10", "cifar100" or "folder"
  ImageDataset train;       // training images (config.subset of them, less the validation part)
  ImageDataset validation;  // held out with --val-split (stratified, seeded); count 0 without
  ImageDataset test;        // config.test_subset test images (see TrainConfig::test_subset)
};

// The format of the data set in `dir` for --dataset auto: "idx" when it holds
// train-images-idx3-ubyte[.gz], "cifar10" for data_batch_1.bin (or a
// cifar-10-batches-bin/ folder), "cifar100" for train.bin (or
// cifar-100-binary/), "folder" for a train/ sub-folder. NotFound naming the
// folder and the accepted layouts otherwise.
Result<std::string> detect_dataset(const std::string& dir);

// Loads config.data_dir as config.dataset (auto: detect_dataset):
//   idx:      {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//   cifar10:  data_batch_{1..5}.bin and test_batch.bin
//   cifar100: train.bin and test.bin (fine labels)
//   folder:   train/CLASS/IMAGE and test/CLASS/IMAGE (or val/CLASS/IMAGE) image
//             folders; test images take the training images' size, channels
//             and class ids
// then resizes every split to config.resize (if set) and holds out
// config.val_split of the training images. Several trainings can share one load.
// Errors: those of the readers (missing or corrupt files, negative subsets),
// Corrupt when the splits' image sizes differ or one holds no images,
// InvalidArgument for a bad --dataset or --val-split.
Result<TrainData> load_train_data(const TrainConfig& config);

// OK if `config` fits `data`; otherwise InvalidArgument naming the flag:
// --mean or --std with a length other than the channel count, --augment crop
// with a padding not below the image side. Checked by train_model too.
Status validate(const TrainConfig& config, const TrainData& data);

// Builds the model and trains it on `data` (config.data_dir, dataset, subset,
// test_subset, resize, channels and val_split are not used: they shaped
// `data`) for up to config.epochs epochs, evaluating after each. The
// evaluation path never augments.
// Otherwise as the overload below, which loads the data first.
Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer);

// Files a training writes and reads besides the data set (all optional).
struct TrainFiles {
  // Written after every epoch (temporary file, then renamed over it): the
  // model, optimizer and generator states and the metrics so far. Empty: none.
  std::string checkpoint_path;
  // A checkpoint to continue from: training resumes after its last epoch and
  // ends with the same metrics and weights as a run never interrupted (same
  // config, threads and LibTorch build). Its epochs' metrics open
  // TrainResult::epochs; the observer hears only of the epochs trained now.
  // Settings that shape the model, the data or the optimisation (model, width,
  // input shape, classes, optimizer, rates, batch size, seed, augmentation,
  // normalisation) or its arithmetic (precision, channels-last, kernels) must
  // equal the checkpoint's; --epochs may grow. The kernel chosen for each
  // shape and pass is the checkpoint's, not measured anew. --device may change (checkpoints hold CPU
  // tensors; the state moves to the device when loaded), but then the
  // continuation is not bit-identical.
  std::string resume_from;
  // When training ends (not when cancelled or failed), the model as it is
  // after the last epoch goes to DIR/model.pt and its description to
  // DIR/model.json (saved_model.h), for infer/; its tensors are CPU tensors
  // whatever --device, so it loads on any device. Empty: not saved.
  std::string model_dir;
};

// As train_model(config, data, observer), writing and resuming from
// checkpoints as `files` says. Errors also: NotFound for a missing
// resume_from, Corrupt naming an unreadable one, InvalidArgument naming the
// flag whose value differs from the checkpoint's, IoError when a checkpoint
// cannot be written.
Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer,
                                const TrainFiles& files);

// Checks, without training or writing anything, that train_model(config,
// data, observer, files) could resume from the checkpoint `checkpoint_path`:
// it builds the model and reads the checkpoint into it as train_model would.
// Returns the number of epochs the checkpoint holds (training would go on
// from the next one). Errors: those of validate(config) and
// validate(config, data), and those train_model gives for resume_from
// (NotFound, Corrupt, InvalidArgument naming the setting that differs).
Result<int> check_resumable(const TrainConfig& config, const TrainData& data, const std::string& checkpoint_path);

// Loads the data set into memory, builds the model, and trains it for up to
// config.epochs epochs, evaluating after each. Deterministic on the CPU: the
// same config (seed and threads included) on the same machine and LibTorch
// build gives bit-identical metrics (times aside) when it runs the same
// kernels: always with --kernels libtorch or wattlab; with auto once the
// choices are known (in the kernel cache, from an earlier run in this process,
// or from the checkpoint resumed), since a first measurement, or one after the
// cache was deleted, may pick others. CUDA kernels (cuDNN's
// algorithm choice, atomic additions) need not be. Makes glibc keep freed
// memory for reuse, once per process (zoo::reuse_freed_memory: page faults
// cost LibTorch's convolutions up to 5x on a VM; the process keeps its peak
// heap). Sets LibTorch's intra-op
// thread count for the duration of the call and its inter-op thread count to 1 once per process;
// reseeds LibTorch's global generator, so do not run two trainings concurrently
// in one process if you need reproducibility.
// Errors: InvalidArgument (see validate, and --mean/--std whose length is not
// the data's channel count), those of load_train_data (missing or corrupt data), Cancelled when the observer asked to stop, Internal for a
// LibTorch failure (its message included).
Result<TrainResult> train_model(const TrainConfig& config, TrainObserver& observer);

// The LibTorch version this library was compiled against, e.g. "1.13.0".
std::string libtorch_version();

}  // namespace wattlab
