#include "wattlab/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/version.h>

#include <filesystem>

#include "wattlab/train/models.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

const char kDataDir[] = "/usr/share/datasets/fashion-mnist";

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
  EXPECT_TRUE(validate(TrainConfig{}).ok());
  TrainConfig c;
  c.threads = 0;
  EXPECT_EQ(validate(c).message(), "--threads must be at least 1 (got 0)");
  c = TrainConfig{};
  c.batch_size = 0;
  EXPECT_EQ(validate(c).message(), "--batch-size must be at least 1 (got 0)");
  c = TrainConfig{};
  c.epochs = -2;
  EXPECT_EQ(validate(c).message(), "--epochs must be at least 1 (got -2)");
  c = TrainConfig{};
  c.optimizer = "rmsprop";
  EXPECT_EQ(validate(c).message(), "--optimizer must be sgd or adam (got \"rmsprop\")");
  c = TrainConfig{};
  c.model = "resnet";
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  EXPECT_NE(validate(c).message().find("cnn, lenet5, resnet18"), std::string::npos);
  c = TrainConfig{};
  c.learning_rate = 0;
  EXPECT_EQ(validate(c).code(), Status::Code::kInvalidArgument);
  c = TrainConfig{};
  c.subset = -1;
  EXPECT_EQ(validate(c).message(), "--subset must be 0 (all images) or positive (got -1)");

  RecordingObserver observer;
  c = TrainConfig{};
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

TEST(TrainerTest, LibTorchVersion) { EXPECT_EQ(libtorch_version(), TORCH_VERSION); }

}  // namespace
}  // namespace wattlab
