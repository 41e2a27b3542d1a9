#include "wattlab/train/trainer.h"

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>

#include "wattlab/train/idx.h"
#include "wattlab/train/models.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

namespace F = torch::nn::functional;

// Evaluation needs no gradients, so it can take bigger batches than training.
constexpr int64_t kMinEvalBatch = 512;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A split in memory: images as normalised floats [N, 1, H, W], labels as int64 [N].
struct TensorSplit {
  torch::Tensor images;
  torch::Tensor labels;
  int64_t count = 0;
};

// `mean` and `std` come from the training split so that both splits share them.
TensorSplit to_tensors(const IdxDataset& data, double mean, double std) {
  TensorSplit split;
  split.count = data.count;
  auto pixels = torch::from_blob(const_cast<uint8_t*>(data.pixels.data()), {data.count, 1, data.rows, data.cols},
                                 torch::kUInt8);
  split.images = pixels.to(torch::kFloat32).div_(255.0).sub_(mean).div_(std).contiguous();
  split.labels = torch::from_blob(const_cast<uint8_t*>(data.labels.data()), {data.count}, torch::kUInt8)
                     .to(torch::kInt64);
  return split;
}

// Mean and standard deviation of the pixels scaled to [0, 1], computed in a
// fixed order so that they are reproducible.
void pixel_stats(const std::vector<uint8_t>& pixels, double& mean, double& std) {
  uint64_t histogram[256] = {};
  for (uint8_t p : pixels) ++histogram[p];
  double sum = 0, sum_sq = 0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0;
    sum += x * static_cast<double>(histogram[v]);
    sum_sq += x * x * static_cast<double>(histogram[v]);
  }
  const double n = static_cast<double>(std::max<size_t>(pixels.size(), 1));
  mean = sum / n;
  std = std::sqrt(std::max(sum_sq / n - mean * mean, 1e-12));
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

// Macro precision, recall and F1 from a confusion matrix (row = true class),
// over the classes that occur in the labels or the predictions (as sklearn).
void macro_scores(const std::vector<int64_t>& confusion, int64_t num_classes, EpochMetrics& m) {
  double precision_sum = 0, recall_sum = 0, f1_sum = 0;
  int64_t classes = 0, correct = 0, total = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    int64_t actual = 0, predicted = 0;
    for (int64_t k = 0; k < num_classes; ++k) {
      actual += confusion[c * num_classes + k];
      predicted += confusion[k * num_classes + c];
    }
    const int64_t tp = confusion[c * num_classes + c];
    correct += tp;
    total += actual;
    if (actual == 0 && predicted == 0) continue;
    const double precision = predicted > 0 ? static_cast<double>(tp) / predicted : 0.0;
    const double recall = actual > 0 ? static_cast<double>(tp) / actual : 0.0;
    precision_sum += precision;
    recall_sum += recall;
    f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    ++classes;
  }
  m.accuracy = total > 0 ? static_cast<double>(correct) / total : 0.0;
  if (classes > 0) {
    m.precision_macro = precision_sum / classes;
    m.recall_macro = recall_sum / classes;
    m.f1_macro = f1_sum / classes;
  }
}

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

Result<TrainResult> train(const TrainConfig& config, const TrainData& data, TrainObserver& observer) {
  const IdxDataset* train_data = &data.train;
  const IdxDataset* test_data = &data.test;
  if (train_data->count == 0 || test_data->count == 0 || train_data->rows != test_data->rows ||
      train_data->cols != test_data->cols) {
    return Status::invalid_argument("training data: the splits must both hold images of one size (train: " +
                                    std::to_string(train_data->count) + " images, test: " +
                                    std::to_string(test_data->count) + ")");
  }

  ThreadCountScope threads(config.threads);
  torch::manual_seed(config.seed);
  std::mt19937_64 shuffle_rng(config.seed);

  double mean = 0, std = 1;
  pixel_stats(train_data->pixels, mean, std);
  const TensorSplit train_split = to_tensors(*train_data, mean, std);
  const TensorSplit test_split = to_tensors(*test_data, mean, std);

  TrainResult result;
  result.num_classes = std::max(train_data->num_classes, test_data->num_classes);
  result.threads = config.threads;
  ModelShape shape;
  shape.height = train_data->rows;
  shape.width = train_data->cols;
  shape.num_classes = result.num_classes;
  shape.width_multiplier = config.width_multiplier;
  Result<std::shared_ptr<ClassifierImpl>> made = make_model(config.model, shape);
  if (!made.ok()) return made.status();
  std::shared_ptr<ClassifierImpl> model = *made;
  result.parameter_count = parameter_count(*model);

  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (config.optimizer == "sgd") {
    optimizer = std::make_unique<torch::optim::SGD>(
        model->parameters(), torch::optim::SGDOptions(config.learning_rate).momentum(config.momentum));
  } else {
    optimizer = std::make_unique<torch::optim::Adam>(model->parameters(),
                                                     torch::optim::AdamOptions(config.learning_rate));
  }

  const int64_t num_classes = result.num_classes;
  const int64_t eval_batch = std::max(config.batch_size, kMinEvalBatch);
  std::vector<int64_t> order(train_split.count);
  for (int64_t i = 0; i < train_split.count; ++i) order[i] = i;

  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    const std::string prefix = "epoch-" + std::to_string(epoch);
    EpochMetrics m;
    m.epoch = epoch;
    m.train_images = train_split.count;
    m.test_images = test_split.count;

    shuffle(order, shuffle_rng);
    const torch::Tensor permutation = torch::from_blob(order.data(), {train_split.count}, torch::kInt64);
    {
      PhaseScope phase(observer, prefix + "/train");
      const auto start = std::chrono::steady_clock::now();
      model->train();
      double loss_sum = 0;
      for (int64_t begin = 0; begin < train_split.count; begin += config.batch_size) {
        if (observer.should_stop()) return cancelled(epoch, "training", begin, train_split.count);
        const int64_t end = std::min(begin + config.batch_size, train_split.count);
        const torch::Tensor index = permutation.slice(0, begin, end);
        const torch::Tensor images = train_split.images.index_select(0, index);
        const torch::Tensor labels = train_split.labels.index_select(0, index);
        optimizer->zero_grad();
        torch::Tensor loss = F::cross_entropy(model->forward(images), labels);
        loss.backward();
        optimizer->step();
        loss_sum += loss.item<double>() * static_cast<double>(end - begin);
        observer.on_progress(epoch, end, train_split.count);
      }
      m.train_loss = loss_sum / static_cast<double>(train_split.count);
      m.train_time_s = seconds_since(start);
    }
    {
      PhaseScope phase(observer, prefix + "/eval");
      const auto start = std::chrono::steady_clock::now();
      torch::NoGradGuard no_grad;
      model->eval();
      double loss_sum = 0;
      torch::Tensor confusion = torch::zeros({num_classes * num_classes}, torch::kInt64);
      for (int64_t begin = 0; begin < test_split.count; begin += eval_batch) {
        if (observer.should_stop()) return cancelled(epoch, "evaluation", begin, test_split.count);
        const int64_t end = std::min(begin + eval_batch, test_split.count);
        const torch::Tensor images = test_split.images.slice(0, begin, end);
        const torch::Tensor labels = test_split.labels.slice(0, begin, end);
        const torch::Tensor logits = model->forward(images);
        loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        confusion += torch::bincount(labels * num_classes + logits.argmax(1), {}, num_classes * num_classes);
      }
      m.test_loss = loss_sum / static_cast<double>(test_split.count);
      m.confusion.assign(confusion.data_ptr<int64_t>(), confusion.data_ptr<int64_t>() + confusion.numel());
      macro_scores(m.confusion, num_classes, m);
      m.eval_time_s = seconds_since(start);
    }
    observer.on_epoch_end(epoch, m);
    result.epochs.push_back(std::move(m));
  }
  return result;
}

}  // namespace

Result<TrainData> load_train_data(const TrainConfig& config) {
  TrainData data;
  Result<IdxDataset> train = load_idx_dataset(config.data_dir, "train", config.subset);
  if (!train.ok()) return train.status();
  Result<IdxDataset> test = load_idx_dataset(config.data_dir, "t10k", config.test_subset);
  if (!test.ok()) return test.status();
  if (train->rows != test->rows || train->cols != test->cols) {
    return Status::corrupt(config.data_dir + ": training images are " + std::to_string(train->rows) + "x" +
                           std::to_string(train->cols) + " but test images " + std::to_string(test->rows) + "x" +
                           std::to_string(test->cols) + " — pass a --data-dir holding one data set");
  }
  if (train->count == 0 || test->count == 0) {
    return Status::corrupt(config.data_dir + ": the training or the test split holds no images — pass --data-dir");
  }
  data.train = std::move(*train);
  data.test = std::move(*test);
  return data;
}

Status validate(const TrainConfig& c) {
  auto bad = [](const std::string& flag, const std::string& rule, const std::string& got) {
    return Status::invalid_argument(flag + " must be " + rule + " (got " + got + ")");
  };
  WATTLAB_RETURN_IF_ERROR(check_model_name(c.model));
  if (c.data_dir.empty()) return bad("--data-dir", "a folder holding the IDX files", "an empty path");
  if (c.subset < 0) return bad("--subset", "0 (all images) or positive", std::to_string(c.subset));
  if (c.test_subset < 0) return bad("--test-subset", "0 (all images) or positive", std::to_string(c.test_subset));
  if (c.threads < 1) return bad("--threads", "at least 1", std::to_string(c.threads));
  if (c.batch_size < 1) return bad("--batch-size", "at least 1", std::to_string(c.batch_size));
  if (c.epochs < 1) return bad("--epochs", "at least 1", std::to_string(c.epochs));
  if (c.optimizer != "sgd" && c.optimizer != "adam") return bad("--optimizer", "sgd or adam", "\"" + c.optimizer + "\"");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate)) {
    return bad("--lr", "a positive number", std::to_string(c.learning_rate));
  }
  if (!(c.momentum >= 0 && c.momentum < 1)) return bad("--momentum", "in [0, 1)", std::to_string(c.momentum));
  if (!(c.width_multiplier > 0) || !std::isfinite(c.width_multiplier)) {
    return bad("--width-multiplier", "a positive number", std::to_string(c.width_multiplier));
  }
  return Status();
}

Result<TrainResult> train_model(const TrainConfig& config, TrainObserver& observer) {
  WATTLAB_RETURN_IF_ERROR(validate(config));
  Result<TrainData> data = load_train_data(config);
  if (!data.ok()) return data.status();
  return train_model(config, *data, observer);
}

Result<TrainResult> train_model(const TrainConfig& config, const TrainData& data, TrainObserver& observer) {
  WATTLAB_RETURN_IF_ERROR(validate(config));
  try {
    return train(config, data, observer);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return Status::internal("LibTorch failed while training " + config.model + ": " + what.substr(0, what.find('\n')));
  } catch (const std::exception& e) {
    return Status::internal("training " + config.model + " failed: " + e.what());
  }
}

std::string libtorch_version() { return TORCH_VERSION; }

}  // namespace wattlab
