// Trains one model with wattlab's trainer and prints its training throughput
// and per-epoch metrics; train_throughput.sh runs it against pytorch_cnn.py.
//
//   train_bench [--model cnn] [--images 10000] [--test-images 1000] [--epochs 1]
//               [--batch-size 64] [--threads 1] [--seed 42] [--data-dir DIR]
//
// The last line is "images_per_s=<training images per second of training time>",
// counting only the training passes (data already in memory, evaluation excluded).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "wattlab/train/trainer.h"

namespace {

class PrintingObserver : public wattlab::TrainObserver {
 public:
  void on_epoch_end(int epoch, const wattlab::EpochMetrics& m) override {
    std::printf("epoch %d: train_loss=%.4f test_loss=%.4f accuracy=%.4f f1_macro=%.4f train_time_s=%.2f eval_time_s=%.2f\n",
                epoch, m.train_loss, m.test_loss, m.accuracy, m.f1_macro, m.train_time_s, m.eval_time_s);
    std::fflush(stdout);
  }
};

int usage(const char* error) {
  std::fprintf(stderr, "train_bench: %s\nusage: train_bench [--model NAME] [--images N] [--test-images N] "
                       "[--epochs N] [--batch-size N] [--threads N] [--seed N] [--data-dir DIR]\n", error);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wattlab::TrainConfig config;
  config.subset = 10000;
  config.test_subset = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--model") config.model = value;
    else if (flag == "--images") config.subset = std::atoll(value);
    else if (flag == "--test-images") config.test_subset = std::atoll(value);
    else if (flag == "--epochs") config.epochs = std::atoi(value);
    else if (flag == "--batch-size") config.batch_size = std::atoll(value);
    else if (flag == "--threads") config.threads = std::atoi(value);
    else if (flag == "--seed") config.seed = std::strtoull(value, nullptr, 10);
    else if (flag == "--data-dir") config.data_dir = value;
    else return usage(("unknown flag " + flag).c_str());
  }
  PrintingObserver observer;
  wattlab::Result<wattlab::TrainResult> result = wattlab::train_model(config, observer);
  if (!result.ok()) {
    std::fprintf(stderr, "train_bench: %s\n", result.status().to_string().c_str());
    return 1;
  }
  int64_t images = 0;
  double seconds = 0;
  for (const wattlab::EpochMetrics& m : result->epochs) {
    images += m.train_images;
    seconds += m.train_time_s;
  }
  std::printf("wattlab %s libtorch=%s threads=%d batch_size=%lld parameters=%lld\n", config.model.c_str(),
              wattlab::libtorch_version().c_str(), result->threads, static_cast<long long>(config.batch_size),
              static_cast<long long>(result->parameter_count));
  std::printf("images_per_s=%.1f\n", static_cast<double>(images) / seconds);
  return 0;
}
