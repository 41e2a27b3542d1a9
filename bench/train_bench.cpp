// Trains one model with wattlab's trainer and prints its training throughput
// and per-epoch metrics; train_throughput.sh runs it against pytorch_train.py.
//
//   train_bench [--model cnn] [--images 10000] [--test-images 1000] [--epochs 1]
//               [--batch-size 64] [--threads 1] [--seed 42] [--data-dir DIR] [--resize SIDE]
//               [--channels-last 1|0] [--kernels auto|libtorch|wattlab] [--prefetch 0]
//               [--warmup-epochs 0]
//
// Prints the kernel each layer used ("kernels:" then one line per layer),
// "kernel_measure_s=<seconds spent measuring kernels>", "parameters=<trainable
// scalars>", "macs_per_image=<forward MACs>" and "images_per_cpu_s=<training
// images per CPU second of the training thread>"; the last line is
// "images_per_s=<training images per second of training time>", counting only
// the training passes (data already in memory, evaluation excluded). With the
// default --prefetch 0 the batches (gather, uint8 -> float, normalisation) are
// made on the training thread and counted, as pytorch_train.py's are; with
// prefetch they are made on a worker thread that neither figure counts. The
// first --warmup-epochs epochs are trained but not counted: a process's first
// batches pay for first allocations and oneDNN's code generation (about 2.5
// steady batches' time for ResNet-18 here, on either side), which a real
// epoch of ~1,000 batches hardly sees.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "wattlab/train/models.h"
#include "wattlab/train/trainer.h"

namespace {

// CPU seconds the calling thread has used: under load (these machines are
// shared) a far steadier measure of the training work than wall time.
double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

bool is_training_phase(const std::string& phase) { return phase.size() > 6 && phase.ends_with("/train"); }

class PrintingObserver : public wattlab::TrainObserver {
 public:
  explicit PrintingObserver(int warmup_epochs) : warmup_epochs_(warmup_epochs) {}
  // The training thread's CPU time in the training phases after the warm-up
  // epochs (the trainer calls these on the thread that trains; the loader's
  // worker thread is not counted).
  double train_cpu_s = 0;
  void on_phase_begin(const std::string& phase) override {
    if (is_training_phase(phase)) phase_start_cpu_s_ = thread_cpu_s();
  }
  void on_phase_end(const std::string& phase) override {
    if (is_training_phase(phase) && epochs_ended_ >= warmup_epochs_) {
      train_cpu_s += thread_cpu_s() - phase_start_cpu_s_;
    }
  }

  void on_epoch_end(int epoch, const wattlab::EpochMetrics& m) override {
    ++epochs_ended_;
    std::printf("epoch %d: train_loss=%.4f test_loss=%.4f accuracy=%.4f f1_macro=%.4f train_time_s=%.2f eval_time_s=%.2f\n",
                epoch, m.train_loss, m.test_loss, m.accuracy, m.f1_macro, m.train_time_s, m.eval_time_s);
    std::fflush(stdout);
  }

 private:
  int warmup_epochs_;
  int epochs_ended_ = 0;
  double phase_start_cpu_s_ = 0;
};

int usage(const char* error) {
  std::fprintf(stderr, "train_bench: %s\nusage: train_bench [--model NAME] [--images N] [--test-images N] "
                       "[--epochs N] [--batch-size N] [--threads N] [--seed N] [--data-dir DIR] "
                       "[--resize SIDE] [--channels-last 1|0] [--kernels auto|libtorch|wattlab] "
                       "[--prefetch N] [--warmup-epochs N]\n", error);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  wattlab::TrainConfig config;
  config.subset = 10000;
  config.test_subset = 1000;
  config.prefetch = 0;
  int warmup_epochs = 0;
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
    else if (flag == "--resize") config.resize = std::atoll(value);
    else if (flag == "--channels-last") config.channels_last = std::atoi(value) != 0;
    else if (flag == "--kernels") config.kernels = value;
    else if (flag == "--prefetch") config.prefetch = std::atoi(value);
    else if (flag == "--warmup-epochs") warmup_epochs = std::atoi(value);
    else return usage(("unknown flag " + flag).c_str());
  }
  if (warmup_epochs < 0 || warmup_epochs >= config.epochs) {
    return usage("--warmup-epochs must leave at least one of the --epochs to count");
  }
  PrintingObserver observer(warmup_epochs);
  wattlab::Result<wattlab::TrainResult> result = wattlab::train_model(config, observer);
  if (!result.ok()) {
    std::fprintf(stderr, "train_bench: %s\n", result.status().to_string().c_str());
    return 1;
  }
  wattlab::ModelShape shape;
  shape.in_channels = 1;  // Fashion-MNIST
  shape.height = shape.width = config.resize > 0 ? config.resize : 28;
  shape.num_classes = result->num_classes;
  wattlab::Result<wattlab::ModelCost> cost = wattlab::model_cost(config.model, shape);
  if (!cost.ok()) {
    std::fprintf(stderr, "train_bench: %s\n", cost.status().to_string().c_str());
    return 1;
  }
  int64_t images = 0;
  double seconds = 0;
  for (size_t e = static_cast<size_t>(warmup_epochs); e < result->epochs.size(); ++e) {
    const wattlab::EpochMetrics& m = result->epochs[e];
    images += m.train_images;
    seconds += m.train_time_s;
  }
  std::printf("wattlab %s libtorch=%s threads=%d batch_size=%lld channels_last=%d\n", config.model.c_str(),
              wattlab::libtorch_version().c_str(), result->threads, static_cast<long long>(config.batch_size),
              config.channels_last ? 1 : 0);
  std::printf("kernels (--kernels %s):\n%s", result->kernel_mode.c_str(),
              wattlab::format_layer_kernels(result->kernels).c_str());
  std::printf("kernel_measure_s=%.2f\n", result->kernel_measure_s);
  std::printf("parameters=%lld\nmacs_per_image=%lld\n", static_cast<long long>(result->parameter_count),
              static_cast<long long>(cost->macs_per_image));
  std::printf("images_per_cpu_s=%.1f\n", static_cast<double>(images) / observer.train_cpu_s);
  std::printf("images_per_s=%.1f\n", static_cast<double>(images) / seconds);
  return 0;
}
