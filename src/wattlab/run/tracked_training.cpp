#include "wattlab/run/tracked_training.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "wattlab/core/env.h"
#include "wattlab/core/ids.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/run/power_timeline.h"
#include "wattlab/run/run_projection.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"
#include "wattlab/train/device.h"

namespace wattlab {

double TrackedTrainingSummary::energy_per_image_j() const {
  return train_images > 0 ? train_energy_j / static_cast<double>(train_images) : NAN;
}

namespace {

// Bridges the trainer to the monitor (energy windows), the tracking client
// (metrics) and the reporter.
class TrackingObserver final : public TrainObserver {
 public:
  TrackingObserver(Monitor& monitor, TrackingClient& client, const TrackedTrainingOptions& options,
                   TrackedTrainingSummary& summary, TrainingReporter& reporter)
      : monitor_(monitor),
        client_(client),
        options_(options),
        summary_(summary),
        reporter_(reporter),
        timeline_(monitor, client),
        projection_(options.train.epochs, options.budget, monitor.domains(), options.resume) {
    timeline_.set_listener([this](const std::vector<PowerSample>& buckets) { projection_.on_power(buckets); });
    // A resumed run's budget counts its earlier sessions too (their whole energy: a slight over-count).
    if (options.resume) {
      auto it = options.resume->latest_metrics.find("energy_j");
      if (it != options.resume->latest_metrics.end()) epochs_energy_j_ = it->second.value;
    }
  }

  void on_phase_begin(const std::string& phase) override {
    auto id = monitor_.begin_window(phase);
    if (!id.ok()) return keep_error(id.status());
    open_windows_[phase] = *id;
  }

  void on_phase_end(const std::string& phase) override {
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
    epochs_energy_j_ += window->energy_j();
    keep_error(client_.log_energy_window(*window));
    keep_error(timeline_.drain());
  }

  void on_progress(int epoch, int64_t images_done, int64_t images_total) override {
    reporter_.on_progress(epoch, options_.train.epochs, images_done, images_total);
  }

  void on_resume(const std::vector<EpochMetrics>& earlier_epochs) override {
    for (const EpochMetrics& m : earlier_epochs) summary_.train_images += m.train_images;
  }

  void on_epoch_end(int epoch, const EpochMetrics& m) override {
    summary_.epochs.push_back(m);
    summary_.train_images += m.train_images;
    const std::pair<const char*, double> metrics[] = {
        {"train_loss", m.train_loss},          {"test_loss", m.test_loss},
        {"accuracy", m.accuracy},              {"precision_macro", m.precision_macro},
        {"recall_macro", m.recall_macro},      {"f1_macro", m.f1_macro},
        {"train_time_s", m.train_time_s},      {"eval_time_s", m.eval_time_s},
        {"train_energy_j", epoch_train_energy_j_}, {"eval_energy_j", epoch_eval_energy_j_},
        {"train_energy_per_image_j",
         m.train_images > 0 ? epoch_train_energy_j_ / static_cast<double>(m.train_images) : NAN},
    };
    for (const auto& [key, value] : metrics) keep_error(client_.log_metric(key, value, epoch));
    // Metrics that exist only for some runs (a validation split, more than 5 classes).
    const std::pair<const char*, double> optional_metrics[] = {
        {"learning_rate", m.learning_rate},       {"top5_accuracy", m.top5_accuracy},
        {"val_loss", m.val_loss},                 {"val_accuracy", m.val_accuracy},
        {"val_top5_accuracy", m.val_top5_accuracy}, {"val_time_s", m.val_images > 0 ? m.val_time_s : NAN},
        {"val_energy_j", m.val_images > 0 ? epoch_val_energy_j_ : NAN},
    };
    for (const auto& [key, value] : optional_metrics) {
      if (std::isfinite(value)) keep_error(client_.log_metric(key, value, epoch));
    }
    EpochReport report;
    report.epoch = epoch;
    report.epochs = options_.train.epochs;
    report.metrics = &m;
    report.energy_j = epoch_train_energy_j_ + epoch_eval_energy_j_ + (m.val_images > 0 ? epoch_val_energy_j_ : 0);
    report.run_energy_j = epochs_energy_j_;
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
    return projection_.budget_stop_reason(epoch, epochs_energy_j_);
  }

  // Stores the rest of the power timeline; once, after the monitor stopped.
  void finish_timeline() { keep_error(timeline_.finish()); }

  // The first metering or logging failure during training, or OK.
  const Status& error() const { return error_; }

 private:
  void keep_error(const Status& status) {
    if (error_.ok() && !status.ok()) error_ = status;
  }

  Monitor& monitor_;
  TrackingClient& client_;
  const TrackedTrainingOptions& options_;
  TrackedTrainingSummary& summary_;
  TrainingReporter& reporter_;
  PowerTimelineRecorder timeline_;
  RunProjection projection_;  // STEP, and the budget it informs
  double epochs_energy_j_ = 0;  // every epoch phase so far (training, validation, evaluation)
  const double start_ms_ = Env::system().clock().monotonic_ms();  // when this session's training began
  std::map<std::string, WindowId> open_windows_;  // by phase name
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

}  // namespace

Result<TrackedTrainingSummary> run_tracked_training(RunLogger& logger, const TrackedTrainingOptions& options,
                                                    const TrainData& data, TrainingReporter* reporter) {
  TrainingReporter silent;
  TrainingReporter& report = reporter ? *reporter : silent;
  const auto device = parse_device(options.train.device);  // params_of and the environment record its name
  if (!device.ok()) return device.status();
  Env& env = Env::system();
  auto meters = make_meters(env, options.meter);
  if (!meters.ok()) return meters.status();
  MonitorOptions monitor_options;
  monitor_options.interval_ms = options.sample_interval_ms;
  auto monitor = Monitor::create(env, std::move(*meters), monitor_options);
  if (!monitor.ok()) return monitor.status();

  std::string run_name = options.run_name.empty() ? default_run_name(options.train) : options.run_name;
  RunInfo run;
  if (options.resume) {
    run = options.resume->info;
    run_name = run.run_name;
    WATTLAB_RETURN_IF_ERROR(logger.update_run(run.run_id, RunStatus::kRunning, std::nullopt));
  } else {
    auto experiment_id = logger.get_or_create_experiment(options.experiment);
    if (!experiment_id.ok()) return experiment_id.status();
    auto created = logger.create_run(*experiment_id, run_name, env.clock().wall_ms());
    if (!created.ok()) return created.status();
    run = *created;
  }
  auto client = std::make_unique<TrackingClient>(&logger, run.run_id,
                                                 TrackingClientOptions{.heartbeat_interval_ms = kDefaultHeartbeatIntervalMs});

  TrackedTrainingSummary summary;
  summary.run_id = run.run_id;

  // The run's files: its resolved configuration and a checkpoint per epoch.
  TrainFiles files;
  auto artifact_dir = run_artifact_dir(run.artifact_uri, options.artifacts_dir);
  if (!artifact_dir.ok() && options.resume) {
    client->end_run(RunStatus::kFailed);
    return artifact_dir.status().with_context("cannot resume run " + run.run_id);
  }
  if (artifact_dir.ok()) {
    files.checkpoint_path = (std::filesystem::path(*artifact_dir) / kCheckpointFile).string();
    if (options.resume) files.resume_from = files.checkpoint_path;
    files.model_dir = *artifact_dir;
  } else {
    report.on_note("run " + run.run_id + " keeps no checkpoints: " + artifact_dir.status().message());
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
  if (!options.resume) {
    for (const auto& p : params_of(options, data)) {
      if (setup.ok()) setup = tracking.log_param(p.key, p.value);
    }
  }
  if (setup.ok() && artifact_dir.ok()) {
    std::map<std::string, std::string> run_files = options.files;
    if (!options.config_yaml.empty()) run_files[kConfigFile] = options.config_yaml;
    std::error_code ec;
    if (!run_files.empty()) std::filesystem::create_directories(*artifact_dir, ec);
    for (const auto& [name, text] : run_files) {
      if (setup.ok()) setup = write_file_atomically((std::filesystem::path(*artifact_dir) / name).string(), text);
    }
  }
  for (const auto& [key, value] : options.tags) {
    if (setup.ok()) setup = tracking.set_tag(key, value);
  }
  if (setup.ok()) setup = tracking.set_tag("mlflow.runName", run_name);
  // Params are write-once, so a resumed run's params.epochs stays that of its first session; this tag follows --epochs.
  if (setup.ok()) setup = tracking.set_tag("wattlab.epochs", std::to_string(options.train.epochs));
  if (setup.ok()) setup = tracking.set_tag("wattlab.energy_estimated", summary.energy_estimated ? "true" : "false");
  if (!setup.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return setup;
  }

  Monitor& meter = **monitor;
  Status started = meter.start();
  auto run_window = started.ok() ? meter.begin_window("run") : Result<WindowId>(started);
  if (!run_window.ok()) {
    tracking.end_run(RunStatus::kFailed);
    return run_window.status();
  }

  TrackingObserver observer(meter, tracking, options, summary, report);
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
    summary.energy_j = whole->energy_j();
    summary.duration_s = whole->duration_s;
    if (options.resume) {  // the totals of every session of the run
      const auto& latest = options.resume->latest_metrics;
      if (auto it = latest.find("energy_j"); it != latest.end()) summary.energy_j += it->second.value;
      if (auto it = latest.find("duration_s"); it != latest.end()) summary.duration_s += it->second.value;
      for (const EnergyWindow& w : options.resume->energy_windows) {
        if (w.name.ends_with("/train")) summary.train_energy_j += w.energy_j();
      }
    }
    tracking.log_energy_window(*whole);
    tracking.log_metric("energy_j", summary.energy_j);
    tracking.log_metric("duration_s", summary.duration_s);
    tracking.log_metric("energy_per_image_j", summary.energy_per_image_j());
    if (auto carbon = estimate_carbon(summary.energy_j, options.budget.intensity, options.budget.pue); carbon.ok()) {
      tracking.log_metric("co2e_g", carbon->co2e_g);
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
  }
  // Why the run ended: completed, early stopping, a stop signal or a failure.
  if (trained.ok()) {
    summary.stop_reason = trained->stop_reason;
  } else if (trained.status().code() == Status::Code::kCancelled) {
    summary.stop_reason = "stopped by a signal";
  } else {
    summary.stop_reason = "failed";
  }
  tracking.set_tag("wattlab.stop_reason", summary.stop_reason);

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
