// The flags of train_options.h, moved out of train_command.cpp so that
// `estimate` defines none of them again.
#include "wattlab/cli/train_options.h"

#include "wattlab/train/models.h"

namespace wattlab::cli {

void add_training_workload_options(CLI::App* cmd, TrainConfig& c) {
  std::string models;
  for (const auto& m : model_names()) models += (models.empty() ? "" : ", ") + m;
  cmd->add_option("--model", c.model, "Architecture: " + models)->capture_default_str()->group("Model");
  cmd->add_option("--width-multiplier", c.width_multiplier, "Scales every layer's channels")
      ->capture_default_str()->group("Model");

  const char* data = "Data";
  cmd->add_option("--dataset", c.dataset,
                  "Format of --data: auto (detected), idx ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]), "
                  "cifar10 (data_batch_{1..5}.bin, test_batch.bin), cifar100 (train.bin, test.bin; fine labels), "
                  "folder (train/CLASS/*.png|jpg and test/CLASS/ or val/CLASS/)")
      ->capture_default_str()->group(data);
  cmd->add_option("--data,--data-dir", c.data_dir, "The data set's folder")->capture_default_str()->group(data);
  cmd->add_option("--subset", c.subset, "Train on the first N training images, before the validation split (0: all)")
      ->capture_default_str()->group(data);
  cmd->add_option("--test-subset", c.test_subset, "Evaluate on the first N test images (0: all)")
      ->capture_default_str()->group(data);
  cmd->add_option("--resize", c.resize,
                  "Resize every image to SIDE x SIDE pixels, bilinear (0: keep; e.g. 32 runs 28x28 data through "
                  "32x32 models)")
      ->capture_default_str()->group(data);
  cmd->add_option("--channels", c.channels, "Image folders: 1 (grey) or 3 (RGB); 0: from the first image")
      ->capture_default_str()->group(data);
  cmd->add_option("--val-split", c.val_split,
                  "Fraction of the training images held out for validation, stratified by class and seeded by "
                  "--seed (0: none; early stopping and plateau then watch the test split)")
      ->capture_default_str()->group(data);
  cmd->add_option("--augment", c.augment,
                  "Training-time augmentation: none, or a comma-separated list of crop (random crop with zero "
                  "padding) and flip (horizontal, p=0.5); evaluation never augments")
      ->capture_default_str()->group(data);
  cmd->add_option("--crop-padding", c.crop_padding, "Padding of --augment crop, pixels (-1: 4 for >= 32-pixel images, else 2)")
      ->capture_default_str()->group(data);
  cmd->add_option("--mean", c.mean, "Per-channel mean of pixels in [0, 1], comma-separated (default: computed on the training part)")
      ->delimiter(',')->group(data);
  cmd->add_option("--std", c.std, "Per-channel standard deviation, comma-separated (default: computed on the training part)")
      ->delimiter(',')->group(data);
  cmd->add_option("--prefetch", c.prefetch,
                  "Batches prepared ahead on a worker thread, 0-16 (0: prepared on demand; same batches either way)")
      ->capture_default_str()->group(data);

  const char* compute = "Compute";
  cmd->add_option("--epochs", c.epochs, "Passes over the training images (at most, with early stopping)")
      ->capture_default_str()->group(compute);
  cmd->add_option("--batch-size", c.batch_size, "Images per step")->capture_default_str()->group(compute);
  cmd->add_option("--threads", c.threads, "LibTorch intra-op threads")->capture_default_str()->group(compute);
  cmd->add_option("--device", c.device,
                  "cpu, cuda or cuda:N: where the model, its optimizer state and the batches live (CUDA needs a "
                  "LibTorch built with it: cmake -DTorch_DIR=..., see README); checkpoints and model.pt hold CPU "
                  "tensors either way")
      ->capture_default_str()->group(compute);
  cmd->add_option("--precision", c.precision,
                  "fp32, or bf16: LibTorch's autocast on the CPU or CUDA (convolutions and matrix products in "
                  "bfloat16, weights in float32); fp16 is refused (it needs loss scaling, which LibTorch's C++ API "
                  "lacks)")
      ->capture_default_str()->group(compute);
  cmd->add_flag("--channels-last", c.channels_last,
                "Convolution weights and images in NHWC order (oneDNN's native layout); results differ slightly "
                "from the default NCHW, so a run resumes only with its own setting")
      ->group(compute);
  cmd->add_option("--seed", c.seed,
                  "Seed for weights, split, shuffling and augmentation (same seed + threads: same metrics)")
      ->capture_default_str()->group(compute);
}

void add_carbon_options(CLI::App* cmd, std::string* carbon, double* pue) {
  cmd->add_option("--carbon", *carbon,
                  "Grid carbon intensity: ISO alpha-3 country (FRA), provider:region (gcp:europe-west1) or "
                  "gCO2e/kWh (default: world average); gives co2e_g")
      ->group("Energy");
  cmd->add_option("--pue", *pue, "Data-centre power usage effectiveness, 1.0 or more")
      ->capture_default_str()
      ->group("Energy");
}

}  // namespace wattlab::cli
