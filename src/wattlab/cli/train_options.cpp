#include "wattlab/cli/train_options.h"

#include "wattlab/cli/commands.h"

#include "wattlab/energy/carbon.h"
#include "wattlab/energy/energy_budget.h"
#include "wattlab/train/models.h"

namespace wattlab::cli {

void add_train_options(CLI::App* cmd, TrainCommandOptions& o) {
  TrainConfig& c = o.run.train;
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
  cmd->add_option("--test-subset", c.test_subset,
                  "Evaluate on the first N test images (0: with --subset, the same share of the test split as "
                  "--subset takes of the training split, e.g. 1500 of 60000 -> 250 of 10000; without, all)")
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
  cmd->add_option("--kernels", c.kernels,
                  "auto: time wattlab's own CPU kernels against LibTorch's for each convolution and batch norm "
                  "shape and pass, on this machine, and keep the faster (cached in ~/.cache/wattlab/kernels.tsv, "
                  "safe to delete); libtorch: LibTorch's everywhere (its results bit for bit); wattlab: ours "
                  "wherever one applies")
      ->capture_default_str()->group(compute);
  cmd->add_option("--seed", c.seed,
                  "Seed for weights, split, shuffling and augmentation (same seed + threads: same metrics)")
      ->capture_default_str()->group(compute);

  const char* optimisation = "Optimisation";
  cmd->add_option("--optimizer", c.optimizer, "sgd, adam or adamw (decoupled weight decay)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr", c.learning_rate, "Base learning rate")->capture_default_str()->group(optimisation);
  cmd->add_option("--momentum", c.momentum, "Momentum (sgd)")->capture_default_str()->group(optimisation);
  cmd->add_flag("--nesterov", c.nesterov, "Nesterov momentum (sgd, momentum > 0)")->group(optimisation);
  cmd->add_option("--weight-decay", c.weight_decay,
                  "L2 penalty (sgd, adam) or decoupled weight decay (adamw); -1: 0, or 0.01 for adamw")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--schedule", c.schedule.kind,
                  "LR schedule, set once per epoch: none, step (x gamma every --lr-step epochs), cosine (from --lr "
                  "towards 0 over --epochs, after --warmup-epochs), plateau (x --plateau-factor when the monitored "
                  "loss has not improved for more than --plateau-patience epochs)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr-step", c.schedule.step_epochs, "step: epochs between reductions")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--lr-gamma", c.schedule.gamma, "step: factor per reduction, (0, 1]")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--warmup-epochs", c.schedule.warmup_epochs, "cosine: epochs of linear warm-up")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-factor", c.schedule.plateau_factor, "plateau: factor per reduction, (0, 1)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-patience", c.schedule.plateau_patience, "plateau: epochs without improvement tolerated")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--plateau-min-delta", c.schedule.plateau_min_delta,
                  "plateau: an improvement must beat the best loss by more than this")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--min-lr", c.schedule.min_lr, "plateau: lower bound of the rate")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--early-stopping", c.early_stopping.patience,
                  "Stop after this many epochs without improvement of the monitored metric (0: off)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--min-delta", c.early_stopping.min_delta,
                  "Early stopping: an improvement must beat the best by more than this")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--start-from-epoch", c.early_stopping.start_from_epoch,
                  "Early stopping: epochs not monitored at the start (warm-up)")
      ->capture_default_str()->group(optimisation);
  cmd->add_option("--monitor", c.monitor,
                  "Early stopping watches loss or accuracy of the validation part (of the test split without "
                  "--val-split)")
      ->capture_default_str()->group(optimisation);

  cmd->add_option("--experiment", o.run.experiment, "Experiment the run belongs to")->capture_default_str();
  add_tracking_uri_option(cmd, &o.tracking_uri);
  cmd->add_option("--run-name", o.run.run_name, "Run name (default: MODEL-tTHREADS-bBATCH)");
  cmd->add_option("--meter", o.run.meter.kind, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o.run.meter.estimator.cpu_tdp_w,
                  "CPU TDP in watts for the estimator (default: looked up from the CPU model)");
  cmd->add_option("--energy-budget", o.energy_budget,
                  "Stop before an epoch that would take the run's epochs past this energy (50kJ, 0.1kWh); "
                  "the run's wattlab.stop_reason says so")
      ->group("Energy");
  cmd->add_option("--carbon-budget", o.carbon_budget, "The same in CO2e (10g, 1.5kg) at --carbon and --pue")
      ->group("Energy");
  cmd->add_option("--carbon", o.carbon,
                  "Grid carbon intensity: ISO alpha-3 country (FRA), provider:region (gcp:europe-west1) or "
                  "gCO2e/kWh (default: world average); gives the run's co2e_g")
      ->group("Energy");
  cmd->add_option("--pue", o.run.budget.pue, "Data-centre power usage effectiveness, 1.0 or more")
      ->capture_default_str()
      ->group("Energy");
  cmd->add_option("--sample-interval-ms", o.run.sample_interval_ms, "Power sampling interval")
      ->capture_default_str();
  cmd->add_flag("--quiet", o.quiet, "No progress bar or per-epoch lines");
  cmd->add_option("--artifacts", o.run.artifacts_dir,
                  "The tracking server's artifact folder (its --artifacts), for runs recorded through a server on "
                  "this machine: their checkpoints and config.yaml go there");
  cmd->add_option("--config", o.config_path,
                  "YAML file of flags, named without the dashes (batch-size: 128); flags on the command line win. "
                  "The resolved configuration is stored with the run as config.yaml");
  cmd->add_option("--resume", o.resume,
                  "Continue run RUN_ID (the same run, epochs appended) from the checkpoint its last epoch wrote, "
                  "with its stored configuration; --epochs may grow. Same threads: the same result as if never "
                  "interrupted");
  for (const char* name : {"--experiment", "--tracking-uri", "--run-name", "--meter", "--cpu-tdp-w",
                           "--sample-interval-ms", "--quiet", "--artifacts", "--config", "--resume"}) {
    cmd->get_option(name)->group("Tracking");
  }
}

// --energy-budget, --carbon-budget, --carbon and --pue into o.run.budget.
Status resolve_budget(TrainCommandOptions& o) {
  EnergyBudgetOptions& b = o.run.budget;
  if (!o.energy_budget.empty()) {
    auto j = parse_energy_j(o.energy_budget);
    if (!j.ok()) return Status::invalid_argument("--energy-budget: " + j.status().message());
    b.energy_j = *j;
  }
  if (!o.carbon_budget.empty()) {
    auto g = parse_carbon_g(o.carbon_budget);
    if (!g.ok()) return Status::invalid_argument("--carbon-budget: " + g.status().message());
    b.carbon_g = *g;
  }
  if (!o.carbon.empty()) {
    auto intensity = resolve_carbon_intensity(o.carbon);
    if (!intensity.ok()) return Status::invalid_argument("--carbon: " + intensity.status().message());
    b.intensity = *intensity;
  }
  if (auto check = estimate_carbon(0, b.intensity, b.pue); !check.ok()) {
    return Status::invalid_argument("--pue: " + check.status().message());
  }
  return Status();
}

}  // namespace wattlab::cli
