#include "wattlab/train/trainer.h"

#include "wattlab/train/checkpoint.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/serialize/input-archive.h>
#include <torch/version.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "wattlab/train/device.h"
#include "wattlab/train/models.h"
#include "wattlab/train/models_torch.h"
#include "wattlab/train/saved_model.h"

namespace wattlab {
namespace {

const char kDataDir[] = "/usr/share/datasets/fashion-mnist";

// The kernel choices these tests' runs cache go to a folder of their own, not the user's cache.
const bool kPrivateKernelCache = [] {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "wattlab-trainer-test-cache";
  return setenv("XDG_CACHE_HOME", dir.c_str(), 1) == 0;
}();

bool have_data() { return std::filesystem::exists(std::string(kDataDir) + "/train-images-idx3-ubyte.gz"); }

// Records every callback, and asks to stop after `stop_after_polls` polls (-1: never).
class RecordingObserver : public TrainObserver {
 public:
  void on_phase_begin(const std::string& phase) override { events.push_back("begin " + phase); }
  void on_phase_end(const std::string& phase) override { events.push_back("end " + phase); }
  void on_progress(int epoch, int64_t done, int64_t total) override {
    ++progress_calls;
    last_done = done;
    last_total = total;
  }
  void on_epoch_end(int epoch, const EpochMetrics& m) override { events.push_back("epoch " + std::to_string(epoch)); }
  bool should_stop() override { return stop_after_polls >= 0 && polls++ >= stop_after_polls; }

  std::vector<std::string> events;
  int progress_calls = 0;
  int64_t last_done = 0, last_total = 0;
  int stop_after_polls = -1;
  int polls = 0;
};

TrainConfig small_config() {
  TrainConfig config;
  config.model = "cnn";
  config.data_dir = kDataDir;
  config.subset = 512;
  config.test_subset = 512;
  config.threads = 1;
  config.batch_size = 64;
  config.epochs = 1;
  config.seed = 7;
  return config;
}

TEST(TrainerTest, ValidateNamesTheFlag) {
  const TrainConfig defaults;
  EXPECT_TRUE(validate(defaults).ok());
  TrainConfig c;
  c.threads = 0;
  EXPECT_EQ(validate(c).message(), "--threads must be at least 1 (got 0)");
  c = defaults;
  c.batch_size = 0;
  EXPECT_EQ(validate(c).message(), "--batch-size must be at least 1 (got 0)");
  c = defaults;
  c.epochs = -2;
  EXPECT_EQ(validate(c).message(), "--epochs must be at least 1 (got -2)");
  c = defaults;
  c.optimizer = "rmsprop";
  EXPECT_EQ(validate(c).message(), "--optimizer must be sgd, adam or adamw (got \"rmsprop\")");
  c = defaults;
  c.nesterov = true;  // with adam
  EXPECT_EQ(validate(c).message(),
            "--nesterov must be used with --optimizer sgd and --momentum above 0 (got optimizer adam, momentum 0.900000)");
  c = defaults;
  c.dataset = "imagenet";
  EXPECT_EQ(validate(c).message(), "--dataset must be auto, idx, cifar10, cifar100 or folder (got \"imagenet\")");
  c = defaults;
  c.val_split = 1.5;
  EXPECT_EQ(validate(c).message(), "--val-split must be 0 (none) or a fraction in (0, 1) (got 1.500000)");
  c = defaults;
  c.augment = "crop,rotate";
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  c = defaults;
  c.schedule.kind = "exp";
  EXPECT_EQ(validate(c).message(), "--schedule must be none, step, cosine or plateau (got \"exp\")");
  c = defaults;
  c.monitor = "f1";
  EXPECT_EQ(validate(c).message(), "--monitor must be loss or accuracy (got \"f1\")");
  c = defaults;
  c.weight_decay = -0.5;
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  c = defaults;
  c.optimizer = "adamw";
  EXPECT_DOUBLE_EQ(effective_weight_decay(c), 0.01);
  c.weight_decay = 0;
  EXPECT_DOUBLE_EQ(effective_weight_decay(c), 0.0);
  c = defaults;
  c.model = "resnet";
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  EXPECT_NE(validate(c).message().find("cnn, lenet5, resnet18"), std::string::npos);
  c = defaults;
  c.learning_rate = 0;
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  c = defaults;
  c.subset = -1;
  EXPECT_EQ(validate(c).message(), "--subset must be 0 (all images) or positive (got -1)");

  RecordingObserver observer;
  c = defaults;
  c.threads = 0;
  EXPECT_EQ(train_model(c, observer).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(observer.events.empty());
}

TEST(TrainerTest, MissingDataIsNotFound) {
  TrainConfig c = small_config();
  c.data_dir = "/nonexistent/fashion";
  RecordingObserver observer;
  Result<TrainResult> r = train_model(c, observer);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message().rfind("/nonexistent/fashion: no such folder", 0), 0u) << r.status().message();
  c.dataset = "idx";
  r = train_model(c, observer);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/fashion/train-labels-idx1-ubyte.gz"), std::string::npos);
}

TEST(TrainerTest, SameSeedGivesIdenticalMetrics) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  RecordingObserver first_observer, second_observer;
  Result<TrainResult> first = train_model(small_config(), first_observer);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The second run loads the data itself first (the path of callers that share one load).
  Result<TrainData> data = load_train_data(small_config());
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->train.count, 512);
  EXPECT_EQ(data->test.count, 512);
  Result<TrainResult> second = train_model(small_config(), *data, second_observer);
  ASSERT_TRUE(second.ok()) << second.status().to_string();

  ASSERT_EQ(first->epochs.size(), 1u);
  const EpochMetrics& a = first->epochs[0];
  const EpochMetrics& b = second->epochs[0];
  EXPECT_EQ(a.train_loss, b.train_loss);
  EXPECT_EQ(a.test_loss, b.test_loss);
  EXPECT_EQ(a.accuracy, b.accuracy);
  EXPECT_EQ(a.precision_macro, b.precision_macro);
  EXPECT_EQ(a.recall_macro, b.recall_macro);
  EXPECT_EQ(a.f1_macro, b.f1_macro);
  EXPECT_EQ(a.confusion, b.confusion);

  // It learned something (chance is 0.1), and the metrics agree with each other.
  EXPECT_GT(a.accuracy, 0.4);
  EXPECT_LT(a.test_loss, 2.0);
  EXPECT_EQ(a.train_images, 512);
  EXPECT_EQ(a.test_images, 512);
  ASSERT_EQ(a.confusion.size(), 100u);
  int64_t total = 0, correct = 0;
  for (int i = 0; i < 10; ++i) {
    for (int j = 0; j < 10; ++j) total += a.confusion[i * 10 + j];
    correct += a.confusion[i * 10 + i];
  }
  EXPECT_EQ(total, 512);
  EXPECT_DOUBLE_EQ(a.accuracy, correct / 512.0);
  EXPECT_GT(a.f1_macro, 0.0);
  EXPECT_LE(a.f1_macro, 1.0);
  EXPECT_GT(a.train_time_s, 0.0);
  EXPECT_EQ(first->parameter_count, 421642);
  EXPECT_EQ(first->num_classes, 10);

  EXPECT_EQ(first_observer.events,
            (std::vector<std::string>{"begin epoch-1/train", "end epoch-1/train", "begin epoch-1/eval",
                                      "end epoch-1/eval", "epoch 1"}));
  EXPECT_EQ(first_observer.progress_calls, 8);  // 512 / 64
  EXPECT_EQ(first_observer.last_done, 512);
  EXPECT_EQ(first_observer.last_total, 512);

  // Another seed, another run.
  TrainConfig other = small_config();
  other.seed = 8;
  RecordingObserver third_observer;
  Result<TrainResult> third = train_model(other, third_observer);
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_NE(third->epochs[0].train_loss, a.train_loss);
}

TEST(TrainerTest, ShouldStopCancelsAndEndsThePhase) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  RecordingObserver observer;
  observer.stop_after_polls = 3;  // three batches train, the fourth poll stops
  TrainConfig c = small_config();
  c.epochs = 2;
  Result<TrainResult> r = train_model(c, observer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled);
  EXPECT_NE(r.status().message().find("epoch 1 (training, after 192 of 512 images)"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(observer.progress_calls, 3);
  EXPECT_EQ(observer.events, (std::vector<std::string>{"begin epoch-1/train", "end epoch-1/train"}));
}

TEST(TrainerTest, SgdAndMobileNetTrain) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TrainConfig c = small_config();
  c.model = "mobilenet_v2";
  c.width_multiplier = 0.25;
  c.subset = 128;
  c.test_subset = 128;
  c.optimizer = "sgd";
  c.learning_rate = 0.05;
  RecordingObserver observer;
  Result<TrainResult> r = train_model(c, observer);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->epochs[0].test_images, 128);
  EXPECT_TRUE(std::isfinite(r->epochs[0].train_loss));
}

// Every model of the zoo trains on 1-channel 28x28 Fashion-MNIST (narrowed to
// a quarter of its width to keep the test short).
TEST(TrainerTest, EveryZooModelTrainsOnFashionMnist) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TrainConfig c = small_config();
  c.subset = 16;
  c.test_subset = 16;
  c.batch_size = 8;
  c.width_multiplier = 0.25;
  Result<TrainData> data = load_train_data(c);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  for (const std::string& name : model_names()) {
    SCOPED_TRACE(name);
    c.model = name;
    EXPECT_TRUE(validate(c).ok());
    RecordingObserver observer;
    Result<TrainResult> r = train_model(c, *data, observer);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    ASSERT_EQ(r->epochs.size(), 1u);
    EXPECT_EQ(r->num_classes, 10);
    EXPECT_GT(r->parameter_count, 0);
    EXPECT_TRUE(std::isfinite(r->epochs[0].train_loss));
    EXPECT_EQ(r->epochs[0].confusion.size(), 100u);
  }
}

// A small synthetic 3-channel 32x32 data set of 10 classes whose class is
// readable from the pixels (a bright square at a class-dependent place).
TrainData synthetic_rgb(int64_t train_count, int64_t val_count, int64_t test_count) {
  auto make = [](int64_t count, int64_t offset) {
    ImageDataset d;
    d.count = count;
    d.channels = 3;
    d.height = d.width = 32;
    d.num_classes = 10;
    d.pixels.assign(static_cast<size_t>(count * 3 * 32 * 32), 20);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t label = (i + offset) % 10;
      d.labels.push_back(label);
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 8; ++y)
          for (int64_t x = 0; x < 8; ++x)
            d.pixels[static_cast<size_t>(((i * 3 + c) * 32 + 4 + (label / 5) * 16 + y) * 32 + (label % 5) * 6 + x)] =
                static_cast<uint8_t>(200 + 5 * c + (i % 7));
    }
    return d;
  };
  TrainData data;
  data.dataset = "synthetic";
  data.train = make(train_count, 0);
  data.validation = make(val_count, 3);
  data.test = make(test_count, 7);
  return data;
}

TEST(TrainerTest, ValidationAugmentationScheduleAndEarlyStopping) {
  TrainData data = synthetic_rgb(320, 80, 100);
  TrainConfig c = small_config();
  c.epochs = 12;
  c.batch_size = 32;
  c.augment = "crop,flip";
  c.optimizer = "sgd";
  c.learning_rate = 0.05;
  c.nesterov = true;
  c.weight_decay = 5e-4;
  c.schedule.kind = "step";
  c.schedule.step_epochs = 1;
  c.schedule.gamma = 0.5;
  c.early_stopping.patience = 1;
  c.early_stopping.min_delta = 10;  // nothing improves by 10: stops after the first epoch with no improvement
  RecordingObserver observer;
  Result<TrainResult> r = train_model(c, data, observer);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->epochs.size(), 2u);
  EXPECT_TRUE(r->stopped_early);
  EXPECT_EQ(r->stop_reason.rfind("early_stopping at epoch 2 (val_loss best ", 0), 0u) << r->stop_reason;
  EXPECT_NE(r->stop_reason.find("at epoch 1, no improvement > 10 for 1 epochs)"), std::string::npos) << r->stop_reason;
  EXPECT_DOUBLE_EQ(r->epochs[0].learning_rate, 0.05);
  EXPECT_DOUBLE_EQ(r->epochs[1].learning_rate, 0.025);
  const EpochMetrics& m = r->epochs[1];
  EXPECT_EQ(m.val_images, 80);
  EXPECT_TRUE(std::isfinite(m.val_loss));
  EXPECT_GE(m.val_accuracy, 0.0);
  EXPECT_GE(m.top5_accuracy, m.accuracy);
  EXPECT_GE(m.val_top5_accuracy, m.val_accuracy);
  EXPECT_EQ(r->mean.size(), 3u);
  EXPECT_EQ(observer.events[2], "begin epoch-1/validate");
  EXPECT_EQ(observer.events[4], "begin epoch-1/eval");
}

TEST(TrainerTest, PrefetchDoesNotChangeTheResult) {
  TrainData data = synthetic_rgb(200, 0, 50);
  TrainConfig c = small_config();
  c.epochs = 2;
  c.batch_size = 16;
  c.augment = "crop,flip";
  c.optimizer = "adamw";
  c.schedule.kind = "cosine";
  RecordingObserver a_observer, b_observer;
  c.prefetch = 0;
  Result<TrainResult> a = train_model(c, data, a_observer);
  c.prefetch = 3;
  Result<TrainResult> b = train_model(c, data, b_observer);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(a->epochs[e].train_loss, b->epochs[e].train_loss);
    EXPECT_EQ(a->epochs[e].test_loss, b->epochs[e].test_loss);
    EXPECT_EQ(a->epochs[e].confusion, b->epochs[e].confusion);
  }
  EXPECT_TRUE(std::isnan(a->epochs[0].val_loss));
  EXPECT_EQ(a->stop_reason, "completed 2 epochs");
  // It learns (chance is 0.1), though flips blur the classes, which differ by the square's column.
  EXPECT_GT(a->epochs[1].accuracy, 0.25);
}

TEST(TrainerTest, Bf16AutocastTrainsAndIsNotFp32) {
  TrainData data = synthetic_rgb(160, 0, 50);
  TrainConfig c = small_config();
  c.epochs = 2;
  c.batch_size = 16;
  RecordingObserver fp32_observer, bf16_observer;
  Result<TrainResult> fp32 = train_model(c, data, fp32_observer);
  c.precision = "bf16";
  Result<TrainResult> bf16 = train_model(c, data, bf16_observer);
  ASSERT_TRUE(fp32.ok() && bf16.ok()) << bf16.status().to_string();
  // Same seed and data: only the arithmetic differs, and it does.
  EXPECT_NE(fp32->epochs[0].train_loss, bf16->epochs[0].train_loss);
  EXPECT_NEAR(fp32->epochs[0].train_loss, bf16->epochs[0].train_loss, 0.1 * fp32->epochs[0].train_loss);
  EXPECT_GT(bf16->epochs[1].accuracy, 0.5);  // chance is 0.1
  // Autocast is off again afterwards.
  EXPECT_FALSE(at::autocast::is_cpu_enabled());

  c.precision = "fp16";
  EXPECT_EQ(validate(c).message(),
            "--precision fp16 is not available: LibTorch's CPU autocast supports bfloat16 only, and "
            "fp16 training on CUDA needs loss scaling (a GradScaler), which LibTorch's C++ API lacks; use --precision "
            "bf16 (or fp32)");
  c.precision = "int8";
  EXPECT_EQ(validate(c).message(), "--precision must be fp32 or bf16 (got \"int8\")");
}

TEST(TrainerTest, MeanAndStdMustMatchTheChannels) {
  TrainData data = synthetic_rgb(20, 0, 10);
  TrainConfig c = small_config();
  c.mean = {0.5};
  RecordingObserver observer;
  Result<TrainResult> r = train_model(c, data, observer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "--mean needs one value per channel: 3 for these images (got 1)");
}

// Asks to stop once `epochs` epochs have ended, at the next batch.
class StopAfterEpochs : public RecordingObserver {
 public:
  explicit StopAfterEpochs(int epochs) : epochs_(epochs) {}
  void on_epoch_end(int epoch, const EpochMetrics& m) override {
    RecordingObserver::on_epoch_end(epoch, m);
    ended = epoch;
  }
  bool should_stop() override { return ended >= epochs_; }
  int ended = 0;

 private:
  int epochs_;
};

// The model's parameters and buffers as stored in a checkpoint, by name.
std::map<std::string, torch::Tensor> checkpoint_weights(const std::string& path, const ModelShape& shape,
                                                        const std::string& model_name) {
  auto model = make_model(model_name, shape);
  EXPECT_TRUE(model.ok());
  torch::serialize::InputArchive archive, model_archive;
  archive.load_from(path);
  archive.read("model", model_archive);
  (*model)->load(model_archive);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& p : (*model)->named_parameters()) weights[p.key()] = p.value();
  for (const auto& b : (*model)->named_buffers()) weights[b.key()] = b.value();
  return weights;
}

void expect_identical(const EpochMetrics& a, const EpochMetrics& b) {
  SCOPED_TRACE("epoch " + std::to_string(a.epoch));
  EXPECT_EQ(a.epoch, b.epoch);
  // Exact comparisons of doubles, NaN equal to NaN (no validation split).
  auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  EXPECT_PRED2(same, a.learning_rate, b.learning_rate);
  EXPECT_PRED2(same, a.train_loss, b.train_loss);
  EXPECT_PRED2(same, a.test_loss, b.test_loss);
  EXPECT_PRED2(same, a.accuracy, b.accuracy);
  EXPECT_PRED2(same, a.top5_accuracy, b.top5_accuracy);
  EXPECT_PRED2(same, a.f1_macro, b.f1_macro);
  EXPECT_PRED2(same, a.val_loss, b.val_loss);
  EXPECT_PRED2(same, a.val_accuracy, b.val_accuracy);
  EXPECT_EQ(a.confusion, b.confusion);
}

TEST(TrainerTest, ResumeEqualsUninterruptedTraining) {
  // Dropout (MobileNetV2), batch-norm buffers, augmentation, a validation
  // split, AdamW state and a plateau schedule all carry over.
  TrainData data = synthetic_rgb(96, 32, 40);
  TrainConfig c = small_config();
  c.model = "mobilenet_v2";
  c.width_multiplier = 0.25;
  c.epochs = 4;
  c.batch_size = 32;
  c.augment = "crop,flip";
  c.optimizer = "adamw";
  c.schedule.kind = "plateau";
  c.schedule.plateau_patience = 0;
  c.early_stopping.patience = 10;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-resume-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string full_path = (dir / "full.pt").string(), part_path = (dir / "part" / "checkpoint.pt").string();

  RecordingObserver full_observer;
  TrainFiles full_files;
  full_files.checkpoint_path = full_path;
  Result<TrainResult> full = train_model(c, data, full_observer, full_files);
  ASSERT_TRUE(full.ok()) << full.status().to_string();
  ASSERT_EQ(full->epochs.size(), 4u);

  // Stopped during epoch 3, as a stop signal would: the checkpoint holds epoch 2.
  StopAfterEpochs stopper(2);
  TrainFiles part_files;
  part_files.checkpoint_path = part_path;
  Result<TrainResult> stopped = train_model(c, data, stopper, part_files);
  ASSERT_EQ(stopped.status().code(), Status::Code::kCancelled) << stopped.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(part_path + ".tmp"));

  RecordingObserver resumed_observer;
  part_files.resume_from = part_path;
  Result<TrainResult> resumed = train_model(c, data, resumed_observer, part_files);
  ASSERT_TRUE(resumed.ok()) << resumed.status().to_string();
  ASSERT_EQ(resumed->epochs.size(), 4u);
  for (size_t e = 0; e < 4; ++e) expect_identical(full->epochs[e], resumed->epochs[e]);
  EXPECT_EQ(resumed->stop_reason, "completed 4 epochs");
  // The resumed run ran the kernels its checkpoint recorded (depthwise, 1x1 and 3x3 convolutions, batch norms),
  // not ones chosen anew: the uninterrupted run's.
  ASSERT_FALSE(resumed->kernels.empty());
  std::map<std::string, std::string> full_kernels;
  for (const LayerKernel& k : full->kernels) full_kernels[k.layer + " " + k.shape + " " + k.pass] = k.implementation;
  for (const LayerKernel& k : resumed->kernels) {
    const std::string what = k.layer + " " + k.shape + " " + k.pass;
    if (k.source != "only") {
      EXPECT_EQ(k.source, "checkpoint") << what;
    }
    EXPECT_EQ(k.implementation, full_kernels[what]) << what;
  }
  // The observer hears only of the epochs trained after the resumption.
  EXPECT_EQ(resumed_observer.events.front(), "begin epoch-3/train");
  EXPECT_EQ(resumed_observer.events.back(), "epoch 4");
  // The learning rate changed on the way (plateau), so the schedule's state was carried over.
  EXPECT_NE(full->epochs[0].learning_rate, full->epochs[3].learning_rate);

  ModelShape shape;
  shape.in_channels = 3;
  shape.height = shape.width = 32;
  shape.num_classes = 10;
  shape.width_multiplier = 0.25;
  const auto full_weights = checkpoint_weights(full_path, shape, c.model);
  const auto resumed_weights = checkpoint_weights(part_path, shape, c.model);
  ASSERT_EQ(full_weights.size(), resumed_weights.size());
  ASSERT_GT(full_weights.size(), 100u);
  for (const auto& [name, tensor] : full_weights) {
    EXPECT_TRUE(torch::equal(tensor, resumed_weights.at(name))) << name;
  }

  // A checkpoint resumed with another model, a missing one, a corrupt one.
  TrainConfig other = c;
  other.model = "resnet18";
  Result<TrainResult> wrong = train_model(other, data, resumed_observer, part_files);
  EXPECT_EQ(wrong.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(), "the run was trained with --model mobilenet_v2, but resnet18 was asked for; "
                                      "resume with the run's own --model (checkpoint " + part_path + ")");
  TrainFiles missing;
  missing.resume_from = (dir / "none.pt").string();
  EXPECT_EQ(train_model(c, data, resumed_observer, missing).status().code(), Status::Code::kNotFound);
  {
    std::ofstream garbage(dir / "garbage.pt");
    garbage << "not a checkpoint";
  }
  TrainFiles corrupt;
  corrupt.resume_from = (dir / "garbage.pt").string();
  Result<TrainResult> bad = train_model(c, data, resumed_observer, corrupt);
  EXPECT_EQ(bad.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(bad.status().message().find("checkpoint " + corrupt.resume_from + " is corrupt"), std::string::npos)
      << bad.status().message();
  std::filesystem::remove_all(dir);
}

// check_resumable reads a checkpoint as a resumption would, and neither
// trains nor writes anything.
TEST(TrainerTest, CheckResumableReadsTheCheckpointWithoutTraining) {
  TrainData data = synthetic_rgb(64, 0, 20);
  TrainConfig c = small_config();
  c.epochs = 2;
  c.batch_size = 32;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-check-resumable-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "checkpoint.pt").string();
  RecordingObserver observer;
  TrainFiles files;
  files.checkpoint_path = path;
  ASSERT_TRUE(train_model(c, data, observer, files).ok());
  auto bytes = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes();

  c.epochs = 5;  // --epochs may grow
  Result<int> done = check_resumable(c, data, path);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(*done, 2);
  TrainConfig other = c;
  other.learning_rate = 0.01;
  EXPECT_EQ(check_resumable(other, data, path).status().message(),
            "the run was trained with --lr 0.001, but 0.01 was asked for; resume with the run's own --lr "
            "(checkpoint " + path + ")");
  EXPECT_EQ(check_resumable(c, synthetic_rgb(48, 0, 20), path).status().code(), Status::Code::kInvalidArgument);
  other = c;
  other.threads = 0;
  EXPECT_NE(check_resumable(other, data, path).status().message().find("--threads"), std::string::npos);
  EXPECT_EQ(check_resumable(c, data, (dir / "none.pt").string()).status().code(), Status::Code::kNotFound);
  std::ofstream(dir / "garbage.pt") << "not a checkpoint";
  EXPECT_EQ(check_resumable(c, data, (dir / "garbage.pt").string()).status().code(), Status::Code::kCorrupt);
  EXPECT_EQ(bytes(), before);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}

// Evaluation passes report their progress, and an observer that ends the
// run before a batch (an energy budget) ends it cleanly inside the epoch: the
// epoch counts for nothing, the saved model is the last completed epoch's.
TEST(TrainerTest, EvaluationReportsProgressAndAStopInsideAnEpochKeepsTheLastCompletedOne) {
  class StopInEpoch2 : public RecordingObserver {
   public:
    void on_evaluation_progress(int epoch, const std::string& split, int64_t done, int64_t total) override {
      events.push_back(split + " " + std::to_string(done) + "/" + std::to_string(total));
    }
    std::string stop_before_batch(int epoch, const std::string& phase, int64_t done, int64_t total) override {
      asked.push_back(phase + " " + std::to_string(done));
      return epoch == 2 && phase == "training" && done == 32 ? "over budget" : "";
    }
    std::vector<std::string> asked;
  };
  TrainData data = synthetic_rgb(64, 24, 40);
  TrainConfig c = small_config();
  c.epochs = 3;
  c.batch_size = 16;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-stop-in-epoch-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "with" / "model");
  TrainFiles files;
  files.checkpoint_path = (dir / "with" / "checkpoint.pt").string();
  files.model_dir = (dir / "with" / "model").string();

  StopInEpoch2 observer;
  Result<TrainResult> result = train_model(c, data, observer, files);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_TRUE(result->stopped_early);
  EXPECT_EQ(result->stop_reason, "over budget");
  ASSERT_EQ(result->epochs.size(), 1u);
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"begin epoch-1/train", "end epoch-1/train", "begin epoch-1/validate",
                                      "validation 24/24", "end epoch-1/validate", "begin epoch-1/eval",
                                      "evaluation 40/40", "end epoch-1/eval", "epoch 1", "begin epoch-2/train",
                                      "end epoch-2/train"}));
  EXPECT_EQ(observer.asked, (std::vector<std::string>{"training 0", "training 16", "training 32", "training 48",
                                                      "validation 0", "evaluation 0", "training 0", "training 16",
                                                      "training 32"}));
  // model.pt holds epoch 1's weights, as its checkpoint does.
  auto info = read_saved_model_info((dir / "with" / "model" / kModelInfoFile).string());
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->epochs, 1);
  EXPECT_EQ(info->accuracy, result->epochs[0].accuracy);
  ModelShape shape;
  shape.in_channels = 3;
  shape.height = shape.width = 32;
  shape.num_classes = 10;
  auto saved = make_model(c.model, shape);
  ASSERT_TRUE(saved.ok());
  torch::serialize::InputArchive archive;
  archive.load_from((dir / "with" / "model" / kModelFile).string());
  (*saved)->load(archive);
  const auto epoch1 = checkpoint_weights(files.checkpoint_path, shape, c.model);
  for (const auto& p : (*saved)->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), epoch1.at(p.key()))) << p.key();

  // Without a checkpoint there are no weights of a completed epoch to save.
  TrainFiles no_checkpoint;
  no_checkpoint.model_dir = (dir / "without").string();
  std::filesystem::create_directories(no_checkpoint.model_dir);
  StopInEpoch2 again;
  ASSERT_TRUE(train_model(c, data, again, no_checkpoint).ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "without" / kModelFile));
  std::filesystem::remove_all(dir);
}

TEST(TrainerTest, DeviceParsesCpuCudaAndCudaN) {
  Result<DeviceSpec> cpu = parse_device("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->cuda);
  EXPECT_EQ(cpu->name(), "cpu");
  Result<DeviceSpec> cuda = parse_device("cuda");
  ASSERT_TRUE(cuda.ok());
  EXPECT_TRUE(cuda->cuda);
  EXPECT_EQ(cuda->index, 0);
  EXPECT_EQ(cuda->name(), "cuda:0");
  Result<DeviceSpec> third = parse_device("cuda:2");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->index, 2);
  EXPECT_EQ(third->name(), "cuda:2");
  EXPECT_EQ(parse_device("cuda:15")->index, 15);
  for (const char* bad : {"gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", "cuda:1.5", "cuda: 1", "cpu:0", "cuda:99999", ""}) {
    SCOPED_TRACE(bad);
    Result<DeviceSpec> r = parse_device(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              "--device must be cpu, cuda or cuda:N with N the device's index (got \"" + std::string(bad) + "\")");
  }
  TrainConfig c;
  EXPECT_EQ(c.device, "cpu");  // the default, which needs no CUDA
  c.device = "gpu";
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
}

// What a CUDA device needs, checked against what LibTorch reports (given here,
// so both cases are tested whatever this machine has).
TEST(TrainerTest, CudaDeviceNeedsACudaLibTorchAndAnExistingIndex) {
  const CudaInfo none;  // Debian's CPU-only LibTorch: false, 0
  EXPECT_TRUE(check_device("cpu", none).ok());
  Status s = check_device("cuda", none);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--device cuda: this LibTorch (" TORCH_VERSION ") sees no CUDA device (torch::cuda::is_available() is "
            "false, torch::cuda::device_count() is 0): it was built without CUDA (Debian's libtorch-dev is), or no "
            "GPU or driver is visible; build wattlab against a CUDA LibTorch with cmake "
            "-DTorch_DIR=<libtorch>/share/cmake/Torch (see README, \"Other LibTorch builds\"), or use --device cpu");
  CudaInfo two;
  two.available = true;
  two.device_count = 2;
  EXPECT_TRUE(check_device("cuda", two).ok());
  EXPECT_TRUE(check_device("cuda:1", two).ok());
  s = check_device("cuda:2", two);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--device cuda:2: no CUDA device 2 (torch::cuda::is_available() is true, torch::cuda::device_count() is "
            "2); use cuda:0 to cuda:1, or check CUDA_VISIBLE_DEVICES");
  CudaInfo one = two;
  one.device_count = 1;
  EXPECT_EQ(check_device("cuda:1", one).message(),
            "--device cuda:1: no CUDA device 1 (torch::cuda::is_available() is true, torch::cuda::device_count() is "
            "1); use cuda:0, or check CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(check_device("gpu", two).code(), Status::Code::kInvalidArgument);

  // This process's LibTorch: a device it lacks is refused by validate and by
  // train_model before anything happens.
  const CudaInfo here = cuda_info();
  TrainConfig c = small_config();
  c.device = "cuda:" + std::to_string(here.available ? here.device_count : 0);
  EXPECT_EQ(validate(c).message(), check_device(c.device, here).message());
  EXPECT_NE(validate(c).message().find("torch::cuda::device_count() is " + std::to_string(here.device_count)),
            std::string::npos);
  RecordingObserver observer;
  EXPECT_EQ(train_model(c, synthetic_rgb(20, 0, 10), observer).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(observer.events.empty());
}

// --device cpu is the default and gives the same bits: metrics, checkpoint and saved model.
TEST(TrainerTest, DeviceCpuEqualsTheDefault) {
  TrainData data = synthetic_rgb(64, 16, 30);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-device-" + std::to_string(::getpid()));
  auto train = [&](const std::string& name, const std::optional<std::string>& device) {
    TrainConfig c = small_config();
    c.model = "mobilenet_v2";  // batch norm and dropout
    c.width_multiplier = 0.25;
    c.epochs = 2;
    c.batch_size = 16;
    if (device) c.device = *device;
    TrainFiles files;
    files.checkpoint_path = (dir / name / "checkpoint.pt").string();
    files.model_dir = (dir / name).string();
    RecordingObserver observer;
    return train_model(c, data, observer, files);
  };
  Result<TrainResult> by_default = train("default", std::nullopt);
  Result<TrainResult> on_cpu = train("cpu", "cpu");
  ASSERT_TRUE(by_default.ok() && on_cpu.ok()) << on_cpu.status().to_string();
  ASSERT_EQ(on_cpu->epochs.size(), 2u);
  for (size_t e = 0; e < 2; ++e) expect_identical(by_default->epochs[e], on_cpu->epochs[e]);
  ModelShape shape;
  shape.in_channels = 3;
  shape.height = shape.width = 32;
  shape.num_classes = 10;
  shape.width_multiplier = 0.25;
  const auto a = checkpoint_weights((dir / "default" / "checkpoint.pt").string(), shape, "mobilenet_v2");
  const auto b = checkpoint_weights((dir / "cpu" / "checkpoint.pt").string(), shape, "mobilenet_v2");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    EXPECT_TRUE(tensor.device().is_cpu()) << name;
    EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  }
  // model.pt: what torch::load(module, path) reads, on the CPU.
  auto saved = make_model("mobilenet_v2", shape);
  ASSERT_TRUE(saved.ok());
  torch::serialize::InputArchive archive;
  archive.load_from((dir / "cpu" / "model.pt").string());
  (*saved)->load(archive);
  for (const auto& p : (*saved)->named_parameters()) {
    EXPECT_TRUE(p.value().device().is_cpu()) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), a.at(p.key()))) << p.key();
  }
  std::filesystem::remove_all(dir);
}

TEST(TrainerTest, ChannelsLastTrainsToTheSameAccuracyAndMustNotChangeOnResume) {
  TrainData data = synthetic_rgb(320, 0, 100);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-channels-last-" + std::to_string(::getpid()));
  TrainConfig c = small_config();
  // ResNet-18: here (oneDNN 2.6, AVX2) the layout gave the same bits for cnn, lenet5, vgg11 and
  // mobilenet_v2, but not for ResNet-18's convolutions.
  c.model = "resnet18";
  c.width_multiplier = 0.25;
  c.optimizer = "sgd";
  c.learning_rate = 0.02;
  c.epochs = 3;
  c.batch_size = 32;
  RecordingObserver nchw_observer, nhwc_observer;
  TrainFiles nchw_files, nhwc_files;
  nchw_files.checkpoint_path = (dir / "nchw.pt").string();
  nhwc_files.checkpoint_path = (dir / "nhwc.pt").string();
  Result<TrainResult> nchw = train_model(c, data, nchw_observer, nchw_files);
  c.channels_last = true;
  Result<TrainResult> nhwc = train_model(c, data, nhwc_observer, nhwc_files);
  ASSERT_TRUE(nchw.ok() && nhwc.ok()) << nhwc.status().to_string();
  // The same model and seed: only the memory layout (and so the order of the arithmetic) differs,
  // which here changes the losses (0.0157 vs 0.0175 after 3 epochs) but not what the model learns.
  EXPECT_GT(nchw->epochs[2].accuracy, 0.9);  // chance is 0.1
  EXPECT_NEAR(nhwc->epochs[2].accuracy, nchw->epochs[2].accuracy, 0.02);
  EXPECT_LT(nhwc->epochs[2].train_loss, 0.5 * nhwc->epochs[0].train_loss);  // it trains
  // The convolutions' weights really were channels-last, and the checkpoint keeps them so.
  torch::serialize::InputArchive archive, model_archive;
  archive.load_from(nhwc_files.checkpoint_path);
  archive.read("model", model_archive);
  ModelShape shape;
  shape.in_channels = 3;
  shape.height = shape.width = 32;
  shape.num_classes = 10;
  shape.width_multiplier = c.width_multiplier;
  auto model = make_model(c.model, shape);
  ASSERT_TRUE(model.ok());
  (*model)->load(model_archive);
  int convolutions = 0;
  for (const auto& p : (*model)->named_parameters()) {
    if (p.value().dim() != 4) continue;
    ++convolutions;
    EXPECT_TRUE(p.value().is_contiguous(torch::MemoryFormat::ChannelsLast)) << p.key();
  }
  EXPECT_GT(convolutions, 0);

  // Resuming with the other layout would not continue the same computation.
  c.epochs = 4;
  nchw_files.resume_from = nchw_files.checkpoint_path;
  Result<TrainResult> mixed = train_model(c, data, nchw_observer, nchw_files);
  EXPECT_EQ(mixed.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(mixed.status().message(), "the run was trained with --channels-last false, but true was asked for; "
                                      "resume with the run's own --channels-last (checkpoint " +
                                          nchw_files.checkpoint_path + ")");
  nhwc_files.resume_from = nhwc_files.checkpoint_path;
  Result<TrainResult> resumed = train_model(c, data, nhwc_observer, nhwc_files);
  ASSERT_TRUE(resumed.ok()) << resumed.status().to_string();
  EXPECT_EQ(resumed->epochs.size(), 4u);
  std::filesystem::remove_all(dir);
}

// A checkpoint written before --precision, --channels-last and --kernels
// were among its settings was trained in fp32, NCHW: it must still resume
// with the defaults.
TEST(TrainerTest, OlderCheckpointsImplyTheDefaultsOfSettingsAddedLater) {
  const std::map<std::string, std::string> older = {{"--model", "cnn"}, {"--seed", "7"}};
  const auto read = with_settings_older_checkpoints_imply(older);
  EXPECT_EQ(read.at("--precision"), "fp32");
  EXPECT_EQ(read.at("--channels-last"), "false");
  EXPECT_EQ(read.at("--kernels"), "auto");
  EXPECT_EQ(read.at("--model"), "cnn");
  EXPECT_EQ(read.size(), 5u);
  const auto newer = with_settings_older_checkpoints_imply({{"--precision", "bf16"}, {"--channels-last", "true"}});
  EXPECT_EQ(newer.at("--precision"), "bf16");
  EXPECT_EQ(newer.at("--channels-last"), "true");
}

// --kernels libtorch runs LibTorch's kernels in every layer and pass (what
// models_test checks gives LibTorch's own autograd graph), and a run resumes
// only with the --kernels it was trained with.
TEST(TrainerTest, KernelsLibTorchRunsLibTorchsKernelsEverywhereAndMustNotChangeOnResume) {
  TrainData data = synthetic_rgb(64, 32, 32);
  TrainConfig c = small_config();
  c.model = "mobilenet_v2";
  c.width_multiplier = 0.25;
  c.batch_size = 32;
  c.kernels = "libtorch";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattlab-kernels-" + std::to_string(::getpid()));
  TrainFiles files;
  files.checkpoint_path = (dir / "checkpoint.pt").string();
  RecordingObserver observer;
  Result<TrainResult> trained = train_model(c, data, observer, files);
  ASSERT_TRUE(trained.ok()) << trained.status().to_string();
  EXPECT_EQ(trained->kernel_mode, "libtorch");
  EXPECT_EQ(trained->kernel_measure_s, 0);
  ASSERT_GT(trained->kernels.size(), 50u);  // 52 convolutions and batch norms, training and evaluation shapes
  for (const LayerKernel& k : trained->kernels) {
    EXPECT_EQ(k.implementation, "libtorch") << k.layer << " " << k.shape << " " << k.pass;
    EXPECT_TRUE(k.source == "mode" || k.source == "only") << k.source;
    EXPECT_FALSE(k.layer.empty());
  }
  TrainConfig measured = c;
  measured.kernels = "auto";
  measured.epochs = 2;
  files.resume_from = files.checkpoint_path;
  Result<TrainResult> refused = train_model(measured, data, observer, files);
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--kernels libtorch, but auto was asked for"), std::string::npos)
      << refused.status().message();
  c.kernels = "fast";
  EXPECT_NE(validate(c).message().find("--kernels"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(TrainerTest, LibTorchVersion) { EXPECT_EQ(libtorch_version(), TORCH_VERSION); }

}  // namespace
}  // namespace wattlab
