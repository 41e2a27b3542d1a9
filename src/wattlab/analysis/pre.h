// PRE: the energy, mean power and time of a training, predicted before it
// starts from runs that finished (after del Rey et al., arXiv 2307.05520,
// whose kernel ridge regression did best). Two kernel ridge regressions
// (analysis/kernel_ridge.h) on the same standardised features:
//
//   log(energy per epoch / work)   work = MACs per image × (3 × training
//                                  images + validation + test images): a
//                                  training image costs about a forward and
//                                  two backward passes, an evaluated one a
//                                  forward pass. Predicting energy per unit
//                                  of work keeps a model or data set size the
//                                  store never saw on the right scale.
//   log(mean power)
//
// and the time per epoch is their quotient. "Per epoch" is the run's
// energy_j and duration_s over the epochs it trained, so set-up and
// checkpoints are spread over the epochs.
//
// Features (pre_feature_names(), in this order): log2 batch size, image
// height, width and channels, log10 training and evaluated (validation +
// test) images, log10 MACs per image and parameters (train/models.h figures,
// through a ModelCostLookup), threads, bf16 (0/1), CUDA (0/1), and the
// environment: CPU TDP (energy/cpu_tdp.h; 4 W per logical CPU when the model
// is unknown, as the estimator meter assumes), logical CPUs, RAM GiB, GPU
// memory GiB, power limit W and CUDA cores (0 without a GPU).
//
// Runs with the same features (repetitions) form one configuration, whose
// targets are their geometric means; hyper-parameters (alpha, gamma) are
// picked by k-fold cross-validation over configurations (a configuration's
// runs never straddle folds, so the CV error is that of a configuration the
// model has not seen), and the out-of-fold residuals give each prediction
// its interval.
//
// The fitted model is stored in the store itself (save_pre_model): a run of
// the experiment "wattlab-estimators" tagged wattlab.estimator=pre, with the
// feature list, hyper-parameters and training set sizes as params, the CV
// errors as metrics, and everything needed to predict and explain (the
// standardisation, training rows, dual coefficients, configurations with
// their run ids) in the artifact pre_model.json. Every fit is a new run, so
// earlier fits stay inspectable; load_pre_model takes the latest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wattlab/analysis/kernel_ridge.h"
#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"
#include "wattlab/track/entities.h"
#include "wattlab/track/store.h"

namespace wattlab {

// The experiment PRE's fitted models are stored in.
inline constexpr const char* kEstimatorExperiment = "wattlab-estimators";

// Where and how a training runs, as PRE compares environments.
struct PreEnvironment {
  std::string hostname;
  std::string cpu_model;          // /proc/cpuinfo model name; "" when unknown
  double cpu_tdp_w = 0;           // per package, from the TDP table or 4 W × logical CPUs
  int cpu_count = 0;              // logical CPUs
  double ram_gib = 0;
  std::string gpu_model;          // "" without a GPU
  double gpu_memory_gib = 0;
  double gpu_power_limit_w = 0;
  double gpu_cores = 0;           // CUDA cores; 0 when unknown
  std::string device = "cpu";     // "cpu", "cuda:0"
  int threads = 1;
  std::string name;               // a study's name for it (tag wattlab.study.environment); may be empty

  // Identifies the environment: every field above but `hostname` and `name`.
  std::string key() const;
  // The hardware alone: key() without threads, and the device's kind
  // ("cuda", not "cuda:1").
  std::string hardware_key() const;
  // "2-threads: AMD EPYC, 2 threads, cpu (host1)", or without a name
  // "AMD EPYC, 2 threads, cpu (host1)".
  std::string label() const;
};

// Reads an environment from a run's environment snapshot (keys cpu_model,
// cpu_count, ram_gib, hostname, device, threads, gpu_model, gpu_memory_gib,
// gpu_power_limit_w, gpu_cores; device and threads fall back to the run's
// params) and its wattlab.study.environment tag.
PreEnvironment environment_of_run(const RunData& run);
// The same from a snapshot alone (e.g. collect_environment's for this machine).
PreEnvironment environment_of_snapshot(const std::map<std::string, std::string>& snapshot);

// The model and input a training uses (the figures the model's cost depends on).
struct PreModelShape {
  std::string model;  // --model
  double width_multiplier = 1.0;
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t num_classes = 10;

  std::string key() const;  // "mobilenet_v2 x0.35 1x28x28 10 classes"
};

struct PreModelCost {
  int64_t parameters = 0;
  int64_t macs_per_image = 0;
};

// Counts a model (train/models.h model_cost needs LibTorch, so the caller
// supplies it). PRE calls it once per distinct shape and keeps the figures
// with the fitted model.
using ModelCostLookup = std::function<Result<PreModelCost>(const PreModelShape&)>;

// A training as PRE sees it: what runs, on what data, where.
struct PreWorkload {
  PreModelShape shape;
  int64_t batch_size = 64;
  int64_t train_images = 0;
  int64_t val_images = 0;
  int64_t test_images = 0;
  std::string precision = "fp32";
  PreEnvironment environment;
};

// The workload of a finished run, from its params (model, width_multiplier,
// channels, image_size "HxW", num_classes, batch_size, train_images,
// val_images, test_images, precision) and environment_of_run. InvalidArgument
// naming the first param missing or malformed.
Result<PreWorkload> workload_of_run(const RunData& run);

const std::vector<std::string>& pre_feature_names();
// The features of a workload whose model costs `cost` (pre_feature_names order).
std::vector<double> pre_features(const PreWorkload& workload, const PreModelCost& cost);
// MACs × (3 × training + validation + test images): the target's unit of work.
double pre_work_macs(const PreWorkload& workload, const PreModelCost& cost);

// One finished run, measured.
struct PreObservation {
  std::string run_id;
  PreWorkload workload;
  PreModelCost cost;
  double energy_per_epoch_j = 0;
  double duration_per_epoch_s = 0;
  double mean_power_w = 0;
  int64_t end_time_ms = 0;
};

// The observation a run gives: FINISHED, a workload, positive energy_j and
// duration_s, and the epochs it trained (the step of its latest
// train_energy_j). InvalidArgument saying what is missing otherwise.
Result<PreObservation> observation_of_run(const RunData& run, const ModelCostLookup& cost);

struct PreCollection {
  std::vector<PreObservation> observations;
  size_t runs_skipped = 0;       // finished runs that could not be used (not trainings, incomplete)
  int64_t latest_end_time_ms = 0;  // the latest end among the FINISHED runs read
};

// Every FINISHED training run of the store (all experiments but
// kEstimatorExperiment), each read with get_run for its environment.
// Model costs are looked up once per shape (cached in `costs`, which may
// hold figures already). Fails only when the store does.
Result<PreCollection> collect_pre_observations(Store& store, const ModelCostLookup& cost,
                                               std::map<std::string, PreModelCost>* costs);

struct PreFitOptions {
  int folds = 5;                  // k of the k-fold CV (fewer when there are fewer configurations)
  uint64_t seed = 42;             // the fold assignment's
  size_t min_configurations = 3;  // fewer: no model
  size_t max_configurations = 400;  // the latest ones are kept (the solve is cubic in this)
  KernelRidgeGrid grid;
};

// One configuration of the training set: repetitions of one workload.
struct PreConfiguration {
  std::string key;  // environment key + workload: identical features
  PreWorkload workload;
  PreModelCost cost;
  std::vector<std::string> run_ids;
  double energy_per_epoch_j = 0;  // geometric means over the runs
  double mean_power_w = 0;
  double duration_per_epoch_s = 0;
};

// A target's cross-validated quality and the interval it gives predictions.
struct PreQuality {
  PredictionErrors cv;       // of the out-of-fold predictions, in the target's own units (J, W, s)
  double residual_low = 0;   // 5th and 95th percentile of the out-of-fold log residuals (actual over
  double residual_high = 0;  // predicted): a prediction's 90 % interval is ×exp(low) .. ×exp(high)
};

struct PreModel {
  std::vector<std::string> feature_names;
  std::vector<PreConfiguration> configurations;     // the training set, in the regressions' row order
  std::map<std::string, PreModelCost> model_costs;  // by PreModelShape::key
  KernelRidge energy_model;  // log(energy per epoch / work)
  KernelRidge power_model;   // log(mean power)
  PreQuality energy;         // energy per epoch, J
  PreQuality power;          // mean power, W
  PreQuality time;           // duration per epoch (energy over power), s
  int folds = 0;
  uint64_t seed = 0;
  int64_t fitted_at_ms = 0;
  int64_t latest_run_end_ms = 0;  // the collection's latest_end_time_ms: later runs make the model stale

  size_t run_count() const;
  std::vector<PreEnvironment> environments() const;  // distinct, in first-seen order
  // Training runs on `environment`'s hardware (PreEnvironment::hardware_key).
  size_t runs_on_hardware(const PreEnvironment& environment) const;
};

// Groups observations into configurations and fits both targets.
// FailedPrecondition-like InvalidArgument when there are fewer than
// options.min_configurations configurations.
Result<PreModel> fit_pre(const std::vector<PreObservation>& observations, const PreFitOptions& options = {});

struct PreNeighbour {
  std::string label;  // "cnn, batch 64, 2000 images on <environment label>"
  double weight = 0;  // kernel weight of the energy regression, (0, 1]
  double energy_per_epoch_j = 0;
  size_t runs = 0;
};

struct PrePrediction {
  double energy_per_epoch_j = 0, energy_low_j = 0, energy_high_j = 0;      // per epoch, 90 % interval
  double mean_power_w = 0, power_low_w = 0, power_high_w = 0;
  double duration_per_epoch_s = 0, duration_low_s = 0, duration_high_s = 0;
  std::vector<PreNeighbour> nearest;  // the training configurations it leans on most (up to 3)
};

PrePrediction predict_pre(const PreModel& model, const PreWorkload& workload, const PreModelCost& cost);

// Out-of-fold errors of a PRE fit with the given fold per observation
// (observations are not grouped: the caller decides what a fold holds).
// For evaluations: random folds over runs, or one configuration per fold.
struct PreCrossValidation {
  PredictionErrors energy_per_epoch;
  PredictionErrors mean_power;
  std::vector<double> predicted_energy_per_epoch_j;  // per observation
};
Result<PreCrossValidation> cross_validate_pre(const std::vector<PreObservation>& observations,
                                              std::span<const int> folds, const KernelRidgeGrid& grid = {});

// ---- Storage (see the top of this file) ----

// Stores `model` as a new FINISHED run of kEstimatorExperiment. Unavailable
// when the run's artifact location is not a folder of this machine.
Status save_pre_model(Store& store, const PreModel& model);
// The latest stored model; nullopt when none. Corrupt for an unreadable one.
Result<std::optional<PreModel>> load_pre_model(Store& store);
// Whether a FINISHED run (outside kEstimatorExperiment) ended after the
// model's latest_run_end_ms: one search, however many runs the store holds.
Result<bool> pre_model_is_stale(Store& store, const PreModel& model);

// The model stored in `store` if it is up to date, else a new fit on the
// store's runs, stamped with `clock`'s wall time and saved when it can be
// (the note says when it cannot); nullopt when the store has too few
// configurations to fit. `note` receives one line about what was done
// ("stored PRE model (42 runs)", "PRE fitted on 42 runs", or why there is no
// model). When it read the store's runs, and `observations` is not null, it
// leaves them there.
Result<std::optional<PreModel>> load_or_fit_pre(Store& store, const ModelCostLookup& cost, const PreFitOptions& options,
                                                Clock& clock, std::string* note,
                                                std::vector<PreObservation>* observations = nullptr);

}  // namespace wattlab
