#include "wattlab/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>

#include "wattlab/train/autocast.h"
#include "wattlab/train/batch_loader.h"
#include "wattlab/train/checkpoint.h"
#include "wattlab/train/classification_metrics.h"
#include "wattlab/train/device.h"
#include "wattlab/train/models.h"
#include "wattlab/train/models/kernel_session.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

namespace F = torch::nn::functional;

// Evaluation needs no gradients, so it can take bigger batches than training.
constexpr int64_t kMinEvalBatch = 512;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Ends a begun phase on scope exit, on every path.
class PhaseScope {
 public:
  PhaseScope(TrainObserver& observer, std::string name) : observer_(observer), name_(std::move(name)) {
    observer_.on_phase_begin(name_);
  }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;
  ~PhaseScope() { observer_.on_phase_end(name_); }

 private:
  TrainObserver& observer_;
  std::string name_;
};

// Restores LibTorch's intra-op thread count on scope exit.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(at::get_num_threads()) {
    // Inter-op threads can be set only once per process, and only before any
    // inter-op work; training uses none, so one thread is enough. A failure
    // means someone set it earlier, which is fine.
    static std::once_flag once;
    std::call_once(once, [] {
      try {
        at::set_num_interop_threads(1);
      } catch (const c10::Error&) {
      }
    });
    at::set_num_threads(threads);
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;
  ~ThreadCountScope() { at::set_num_threads(previous_); }

 private:
  int previous_;
};

// Turns LibTorch's autocast to bfloat16 on for its lifetime when `enabled`
// (--precision bf16), the CPU's or CUDA's after `device`: the operations
// autocast lists run in bfloat16, the rest (losses, reductions) in float32;
// the weights stay float32.
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device) : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    previous_enabled_ = autocast::enabled(cuda_);
    previous_dtype_ = autocast::dtype(cuda_);
    autocast::set(cuda_, true, at::kBFloat16);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;
  ~AutocastScope() {
    if (!enabled_) return;
    autocast::set(cuda_, previous_enabled_, previous_dtype_);
    if (!previous_enabled_) at::autocast::clear_cache();  // casts of weights that the next step changes
  }

 private:
  bool enabled_;
  bool cuda_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

Status cancelled(int epoch, const char* phase, int64_t done, int64_t total) {
  return Status::cancelled("training stopped on request in epoch " + std::to_string(epoch) + " (" + phase +
                           ", after " + std::to_string(done) + " of " + std::to_string(total) + " images)");
}

// A Fisher-Yates shuffle driven by std::mt19937_64, whose output the C++
// standard fixes (std::shuffle's algorithm it does not).
void shuffle(std::vector<int64_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
}

// Loss, confusion matrix and top-5 hits of the model on one split, in order,
// never augmented.
struct Evaluation {
  double loss = 0;                 // mean cross-entropy
  std::vector<int64_t> confusion;  // num_classes x num_classes
  double accuracy = 0;
  double top5_accuracy = NAN;      // NaN for <= 5 classes
};

// A batch's floats [count, channels, height, width] as the model takes them:
// channels-last (one copy, none for one channel) when `channels_last`, on
// `device` (no copy on the CPU).
torch::Tensor batch_images(Batch& batch, const ImageDataset& data, bool channels_last, const torch::Device& device) {
  torch::Tensor images =
      torch::from_blob(batch.images.data(), {batch.count, data.channels, data.height, data.width}, torch::kFloat32);
  return (channels_last ? images.contiguous(torch::MemoryFormat::ChannelsLast) : images).to(device);
}

// A batch's labels [count] on `device`.
torch::Tensor batch_labels(Batch& batch, const torch::Device& device) {
  return torch::from_blob(batch.labels.data(), {batch.count}, torch::kInt64).to(device);
}

// Stores every 4-d parameter (the convolutions' weights) channels-last.
void to_channels_last(ClassifierImpl& model) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : model.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

// Evaluates `model` on `data`; when the observer ends the run before a batch,
// returns OK with its reason in `*stop_reason` and `out` unset.
Status evaluate(ClassifierImpl& model, const ImageDataset& data, const LoaderOptions& options, int64_t num_classes,
                bool channels_last, const torch::Device& device, int epoch, const char* what, TrainObserver& observer,
                Evaluation& out, std::string* stop_reason) {
  c10::InferenceMode inference;  // no autograd bookkeeping at all (stronger than NoGradGuard)
  model.eval();
  std::vector<int64_t> order(static_cast<size_t>(data.count));
  for (int64_t i = 0; i < data.count; ++i) order[i] = i;
  BatchLoader loader(data, std::move(order), options);
  double loss_sum = 0;
  int64_t top5_hits = 0;
  torch::Tensor confusion = torch::zeros({num_classes * num_classes}, torch::dtype(torch::kInt64).device(device));
  Batch batch;
  for (int64_t done = 0; loader.next(batch); done += batch.count) {
    if (observer.should_stop()) return cancelled(epoch, what, done, data.count);
    *stop_reason = observer.stop_before_batch(epoch, what, done, data.count);
    if (!stop_reason->empty()) return Status();
    const torch::Tensor images = batch_images(batch, data, channels_last, device);
    const torch::Tensor labels = batch_labels(batch, device);
    const torch::Tensor logits = model.forward(images);
    loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    confusion += torch::bincount(labels * num_classes + logits.argmax(1), {}, num_classes * num_classes);
    if (num_classes > 5) {
      const torch::Tensor top5 = std::get<1>(logits.topk(5, 1));
      top5_hits += top5.eq(labels.unsqueeze(1)).any(1).sum().item<int64_t>();
    }
    observer.on_evaluation_progress(epoch, what, done + batch.count, data.count);
  }
  out.loss = loss_sum / static_cast<double>(data.count);
  confusion = confusion.to(torch::kCPU);
  out.confusion.assign(confusion.data_ptr<int64_t>(), confusion.data_ptr<int64_t>() + confusion.numel());
  int64_t correct = 0;
  for (int64_t c = 0; c < num_classes; ++c) correct += out.confusion[c * num_classes + c];
  out.accuracy = static_cast<double>(correct) / static_cast<double>(data.count);
  if (num_classes > 5) out.top5_accuracy = static_cast<double>(top5_hits) / static_cast<double>(data.count);
  return Status();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, ClassifierImpl& model) {
  const double decay = effective_weight_decay(c);
  if (c.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        model.parameters(),
        torch::optim::SGDOptions(c.learning_rate).momentum(c.momentum).nesterov(c.nesterov).weight_decay(decay));
  }
  if (c.optimizer == "adamw") {
    return std::make_unique<torch::optim::AdamW>(model.parameters(),
                                                 torch::optim::AdamWOptions(c.learning_rate).weight_decay(decay));
  }
  return std::make_unique<torch::optim::Adam>(model.parameters(),
                                              torch::optim::AdamOptions(c.learning_rate).weight_decay(decay));
}

std::string format_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// The settings a checkpoint must share with the run resuming it, by flag.
std::map<std::string, std::string> checkpoint_settings(const TrainConfig& c, const TrainData& data,
                                                       const TrainResult& result) {
  auto list = [](const std::vector<double>& values) {
    std::string text;
    for (double v : values) {
      if (!text.empty()) text += ',';
      text += format_value(v);
    }
    return text;
  };
  return {{"--model", c.model},
          {"--width-multiplier", format_value(c.width_multiplier)},
          {"input shape", std::to_string(data.train.channels) + "x" + std::to_string(data.train.height) + "x" +
                              std::to_string(data.train.width)},
          {"classes", std::to_string(result.num_classes)},
          {"training images", std::to_string(data.train.count)},
          {"validation images", std::to_string(data.validation.count)},
          {"--optimizer", c.optimizer},
          {"--lr", format_value(c.learning_rate)},
          {"--momentum", format_value(c.momentum)},
          {"--nesterov", c.nesterov ? "true" : "false"},
          {"--weight-decay", format_value(effective_weight_decay(c))},
          {"--batch-size", std::to_string(c.batch_size)},
          {"--seed", std::to_string(c.seed)},
          {"--precision", c.precision},
          {"--channels-last", c.channels_last ? "true" : "false"},
          {"--kernels", c.kernels},
          {"--augment", c.augment},
          {"--crop-padding", std::to_string(c.crop_padding)},
          {"--mean", list(result.mean)},
          {"--std", list(result.std)}};
}

// LibTorch's default CPU generator, which draws initial weights and dropout masks.
at::Generator torch_generator() { return at::detail::getDefaultCPUGenerator(); }

// Saves the state after the epochs in `epochs` (see checkpoint.h).
Status write_checkpoint(const std::string& path, const ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                        const std::vector<EpochMetrics>& epochs, const std::vector<int64_t>& order,
                        const std::mt19937_64& shuffle_rng, const std::map<std::string, std::string>& settings,
                        const KernelChooser& kernels) {
  TrainingState state;
  state.epochs = epochs;
  state.order = order;
  std::ostringstream rng;
  rng << shuffle_rng;
  state.shuffle_rng = rng.str();
  at::Generator generator = torch_generator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state.torch_rng = generator.get_state();
  }
  state.settings = settings;
  state.kernel_choices = kernels.choices();
  return save_checkpoint(path, model, optimizer, state);
}

// What training builds before its first epoch: the model and its optimizer,
// the figures derived from the data, and the settings a checkpoint must share.
struct Prepared {
  TrainResult result;  // mean, std, num_classes, threads and parameter_count set
  ModelShape shape;
  std::shared_ptr<ClassifierImpl> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  torch::Device device = torch::kCPU;
  std::map<std::string, std::string> settings;  // checkpoint_settings
};

// Checks `data` against `config`, then builds the model (its weights drawn
// from config.seed) on config.device, and its optimizer.
Result<Prepared> prepare(const TrainConfig& config, const TrainData& data) {
  const ImageDataset& train_data = data.train;
  const ImageDataset& val_data = data.validation;
  const ImageDataset& test_data = data.test;
  if (train_data.count == 0 || test_data.count == 0 || train_data.height != test_data.height ||
      train_data.width != test_data.width || train_data.channels != test_data.channels) {
    return Status::invalid_argument("training data: the splits must both hold images of one size (train: " +
                                    std::to_string(train_data.count) + " images, test: " +
                                    std::to_string(test_data.count) + ")");
  }
  WATTLAB_RETURN_IF_ERROR(validate(config, data));
  torch::manual_seed(config.seed);
  Prepared p;
  TrainResult& result = p.result;
  const ChannelStats stats = channel_stats(train_data);
  result.mean = config.mean.empty() ? stats.mean : config.mean;
  result.std = config.std.empty() ? stats.std : config.std;
  result.num_classes = std::max({train_data.num_classes, test_data.num_classes, val_data.num_classes});
  result.threads = config.threads;
  p.shape.in_channels = train_data.channels;
  p.shape.height = train_data.height;
  p.shape.width = train_data.width;
  p.shape.num_classes = result.num_classes;
  p.shape.width_multiplier = config.width_multiplier;
  Result<std::shared_ptr<ClassifierImpl>> made = make_model(config.model, p.shape);
  if (!made.ok()) return made.status();
  p.model = *made;
  result.parameter_count = parameter_count(*p.model);
  zoo::name_kernel_layers(*p.model);
  p.device = torch::Device(parse_device(config.device)->name());
  p.model->to(p.device);  // drawn on the CPU, so the same seed gives the same weights on every device
  if (config.channels_last) to_channels_last(*p.model);
  p.optimizer = make_optimizer(config, *p.model);
  p.settings = checkpoint_settings(config, data, result);
  return p;
}

// Reads checkpoint `path` into p's model and optimizer and into `state`:
// refused when its settings differ (load_checkpoint) or its training order
// does not fit `data`.
Status load_resumable(const std::string& path, const TrainData& data, Prepared& p, TrainingState& state) {
  WATTLAB_RETURN_IF_ERROR(load_checkpoint(path, p.settings, p.device, *p.model, *p.optimizer, state));
  if (state.order.size() != static_cast<size_t>(data.train.count)) {
    return Status::corrupt("checkpoint " + path + " is corrupt (a training order of " +
                           std::to_string(state.order.size()) + " images for " + std::to_string(data.train.count) +
                           ")");
  }
  return Status();
}

Result<TrainResult> train(const TrainConfig& config, const TrainData& data, TrainObserver& observer,
                          const TrainFiles& files) {
  const ImageDataset& train_data = data.train;
  const ImageDataset& val_data = data.validation;
  const ImageDataset& test_data = data.test;
  ThreadCountScope threads(config.threads);
  zoo::reuse_freed_memory();
  // The kernel of each convolution's and batch norm's passes, chosen as the model first runs each shape.
  KernelChooserOptions kernel_options;
  kernel_options.mode = *parse_kernel_mode(config.kernels);
  kernel_options.clock_s = zoo::kernel_clock_s;
  kernel_options.cache_path = default_kernel_cache_path();
  kernel_options.cache_scope = kernel_cache_scope(config.threads, libtorch_version());
  KernelChooser kernels(kernel_options);
  zoo::KernelSession kernel_session(kernels);
  Result<Prepared> prepared = prepare(config, data);
  if (!prepared.ok()) return prepared.status();
  const int64_t side = std::min(train_data.height, train_data.width);
  Result<AugmentOptions> augment = parse_augment(config.augment, config.crop_padding, side);
  if (!augment.ok()) return augment.status();
  std::mt19937_64 shuffle_rng(config.seed);

  TrainResult result = prepared->result;
  const ModelShape& shape = prepared->shape;
  std::shared_ptr<ClassifierImpl> model = prepared->model;
  torch::optim::Optimizer* const optimizer = prepared->optimizer.get();
  const torch::Device device = prepared->device;
  const std::map<std::string, std::string>& settings = prepared->settings;

  LrSchedule schedule(config.schedule, config.learning_rate, config.epochs);
  EarlyStoppingOptions stopping = config.early_stopping;
  stopping.maximize = config.monitor == "accuracy";
  EarlyStopping early_stopping(stopping);
  const bool has_validation = val_data.count > 0;
  const std::string monitored = std::string(has_validation ? "val_" : "test_") +
                                (config.monitor == "accuracy" ? "accuracy" : "loss");

  LoaderOptions train_loading;
  train_loading.batch_size = config.batch_size;
  train_loading.augment = *augment;
  train_loading.mean = result.mean;
  train_loading.std = result.std;
  train_loading.prefetch_depth = config.prefetch;
  LoaderOptions eval_loading = train_loading;
  eval_loading.augment = AugmentOptions{};
  eval_loading.batch_size = std::max(config.batch_size, kMinEvalBatch);

  const int64_t num_classes = result.num_classes;
  const bool bf16 = config.precision == "bf16";
  std::vector<int64_t> order(train_data.count);
  for (int64_t i = 0; i < train_data.count; ++i) order[i] = i;

  // What the early stopping and the plateau schedule watch in an epoch's metrics.
  auto monitored_loss = [&](const EpochMetrics& m) { return has_validation ? m.val_loss : m.test_loss; };
  auto monitored_value = [&](const EpochMetrics& m) {
    return config.monitor == "accuracy" ? (has_validation ? m.val_accuracy : m.accuracy) : monitored_loss(m);
  };
  if (!files.resume_from.empty()) {
    TrainingState state;
    WATTLAB_RETURN_IF_ERROR(load_resumable(files.resume_from, data, *prepared, state));
    observer.on_resume(state.epochs);
    order = std::move(state.order);
    kernels.replay(state.kernel_choices);
    std::istringstream(state.shuffle_rng) >> shuffle_rng;
    at::Generator generator = torch_generator();
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(state.torch_rng);
    }
    // The schedule's and early stopping's state follow from the monitored metrics.
    for (const EpochMetrics& m : state.epochs) {
      schedule.observe(monitored_loss(m));
      early_stopping.observe(m.epoch, monitored_value(m));
    }
    result.epochs = std::move(state.epochs);
  }
  const int first_epoch = static_cast<int>(result.epochs.size()) + 1;
  std::string stop_within_epoch;  // why the observer ended training inside an epoch (stop_before_batch)

  for (int epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    const std::string prefix = "epoch-" + std::to_string(epoch);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_images = train_data.count;
    m.val_images = val_data.count;
    m.test_images = test_data.count;
    for (auto& group : optimizer->param_groups()) group.options().set_lr(schedule.lr(epoch));
    m.learning_rate = optimizer->param_groups().front().options().get_lr();  // what the optimizer uses

    shuffle(order, shuffle_rng);
    {
      PhaseScope phase(observer, prefix + "/train");
      const auto start = std::chrono::steady_clock::now();
      model->train();
      train_loading.seed = config.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch);
      BatchLoader loader(train_data, order, train_loading);
      double loss_sum = 0;
      Batch batch;
      for (int64_t done = 0; loader.next(batch); done += batch.count) {
        if (observer.should_stop()) return cancelled(epoch, "training", done, train_data.count);
        stop_within_epoch = observer.stop_before_batch(epoch, "training", done, train_data.count);
        if (!stop_within_epoch.empty()) break;
        const torch::Tensor images = batch_images(batch, train_data, config.channels_last, device);
        const torch::Tensor labels = batch_labels(batch, device);
        // Dropping the gradients (rather than zeroing them) lets backward hand
        // over its fresh gradient tensors instead of adding them to zeros.
        for (torch::Tensor& p : model->parameters()) p.mutable_grad().reset();
        torch::Tensor loss;
        {
          AutocastScope autocast(bf16, device);  // the forward pass only, as PyTorch recommends
          loss = F::cross_entropy(model->forward(images), labels);
        }
        loss.backward();
        optimizer->step();
        loss_sum += loss.item<double>() * static_cast<double>(batch.count);
        observer.on_progress(epoch, done + batch.count, train_data.count);
      }
      if (!stop_within_epoch.empty()) break;
      m.train_loss = loss_sum / static_cast<double>(train_data.count);
      m.train_time_s = seconds_since(start);
    }
    m.val_loss = m.val_accuracy = m.val_top5_accuracy = NAN;
    if (has_validation) {
      PhaseScope phase(observer, prefix + "/validate");
      AutocastScope autocast(bf16, device);
      const auto start = std::chrono::steady_clock::now();
      Evaluation e;
      WATTLAB_RETURN_IF_ERROR(evaluate(*model, val_data, eval_loading, num_classes, config.channels_last, device,
                                       epoch, "validation", observer, e, &stop_within_epoch));
      if (!stop_within_epoch.empty()) break;
      m.val_loss = e.loss;
      m.val_accuracy = e.accuracy;
      m.val_top5_accuracy = e.top5_accuracy;
      m.val_time_s = seconds_since(start);
    }
    {
      PhaseScope phase(observer, prefix + "/eval");
      AutocastScope autocast(bf16, device);
      const auto start = std::chrono::steady_clock::now();
      Evaluation e;
      WATTLAB_RETURN_IF_ERROR(evaluate(*model, test_data, eval_loading, num_classes, config.channels_last, device,
                                       epoch, "evaluation", observer, e, &stop_within_epoch));
      if (!stop_within_epoch.empty()) break;
      m.test_loss = e.loss;
      m.top5_accuracy = e.top5_accuracy;
      m.confusion = std::move(e.confusion);
      const ClassificationScores scores = classification_scores(m.confusion, num_classes);
      m.accuracy = scores.accuracy;
      m.precision_macro = scores.precision_macro;
      m.recall_macro = scores.recall_macro;
      m.f1_macro = scores.f1_macro;
      m.eval_time_s = seconds_since(start);
    }
    schedule.observe(monitored_loss(m));
    const bool stop = early_stopping.observe(epoch, monitored_value(m));
    result.epochs.push_back(m);
    if (!files.checkpoint_path.empty()) {
      WATTLAB_RETURN_IF_ERROR(write_checkpoint(files.checkpoint_path, *model, *optimizer, result.epochs, order,
                                               shuffle_rng, settings, kernels));
    }
    // Best effort: a cache that cannot be written only means measuring again next time.
    (void)kernels.save_cache();
    observer.on_epoch_end(epoch, m);
    if (stop && epoch < config.epochs) {
      result.stopped_early = true;
      result.stop_reason = "early_stopping at epoch " + std::to_string(epoch) + " (" + monitored + " best " +
                           format_value(early_stopping.best_value()) + " at epoch " +
                           std::to_string(early_stopping.best_epoch()) + ", no improvement > " +
                           format_value(config.early_stopping.min_delta) + " for " +
                           std::to_string(early_stopping.epochs_without_improvement()) + " epochs)";
      break;
    }
    if (epoch < config.epochs) {
      if (std::string reason = observer.stop_after_epoch(epoch); !reason.empty()) {
        result.stopped_early = true;
        result.stop_reason = std::move(reason);
        break;
      }
    }
  }
  bool weights_of_last_epoch = true;
  if (!stop_within_epoch.empty()) {
    result.stopped_early = true;
    result.stop_reason = std::move(stop_within_epoch);
    // The weights moved on in the epoch cut short: the last completed one's are in its checkpoint.
    weights_of_last_epoch = !files.checkpoint_path.empty() && !result.epochs.empty();
    if (weights_of_last_epoch) {
      TrainingState state;
      WATTLAB_RETURN_IF_ERROR(load_resumable(files.checkpoint_path, data, *prepared, state));
    }
  }
  if (!result.stopped_early) result.stop_reason = "completed " + std::to_string(config.epochs) + " epochs";
  result.kernel_mode = config.kernels;
  result.kernels = kernels.layers();
  result.kernel_measure_s = kernels.measuring_s();
  if (!files.model_dir.empty() && !result.epochs.empty() && weights_of_last_epoch) {
    SavedModelInfo saved{config.model, config.width_multiplier, shape.in_channels, shape.height, shape.width,
                         num_classes, result.mean, result.std, result.epochs.back().epoch,
                         result.epochs.back().accuracy, libtorch_version()};
    WATTLAB_RETURN_IF_ERROR(save_trained_model(files.model_dir, *model, saved));
  }
  return result;
}

}  // namespace

double effective_weight_decay(const TrainConfig& config) {
  if (config.weight_decay >= 0) return config.weight_decay;
  return config.optimizer == "adamw" ? 0.01 : 0.0;
}

Status validate(const TrainConfig& c) {
  WATTLAB_RETURN_IF_ERROR(validate_settings(c));
  return check_device(c.device);
}

Result<TrainResult> train_model(const TrainConfig& config, TrainObserver& observer) {
  WATTLAB_RETURN_IF_ERROR(validate(config));
  Result<TrainData> data = load_train_data(config);
  if (!data.ok()) return data.status();
  return train_model(config, *data, observer);
}

Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer) {
  return train_model(config, data, observer, TrainFiles{});
}

namespace {

// Runs `work` (which uses LibTorch on config.model), turning an exception into Internal.
template <typename T, typename Work>
Result<T> catching_torch_errors(const TrainConfig& config, Work work) {
  try {
    return work();
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return Status::internal("LibTorch failed while training " + config.model + ": " + what.substr(0, what.find('\n')));
  } catch (const std::exception& e) {
    return Status::internal("training " + config.model + " failed: " + e.what());
  }
}

}  // namespace

Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer,
                                const TrainFiles& files) {
  WATTLAB_RETURN_IF_ERROR(validate(config));
  return catching_torch_errors<TrainResult>(config, [&] { return train(config, data, observer, files); });
}

Result<int> check_resumable(const TrainConfig& config, const TrainData& data, const std::string& checkpoint_path) {
  WATTLAB_RETURN_IF_ERROR(validate(config));
  return catching_torch_errors<int>(config, [&]() -> Result<int> {
    Result<Prepared> prepared = prepare(config, data);
    if (!prepared.ok()) return prepared.status();
    TrainingState state;
    WATTLAB_RETURN_IF_ERROR(load_resumable(checkpoint_path, data, *prepared, state));
    return static_cast<int>(state.epochs.size());
  });
}

std::string libtorch_version() { return TORCH_VERSION; }

}  // namespace wattlab
