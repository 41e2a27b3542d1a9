#include "wattlab/infer/evaluate.h"

#include <numeric>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "wattlab/infer/classifier.h"
#include "wattlab/infer/model_bench.h"
#include "wattlab/train/device.h"
#include "wattlab/train/trainer.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

// 3x24x24 images of 4 classes, each a bright square in its own quadrant on a
// noisy background.
ImageDataset quadrants(int64_t count, uint32_t seed) {
  ImageDataset d;
  d.count = count;
  d.channels = 3;
  d.height = d.width = 24;
  d.num_classes = 4;
  d.pixels.resize(static_cast<size_t>(count * 3 * 24 * 24));
  uint32_t state = seed;
  for (auto& p : d.pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(state >> 27);  // 0-31
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t label = (i * 7 + seed) % 4;
    d.labels.push_back(label);
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t x = 0; x < 8; ++x)
          d.pixels[static_cast<size_t>(((i * 3 + c) * 24 + 2 + (label / 2) * 12 + y) * 24 + 2 + (label % 2) * 12 + x)] +=
              static_cast<uint8_t>(180 + (i % 40));
  }
  return d;
}

class InferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab-infer-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(InferTest, SavedModelGivesTheTrainersLastAccuracy) {
  TrainData data;
  data.dataset = "synthetic";
  data.train = quadrants(160, 1);
  data.test = quadrants(90, 2);
  TrainConfig config;
  config.model = "resnet18";  // batch norm: evaluation must use the running statistics
  config.width_multiplier = 0.25;
  config.epochs = 3;
  config.batch_size = 16;
  config.learning_rate = 3e-3;
  config.seed = 11;
  TrainFiles files;
  files.model_dir = (dir_ / "model").string();
  TrainObserver quiet;
  Result<TrainResult> trained = train_model(config, data, quiet, files);
  ASSERT_TRUE(trained.ok()) << trained.status().to_string();

  Result<InferenceResult> r = evaluate_saved_model(files.model_dir, data.test, InferenceOptions{});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const EpochMetrics& last = trained->epochs.back();
  EXPECT_EQ(r->images, 90);
  EXPECT_EQ(r->accuracy, last.accuracy);
  EXPECT_EQ(r->confusion, last.confusion);
  EXPECT_GT(r->accuracy, 0.25);  // better than chance on 4 classes, or the test proves little
  EXPECT_GT(r->images_per_s, 0);
  EXPECT_EQ(r->model.model, "resnet18");
  EXPECT_EQ(r->model.width_multiplier, 0.25);
  EXPECT_EQ(r->model.num_classes, 4);
  EXPECT_EQ(r->model.epochs, 3);
  EXPECT_EQ(r->model.mean, trained->mean);
  EXPECT_EQ(r->model.accuracy, last.accuracy);

  // Another batch size and thread count classify the same images the same way.
  InferenceOptions other;
  other.batch_size = 7;
  other.threads = 2;
  other.prefetch = 0;
  Result<InferenceResult> again = evaluate_saved_model(files.model_dir, data.test, other);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accuracy, r->accuracy);

  // --device cpu is the default; a CUDA device this LibTorch lacks is refused, naming the flag.
  InferenceOptions on_cpu;
  on_cpu.device = "cpu";
  Result<InferenceResult> cpu = evaluate_saved_model(files.model_dir, data.test, on_cpu);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->confusion, r->confusion);
  const CudaInfo cuda = cuda_info();
  InferenceOptions missing_gpu;
  missing_gpu.device = "cuda:" + std::to_string(cuda.available ? cuda.device_count : 0);
  Result<InferenceResult> refused = evaluate_saved_model(files.model_dir, data.test, missing_gpu);
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), check_device(missing_gpu.device, cuda).message());
  EXPECT_EQ(refused.status().message().rfind("--device " + missing_gpu.device + ": ", 0), 0u);

  // Images of another size, a missing model, corrupt weights.
  ImageDataset small = quadrants(10, 3);
  small.height = small.width = 12;
  small.pixels.resize(static_cast<size_t>(10 * 3 * 12 * 12));
  Result<InferenceResult> wrong = evaluate_saved_model(files.model_dir, small, InferenceOptions{});
  EXPECT_EQ(wrong.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(),
            "the model takes 3x24x24 images, the data set has 3x12x12 (resize with --resize, or give the data the "
            "model was trained on)");
  EXPECT_EQ(evaluate_saved_model((dir_ / "none").string(), data.test, {}).status().code(), Status::Code::kNotFound);
  std::ofstream(fs::path(files.model_dir) / kModelFile, std::ios::trunc) << "garbage";
  Result<InferenceResult> corrupt = evaluate_saved_model(files.model_dir, data.test, {});
  EXPECT_EQ(corrupt.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(corrupt.status().message().find("model weights " + files.model_dir + "/model.pt cannot be read"),
            std::string::npos)
      << corrupt.status().message();
}

TEST_F(InferTest, SavedClassifierAgreesWithEvaluationAndBenchesItself) {
  TrainData data;
  data.dataset = "synthetic";
  data.train = quadrants(160, 1);
  data.test = quadrants(60, 2);
  TrainConfig config;
  config.model = "cnn";
  config.epochs = 2;
  config.batch_size = 16;
  config.seed = 5;
  TrainFiles files;
  files.model_dir = (dir_ / "cnn").string();
  TrainObserver quiet;
  ASSERT_TRUE(train_model(config, data, quiet, files).ok());
  auto evaluated = evaluate_saved_model(files.model_dir, data.test, InferenceOptions{});
  ASSERT_TRUE(evaluated.ok());

  // Loaded from the folder or from model.pt: the same model.
  auto classifier = SavedClassifier::load(files.model_dir + "/model.pt");
  ASSERT_TRUE(classifier.ok()) << classifier.status().message();
  EXPECT_EQ((*classifier)->info().model, "cnn");
  EXPECT_EQ((*classifier)->image_bytes(), 3 * 24 * 24);
  std::vector<float> p(60 * 4);
  ASSERT_TRUE((*classifier)->predict(data.test.pixels.data(), 60, p.data()).ok());
  int64_t correct = 0;
  for (int64_t i = 0; i < 60; ++i) {
    EXPECT_NEAR(std::accumulate(p.begin() + i * 4, p.begin() + i * 4 + 4, 0.0), 1.0, 1e-5);
    correct += std::max_element(p.begin() + i * 4, p.begin() + i * 4 + 4) - (p.begin() + i * 4) == data.test.labels[i];
  }
  EXPECT_DOUBLE_EQ(static_cast<double>(correct) / 60, evaluated->accuracy);
  EXPECT_EQ((*classifier)->predict(data.test.pixels.data(), 0, p.data()).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(SavedClassifier::load((dir_ / "none").string()).status().code(), Status::Code::kNotFound);

  ModelBenchConfig bench;
  bench.batch_size = 3;
  bench.warmup_s = 0.01;
  bench.duration_s = 0.05;
  auto r = bench_model(**classifier, bench, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->calls, 1);
  EXPECT_EQ(r->inferences, r->calls * 3);
  EXPECT_EQ(r->latency.count, r->calls);
  EXPECT_GT(r->inferences_per_s, 0);
  EXPECT_LE(r->latency.p50_ms, r->latency.p99_ms);
  EXPECT_FALSE(r->energy.metered);
  bench.batch_size = 0;
  EXPECT_EQ(bench_model(**classifier, bench, nullptr).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace wattlab
