#include "wattlab/run/tracked_training.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "wattlab/core/env.h"
#include "wattlab/core/ids.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/run/power_timeline.h"
#include "wattlab/run/run_projection.h"
#include "wattlab/run/session_energy.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"
#include "wattlab/track/run_lease.h"
#include "wattlab/track/stale_runs.h"
#include "wattlab/track/store.h"
#include "wattlab/train/device.h"

namespace wattlab {

double TrackedTrainingSummary::energy_per_image_j() const {
  return train_images > 0 ? train_energy_j / static_cast<double>(train_images) : NAN;
}

double TrackedTrainingSummary::attributed_energy_per_image_j() const {
  return energy_j > 0 ? energy_per_image_j() * attributed_energy_j / energy_j : NAN;
}

namespace {

// Bridges the trainer to the monitor (energy windows), the session's energy
// (totals, attribution, the budget), the tracking client (metrics) and the
// reporter.
class TrackingObserver final : public TrainObserver {
 public:
  TrackingObserver(Monitor& monitor, SessionEnergy& session, TrackingClient& client,
                   const TrackedTrainingOptions& options, TrackedTrainingSummary& summary, TrainingReporter& reporter)
      : monitor_(monitor),
        session_(session),
        client_(client),
        options_(options),
        summary_(summary),
        reporter_(reporter),
        timeline_(monitor, client),
        budget_(options.budget),
        projection_(options.train.epochs, options.budget, monitor.domains(), options.resume) {
    timeline_.set_listener([this](const std::vector<PowerSample>& buckets) { projection_.on_power(buckets); });
  }

  void on_phase_begin(const std::string& phase) override {
    session_.sample();
    auto id = monitor_.begin_window(phase);
    if (!id.ok()) return keep_error(id.status());
    open_windows_[phase] = *id;
  }

  void on_phase_end(const std::string& phase) override {
    session_.sample();
    auto it = open_windows_.find(phase);
    if (it == open_windows_.end()) return;
    auto window = monitor_.end_window(it->second);
    open_windows_.erase(it);
    if (!window.ok()) return keep_error(window.status());
    projection_.on_window(*window);
    bool is_train = phase.size() > 6 && phase.ends_with("/train");
    if (phase.ends_with("/validate")) {
      epoch_val_energy_j_ = window->energy_j();
    } else {
      (is_train ? epoch_train_energy_j_ : epoch_eval_energy_j_) = window->energy_j();
    }
    if (is_train) summary_.train_energy_j += window->energy_j();
    keep_error(client_.log_energy_window(*window));
    keep_error(timeline_.drain());
  }

  void on_progress(int epoch, int64_t images_done, int64_t images_total) override {
    session_.sample();
    reporter_.on_progress(epoch, options_.train.epochs, "training", images_done, images_total);
  }

  void on_evaluation_progress(int epoch, const std::string& split, int64_t images_done,
                              int64_t images_total) override {
    session_.sample();
    reporter_.on_progress(epoch, options_.train.epochs, split, images_done, images_total);
  }

  void on_resume(const std::vector<EpochMetrics>& earlier_epochs) override {
    for (const EpochMetrics& m : earlier_epochs) summary_.train_images += m.train_images;
    last_epoch_ = static_cast<int>(earlier_epochs.size());
    // A session killed after an epoch's checkpoint but before its metrics
    // reached the store: those epochs' metrics are logged now, from the
    // checkpoint, without the energy figures that died with that session.
    if (!options_.resume) return;
    const auto logged = options_.resume->latest_metrics.find("accuracy");
    const int64_t logged_epochs = logged == options_.resume->latest_metrics.end() ? 0 : logged->second.step;
    for (int64_t epoch = logged_epochs + 1; epoch <= last_epoch_; ++epoch) {
      log_epoch_metrics(static_cast<int>(epoch), earlier_epochs[static_cast<size_t>(epoch - 1)], EpochEnergy{});
    }
  }

  void on_epoch_end(int epoch, const EpochMetrics& m) override {
    last_epoch_ = epoch;
    summary_.epochs.push_back(m);
    summary_.train_images += m.train_images;
    log_epoch_metrics(epoch, m, {epoch_train_energy_j_, epoch_eval_energy_j_, epoch_val_energy_j_});
    // The run's totals so far: what a later --resume starts from if this session dies unannounced.
    auto totals = session_.now();
    if (totals.ok()) {
      log_totals(*totals, epoch);
    } else {
      keep_error(totals.status());
    }
    EpochReport report;
    report.epoch = epoch;
    report.epochs = options_.train.epochs;
    report.metrics = &m;
    report.energy_j = epoch_train_energy_j_ + epoch_eval_energy_j_ + (m.val_images > 0 ? epoch_val_energy_j_ : 0);
    report.energy_estimated = summary_.energy_estimated;
    report.projection = projection_.on_epoch_end(epoch);
    if (report.projection) {
      for (const auto& [key, value] : RunProjection::metrics(*report.projection)) {
        keep_error(client_.log_metric(key, value, epoch));
      }
      if (std::string note = projection_.budget_note(); !note.empty()) reporter_.on_note(note);
    }
    reporter_.on_epoch_end(report);
  }

  bool should_stop() override { return stop_requested(); }

  std::string stop_after_epoch(int epoch) override {
    if (options_.max_duration_s > 0) {
      const double elapsed_s = (Env::system().clock().monotonic_ms() - start_ms_) / 1000.0;
      if (elapsed_s >= options_.max_duration_s) {
        return "trained for " + std::to_string(static_cast<int>(elapsed_s)) + " s (at most " +
               std::to_string(static_cast<int>(options_.max_duration_s)) + " s asked)";
      }
    }
    if (!budget_.enabled()) return "";
    auto used_j = session_.energy_so_far_j();
    if (!used_j.ok()) {
      keep_error(used_j.status());
      return "";
    }
    return budget_stop(projection_.budget_stop_reason(epoch, *used_j));
  }

  // The budget, before every batch: the next batch is projected at the
  // energy per image of this phase so far (of the same phase in the previous
  // epoch at a phase's start), times the images of the batch before it.
  std::string stop_before_batch(int epoch, const std::string& phase, int64_t images_done,
                                int64_t images_total) override {
    if (!budget_.enabled()) return "";
    auto used_j = session_.energy_so_far_j();
    if (!used_j.ok()) {
      keep_error(used_j.status());
      return "";
    }
    PhaseRate& rate = rates_[phase];
    if (images_done == 0) {
      rate.start_j = *used_j;
      rate.last_done = 0;
      rate.batch_images = options_.train.batch_size;
    } else {
      rate.j_per_image = (*used_j - rate.start_j) / static_cast<double>(images_done);
      rate.batch_images = images_done - rate.last_done;
      rate.last_done = images_done;
    }
    const double next_images = static_cast<double>(std::min(rate.batch_images, images_total - images_done));
    return budget_stop(budget_.before_batch(epoch, phase, images_done, images_total, *used_j,
                                            rate.j_per_image * next_images));
  }

  // Logs `totals` as the run's metrics at `step`, and flags a busy machine.
  void log_totals(const RunTotals& totals, int step) {
    for (const auto& [key, value] : totals.metrics()) keep_error(client_.log_metric(key, value, step));
    if (std::string warning = totals.busy_machine_warning(); !warning.empty() && warning != busy_warning_) {
      keep_error(client_.set_tag("wattlab.busy_machine", warning));
      busy_warning_ = warning;
    }
  }

  // The last epoch the run completed (0 before any), this session or earlier.
  int last_epoch() const { return last_epoch_; }

  // Stores the rest of the power timeline; once, after the monitor stopped.
  void finish_timeline() { keep_error(timeline_.finish()); }

  // The first metering or logging failure during training, or OK.
  const Status& error() const { return error_; }

 private:
  struct EpochEnergy {  // NaN: not known
    double train_j = NAN, eval_j = NAN, val_j = NAN;
  };

  // The epoch's metrics at step `epoch`; those that are NaN are left out.
  void log_epoch_metrics(int epoch, const EpochMetrics& m, const EpochEnergy& energy) {
    const std::pair<const char*, double> metrics[] = {
        {"train_loss", m.train_loss},
        {"test_loss", m.test_loss},
        {"accuracy", m.accuracy},
        {"precision_macro", m.precision_macro},
        {"recall_macro", m.recall_macro},
        {"f1_macro", m.f1_macro},
        {"train_time_s", m.train_time_s},
        {"eval_time_s", m.eval_time_s},
        {"train_energy_j", energy.train_j},
        {"eval_energy_j", energy.eval_j},
        {"train_energy_per_image_j", m.train_images > 0 ? energy.train_j / static_cast<double>(m.train_images) : NAN},
        // Metrics that exist only for some runs (a validation split, more than 5 classes).
        {"learning_rate", m.learning_rate},
        {"top5_accuracy", m.top5_accuracy},
        {"val_loss", m.val_loss},
        {"val_accuracy", m.val_accuracy},
        {"val_top5_accuracy", m.val_top5_accuracy},
        {"val_time_s", m.val_images > 0 ? m.val_time_s : NAN},
        {"val_energy_j", m.val_images > 0 ? energy.val_j : NAN},
    };
    for (const auto& [key, value] : metrics) {
      if (std::isfinite(value)) keep_error(client_.log_metric(key, value, epoch));
    }
  }
  // How a phase's energy goes per image, for the budget's projection.
  struct PhaseRate {
    double start_j = 0;       // the run's energy when the phase began
    double j_per_image = 0;   // of the phase so far (the previous epoch's at its start)
    int64_t last_done = 0;    // images done at the previous batch
    int64_t batch_images = 0; // images of the latest batch
  };

  std::string budget_stop(std::string reason) {
    if (!reason.empty()) summary_.stopped_by_budget = true;
    return reason;
  }

  void keep_error(const Status& status) {
    if (error_.ok() && !status.ok()) error_ = status;
  }

  Monitor& monitor_;
  SessionEnergy& session_;
  TrackingClient& client_;
  const TrackedTrainingOptions& options_;
  TrackedTrainingSummary& summary_;
  TrainingReporter& reporter_;
  PowerTimelineRecorder timeline_;
  EnergyBudget budget_;         // asked before every batch
  RunProjection projection_;    // STEP, and the budget after each epoch it informs
  const double start_ms_ = Env::system().clock().monotonic_ms();  // when this session's training began
  std::map<std::string, WindowId> open_windows_;  // by phase name
  std::map<std::string, PhaseRate> rates_;        // by phase ("training", "validation", "evaluation")
  int last_epoch_ = 0;
  std::string busy_warning_;                      // the wattlab.busy_machine tag as last set
  double epoch_train_energy_j_ = NAN;             // of the current epoch
  double epoch_eval_energy_j_ = NAN;
  double epoch_val_energy_j_ = NAN;
  Status error_;
};

std::string default_run_name(const TrainConfig& c) {
  return c.model + "-t" + std::to_string(c.threads) + "-b" + std::to_string(c.batch_size);
}

std::vector<Param> params_of(const TrackedTrainingOptions& o, const TrainData& data) {
  const TrainConfig& c = o.train;
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  auto list = [&](const std::vector<double>& values) {
    std::string text;
    for (double v : values) text += (text.empty() ? "" : ",") + num(v);
    return text;
  };
  std::vector<Param> params = {
      {"model", c.model},
      {"dataset", data.dataset},
      {"data_path", c.data_dir},
      {"train_images", std::to_string(data.train.count)},
      {"val_images", std::to_string(data.validation.count)},
      {"test_images", std::to_string(data.test.count)},
      {"num_classes", std::to_string(std::max(data.train.num_classes, data.test.num_classes))},
      {"image_size", std::to_string(data.train.height) + "x" + std::to_string(data.train.width)},
      {"channels", std::to_string(data.train.channels)},
      {"resize", std::to_string(c.resize)},
      {"val_split", num(c.val_split)},
      {"augment", c.augment},
      {"prefetch", std::to_string(c.prefetch)},
      {"threads", std::to_string(c.threads)},
      {"batch_size", std::to_string(c.batch_size)},
      {"device", parse_device(c.device)->name()},
      {"channels_last", c.channels_last ? "true" : "false"},
      {"kernels", c.kernels},
      {"epochs", std::to_string(c.epochs)},
      {"seed", std::to_string(c.seed)},
      {"precision", c.precision},
      {"optimizer", c.optimizer},
      {"learning_rate", num(c.learning_rate)},
      {"momentum", num(c.momentum)},
      {"nesterov", c.nesterov ? "true" : "false"},
      {"weight_decay", num(effective_weight_decay(c))},
      {"schedule", c.schedule.kind},
      {"early_stopping_patience", std::to_string(c.early_stopping.patience)},
      {"width_multiplier", num(c.width_multiplier)},
      {"meter", o.meter.kind},
      {"sample_interval_ms", num(o.sample_interval_ms)},
  };
  if (c.augment != "none" && c.augment.find("crop") != std::string::npos) {
    params.push_back({"crop_padding", std::to_string(c.crop_padding)});
  }
  if (!c.mean.empty()) params.push_back({"mean", list(c.mean)});
  if (!c.std.empty()) params.push_back({"std", list(c.std)});
  if (c.schedule.kind == "step") {
    params.push_back({"lr_step", std::to_string(c.schedule.step_epochs)});
    params.push_back({"lr_gamma", num(c.schedule.gamma)});
  } else if (c.schedule.kind == "cosine") {
    params.push_back({"warmup_epochs", std::to_string(c.schedule.warmup_epochs)});
  } else if (c.schedule.kind == "plateau") {
    params.push_back({"plateau_factor", num(c.schedule.plateau_factor)});
    params.push_back({"plateau_patience", std::to_string(c.schedule.plateau_patience)});
    params.push_back({"min_lr", num(c.schedule.min_lr)});
  }
  if (c.early_stopping.patience > 0) {
    params.push_back({"min_delta", num(c.early_stopping.min_delta)});
    params.push_back({"start_from_epoch", std::to_string(c.early_stopping.start_from_epoch)});
    params.push_back({"monitor", c.monitor});
  }
  if (o.budget.energy_j) params.push_back({"energy_budget_j", num(*o.budget.energy_j)});
  if (o.budget.carbon_g) params.push_back({"carbon_budget_g", num(*o.budget.carbon_g)});
  params.push_back({"carbon_intensity_g_per_kwh", num(o.budget.intensity.g_per_kwh)});
  params.push_back({"carbon_source", o.budget.intensity.source});
  params.push_back({"pue", num(o.budget.pue)});
  return params;
}


// The run's artifact folder, or why it has none.
struct ArtifactFolder {
  std::string dir;  // empty when the run keeps no files
  Status why_none;
};

// What a resumed run is checked for before anything is written (see
// run_tracked_training); `run` is the run as stored now.
Status check_resume(Env& env, const TrackedTrainingOptions& o, const TrainData& data, const RunData& run,
                    const ArtifactFolder& folder) {
  if (folder.dir.empty()) return folder.why_none.with_context("cannot resume run " + run.info.run_id);
  const std::string checkpoint = (std::filesystem::path(folder.dir) / kCheckpointFile).string();
  auto epochs_done = check_resumable(o.train, data, checkpoint);
  if (!epochs_done.ok()) return epochs_done.status();
  if (run.info.status == RunStatus::kFinished && *epochs_done >= o.train.epochs) {
    return Status::invalid_argument("--epochs " + std::to_string(o.train.epochs) + ": run " + run.info.run_id +
                                    " has FINISHED " + std::to_string(*epochs_done) +
                                    " epochs, so there is nothing to resume; ask for more with --epochs " +
                                    std::to_string(*epochs_done + 1) + " or above");
  }
  return check_run_lease_free(env, run, env.clock().wall_ms(), kDefaultStaleAfterMs);
}

}  // namespace

Result<TrackedTrainingSummary> run_tracked_training(RunLogger& logger, const TrackedTrainingOptions& options,
                                                    const TrainData& data, TrainingReporter* reporter) {
  TrainingReporter silent;
  TrainingReporter& report = reporter ? *reporter : silent;
  Env& env = Env::system();

  // Everything that can refuse the run, before anything is written.
  const auto device = parse_device(options.train.device);  // params_of and the environment record its name
  if (!device.ok()) return device.status();
  auto meters = make_meters(env, options.meter);
  if (!meters.ok()) return meters.status();
  MonitorOptions monitor_options;
  monitor_options.interval_ms = options.sample_interval_ms;
  auto monitor = Monitor::create(env, std::move(*meters), monitor_options);
  if (!monitor.ok()) return monitor.status();
  Store* store = dynamic_cast<Store*>(&logger);
  std::optional<RunData> resumed;  // the run as stored now
  ArtifactFolder folder;
  if (options.resume) {
    if (store == nullptr) {
      return Status::invalid_argument("resuming run " + options.resume->info.run_id +
                                      " needs the store itself (its checkpoint and lease), not a tracking server");
    }
    auto now = store->get_run(options.resume->info.run_id);
    if (!now.ok()) return now.status();
    resumed = std::move(*now);
    auto dir = run_artifact_dir(resumed->info.artifact_uri, options.artifacts_dir);
    folder = dir.ok() ? ArtifactFolder{*dir, Status()} : ArtifactFolder{"", dir.status()};
    WATTLAB_RETURN_IF_ERROR(check_resume(env, options, data, *resumed, folder));
  }

  // The run: resumed (its lease taken) or created.
  const std::string holder = lease_holder(env, getpid());
  std::string run_name = options.run_name.empty() ? default_run_name(options.train) : options.run_name;
  RunInfo run;
  if (resumed) {
    WATTLAB_RETURN_IF_ERROR(take_run_lease(*store, *resumed, holder, env.clock().wall_ms()));
    run = resumed->info;
    run_name = run.run_name;
  } else {
    auto experiment_id = logger.get_or_create_experiment(options.experiment);
    if (!experiment_id.ok()) return experiment_id.status();
    auto created = logger.create_run(*experiment_id, run_name, env.clock().wall_ms());
    if (!created.ok()) return created.status();
    run = *created;
    auto dir = run_artifact_dir(run.artifact_uri, options.artifacts_dir);
    folder = dir.ok() ? ArtifactFolder{*dir, Status()} : ArtifactFolder{"", dir.status()};
  }
  auto client = std::make_unique<TrackingClient>(&logger, run.run_id,
                                                 TrackingClientOptions{.heartbeat_interval_ms = kDefaultHeartbeatIntervalMs});

  TrackedTrainingSummary summary;
  summary.run_id = run.run_id;

  // The run's files: its resolved configuration and a checkpoint per epoch.
  TrainFiles files;
  if (!folder.dir.empty()) {
    files.checkpoint_path = (std::filesystem::path(folder.dir) / kCheckpointFile).string();
    if (resumed) files.resume_from = files.checkpoint_path;
    files.model_dir = folder.dir;
  } else {
    report.on_note("run " + run.run_id + " keeps no checkpoints: " + folder.why_none.message());
  }
  for (const auto& d : (*monitor)->domains()) summary.energy_estimated |= d.estimated;

  EnvironmentExtras extras;
  extras.seed = options.train.seed;
  extras.values = {{"libtorch_version", libtorch_version()},
                   {"threads", std::to_string(options.train.threads)},
                   {"device", device->name()},
                   {"energy_domains", [&] {
                      std::string names;
                      for (const auto& d : (*monitor)->domains())
                        names += (names.empty() ? "" : ",") + d.name + (d.estimated ? " (estimated)" : "");
                      return names;
                    }()}};
  if (!options.config_yaml.empty()) extras.values["config_hash"] = content_hash(options.config_yaml);
  TrackingClient& tracking = *client;
  Status setup = tracking.set_environment(collect_environment(env, extras));
  // A resumed run keeps the params it was started with (they are write-once).
  if (!resumed) {
    for (const auto& p : params_of(options, data)) {
      if (setup.ok()) setup = tracking.log_param(p.key, p.value);
    }
  }
  if (setup.ok() && !folder.dir.empty()) {
    std::map<std::string, std::string> run_files = options.files;
    if (!options.config_yaml.empty()) run_files[kConfigFile] = options.config_yaml;
    std::error_code ec;
    if (!run_files.empty()) std::filesystem::create_directories(folder.dir, ec);
    for (const auto& [name, text] : run_files) {
      if (setup.ok()) setup = write_file_atomically((std::filesystem::path(folder.dir) / name).string(), text);
    }
  }
  for (const auto& [key, value] : options.tags) {
    if (setup.ok()) setup = tracking.set_tag(key, value);
  }
  if (setup.ok() && !resumed) setup = tracking.set_tag(kLeaseTag, holder);  // a resumed run's lease is taken above
  if (setup.ok()) setup = tracking.set_tag("mlflow.runName", run_name);
  // Params are write-once, so a resumed run's params.epochs stays that of its first session; this tag follows --epochs.
  if (setup.ok()) setup = tracking.set_tag("wattlab.epochs", std::to_string(options.train.epochs));
  if (setup.ok()) setup = tracking.set_tag("wattlab.energy_estimated", summary.energy_estimated ? "true" : "false");
  if (setup.ok()) setup = tracking.set_tag("wattlab.attribution", kAttributionMethod);
  if (!setup.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return setup;
  }

  Monitor& meter = **monitor;
  Status started = meter.start();
  auto run_window = started.ok() ? meter.begin_window(kRunWindowName) : Result<WindowId>(started);
  if (!run_window.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return run_window.status();
  }
  SessionEnergy session(env, meter, *run_window, getpid(), resumed ? &*resumed : nullptr);
  if (resumed) {  // the energy of every training pass so far, killed sessions' included
    for (const EnergyWindow& w : resumed->energy_windows) {
      if (w.name.ends_with("/train")) summary.train_energy_j += w.energy_j();
    }
  }

  TrackingObserver observer(meter, session, tracking, options, summary, report);
  report.on_run_started(run.run_id);
  auto trained = train_model(options.train, data, observer, files);
  report.on_finished();
  auto whole = meter.end_window(*run_window);
  meter.stop();
  observer.finish_timeline();

  Status outcome = trained.ok() ? observer.error() : trained.status();
  if (outcome.ok() && !whole.ok()) outcome = whole.status();
  if (outcome.ok() && !meter.sampling_error().ok()) outcome = meter.sampling_error();
  if (whole.ok()) {
    tracking.log_energy_window(*whole);
    const RunTotals totals = session.at_end(*whole);
    summary.energy_j = totals.energy_j;
    summary.attributed_energy_j = totals.attributed_energy_j;
    summary.duration_s = totals.duration_s;
    summary.cpu_busy_share = totals.cpu_busy_share;
    summary.other_cpu_share = totals.other_cpu_share;
    summary.busy_machine_warning = totals.busy_machine_warning();
    // At the last epoch's step, logged after its epoch-end point: the latest value.
    const int step = observer.last_epoch();
    observer.log_totals(totals, step);
    tracking.log_metric("energy_per_image_j", summary.energy_per_image_j(), step);
    tracking.log_metric("attributed_energy_per_image_j", summary.attributed_energy_per_image_j(), step);
    if (auto carbon = estimate_carbon(summary.energy_j, options.budget.intensity, options.budget.pue); carbon.ok()) {
      tracking.log_metric("co2e_g", carbon->co2e_g, step);
    }
  }
  if (trained.ok()) {
    tracking.log_metric("parameter_count", static_cast<double>(trained->parameter_count));
    // The normalisation used, computed from the training part unless given.
    std::string mean, std;
    for (size_t i = 0; i < trained->mean.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%.4f", i ? "," : "", trained->mean[i]);
      mean += buf;
      std::snprintf(buf, sizeof buf, "%s%.4f", i ? "," : "", trained->std[i]);
      std += buf;
    }
    tracking.set_tag("wattlab.normalize_mean", mean);
    tracking.set_tag("wattlab.normalize_std", std);
    // The kernel each convolution and batch norm ran per shape and pass, so that two runs can be compared
    // knowing which kernels they used (a resumed session's are its checkpoint's).
    char measure_s[32];
    std::snprintf(measure_s, sizeof measure_s, "%.2f", trained->kernel_measure_s);
    tracking.set_environment({{"kernel_choices", format_layer_kernels(trained->kernels)},
                              {"kernel_measure_s", measure_s}});
  }
  // Why the run ended: completed, early stopping, a budget, a stop signal or a failure.
  if (trained.ok()) {
    summary.stop_reason = trained->stop_reason;
  } else if (trained.status().code() == Status::Code::kCancelled) {
    summary.stop_reason = "stopped by a signal";
  } else {
    summary.stop_reason = "failed";
  }
  summary.stopped_by_budget &= trained.ok();
  tracking.set_tag("wattlab.stop_reason", summary.stop_reason);
  if (summary.stopped_by_budget) tracking.set_tag("wattlab.stopped_by", "budget");

  if (outcome.code() == Status::Code::kCancelled) {
    summary.status = RunStatus::kKilled;
  } else {
    summary.status = outcome.ok() ? RunStatus::kFinished : RunStatus::kFailed;
  }
  Status ended = tracking.end_run(summary.status);
  if (!outcome.ok() && summary.status == RunStatus::kFailed) {
    return outcome.with_context("run " + summary.run_id + " failed");
  }
  if (!ended.ok()) return ended.with_context("run " + summary.run_id + " could not be saved");
  return summary;
}

}  // namespace wattlab
