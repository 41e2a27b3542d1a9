// `wattlab infer`: evaluates the model a `wattlab train` run saved, metered,
// and records the evaluation as a run of its own.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/meter_notes.h"
#include "wattlab/cli/progress_bar.h"
#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"
#include "wattlab/energy/carbon.h"
#include "wattlab/energy/meters.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/infer/evaluate.h"
#include "wattlab/run/power_timeline.h"
#include "wattlab/run/run_artifacts.h"
#include "wattlab/server/rest_client.h"
#include "wattlab/server/rest_run_catalog.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"
#include "wattlab/train/device.h"
#include "wattlab/train/trainer.h"

namespace wattlab::cli {

namespace {

namespace fs = std::filesystem;

struct InferCommandOptions {
  std::string run_id;
  std::string data_dir;       // empty: the run's data_path
  std::string dataset;        // empty: the run's dataset
  int64_t test_subset = 0;
  std::string artifacts_dir;  // as train --artifacts
  InferenceOptions inference;
  std::string format = "text";
  std::string tracking_uri;   // where the trained run is read and the evaluation recorded
  std::string experiment;     // empty: the trained run's
  MeterOptions meter;
  std::string carbon;         // empty: world average
  double pue = 1.0;
  bool quiet = false;
};

// A temporary folder removed with this object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "wattlab-model-XXXXXX").string();
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }  // empty when it could not be made

 private:
  std::string path_;
};

// The folder holding the run's model.json and model.pt: its artifact folder
// on this machine, or (a run on a tracking server's artifact store) a copy
// downloaded into `download`.
Result<std::string> model_dir(RunCatalog& catalog, const RunData& run, const std::string& artifacts_dir,
                              const TempDir& download) {
  auto* remote = dynamic_cast<RestRunCatalog*>(&catalog);
  if (remote && artifacts_dir.empty() && artifact_proxy_path(run.info.artifact_uri)) {
    if (download.path().empty()) return Status::io_error("cannot create a temporary folder for the model");
    for (const char* file : {kModelInfoFile, kModelFile}) {
      Status got = remote->client().download_file(run.info.artifact_uri, file, (fs::path(download.path()) / file).string());
      if (got.code() == Status::Code::kNotFound) {
        return Status::not_found("run " + run.info.run_id + " saved no model on " + catalog.location() + " (no " +
                                 file + " among its artifacts): it did not finish, or was trained by a wattlab that "
                                 "did not upload models");
      }
      if (!got.ok()) return got;
    }
    return download.path();
  }
  auto dir = run_artifact_dir(run.info.artifact_uri, artifacts_dir);
  if (!dir.ok()) return dir.status();
  const std::string model_json = (fs::path(*dir) / kModelInfoFile).string();
  std::error_code ec;
  if (!fs::exists(model_json, ec)) {
    return Status::not_found("run " + run.info.run_id + " saved no model (" + model_json +
                             "): it did not finish, or was trained by a wattlab that did not save models");
  }
  return *dir;
}

int run_infer(const GlobalOptions& global, const InferCommandOptions& o) {
  if (o.format != "text" && o.format != "json") {
    return report_error("--format must be text or json (got \"" + o.format + "\")");
  }
  // Bad input fails before anything is read or recorded.
  if (Status s = check_device(o.inference.device); !s.ok()) return report_error(s.message());
  auto intensity = o.carbon.empty() ? Result<CarbonIntensity>(world_average_carbon_intensity())
                                    : resolve_carbon_intensity(o.carbon);
  if (!intensity.ok()) return report_error("--carbon: " + intensity.status().message());
  if (auto check = estimate_carbon(0, *intensity, o.pue); !check.ok()) return report_error("--pue: " + check.status().message());
  auto catalog = open_run_catalog(global, o.tracking_uri);
  if (!catalog.ok()) return report_error(catalog.status().message());
  auto run = (*catalog)->get_run(o.run_id);
  if (!run.ok()) {
    return report_error(run.status().code() == Status::Code::kNotFound
                            ? "--run: no run '" + o.run_id + "' in " + (*catalog)->location() + " (see wattlab runs ls)"
                            : run.status().message());
  }
  TempDir download;
  auto dir = model_dir(**catalog, *run, o.artifacts_dir, download);
  if (!dir.ok()) return report_error(dir.status().message());

  // The test split of the data the run was trained on, shaped as it was then.
  TrainConfig data_config;
  auto param = [&](const char* key) {
    auto it = run->params.find(key);
    return it == run->params.end() ? std::string() : it->second;
  };
  data_config.data_dir = o.data_dir.empty() ? param("data_path") : o.data_dir;
  data_config.dataset = !o.dataset.empty() ? o.dataset : param("dataset").empty() ? "auto" : param("dataset");
  if (!param("resize").empty()) data_config.resize = std::stoll(param("resize"));
  if (data_config.dataset == "folder" && !param("channels").empty()) data_config.channels = std::stoll(param("channels"));
  data_config.test_subset = o.test_subset;
  if (Status s = validate(data_config); !s.ok()) return report_error(s.message());
  auto data = load_train_data(data_config);
  if (!data.ok()) return report_error(data.status().message());

  // Metered, and recorded where the trained run is.
  Env& env = Env::system();
  auto opened = open_command_monitor(env, o.meter, o.quiet);
  if (!opened.ok()) return report_error(opened.status().message());
  EnvironmentExtras extras;
  extras.values = opened->assumptions;
  Monitor& monitor = *opened->monitor;
  auto destination = open_run_destination(global, o.tracking_uri, o.quiet);
  if (!destination.ok()) return report_error(destination.status().message());
  std::string experiment = o.experiment;
  if (experiment.empty()) {
    auto trained_in = (*catalog)->get_experiment(run->info.experiment_id);
    experiment = trained_in.ok() ? trained_in->name : "Default";
  }
  const std::string device = parse_device(o.inference.device)->name();
  auto started = TrackingClient::start_run(destination->logger.get(), experiment, "infer-" + param("model"),
                                           TrackingClientOptions{.heartbeat_interval_ms = kDefaultHeartbeatIntervalMs});
  if (!started.ok()) return report_error(started.status().message());
  TrackingClient& client = **started;
  bool estimated = false;
  for (const auto& d : monitor.domains()) estimated |= d.estimated;
  const std::vector<Param> params = {
      {"trained_run_id", run->info.run_id},     {"model", param("model")},
      {"dataset", data->dataset},               {"data_path", data_config.data_dir},
      {"test_images", std::to_string(data->test.count)}, {"batch_size", std::to_string(o.inference.batch_size)},
      {"threads", std::to_string(o.inference.threads)},  {"device", device},
      {"meter", o.meter.kind},                  {"carbon_intensity_g_per_kwh", format_value(intensity->g_per_kwh)},
      {"carbon_source", intensity->source},     {"pue", format_value(o.pue)}};
  for (const auto& p : params) client.log_param(p.key, p.value);
  client.set_tag("mlflow.runName", "infer-" + param("model"));
  client.set_tag("wattlab.run_kind", "inference");
  client.set_tag("wattlab.trained_run", run->info.run_id);
  client.set_tag("wattlab.energy_estimated", estimated ? "true" : "false");
  extras.values["threads"] = std::to_string(o.inference.threads);
  extras.values["device"] = device;
  extras.values["libtorch_version"] = libtorch_version();
  client.set_environment(collect_environment(env, extras));

  PowerTimelineRecorder timeline(monitor, client);
  Status started_meter = monitor.start();
  auto window = started_meter.ok() ? monitor.begin_window("inference") : Result<WindowId>(started_meter);
  if (!window.ok()) {
    client.end_run(RunStatus::kFailed);
    return report_error(window.status().message());
  }
  ProgressBar progress("img", !o.quiet);
  InferenceOptions inference = o.inference;
  double last_drain_ms = env.clock().monotonic_ms();
  inference.on_progress = [&](int64_t done, int64_t total) {
    const double now_ms = env.clock().monotonic_ms();
    progress.update("inference", done, total, now_ms);
    if (now_ms - last_drain_ms > 1000) {  // the stored timeline grows as the pass goes
      timeline.drain();
      last_drain_ms = now_ms;
    }
  };
  auto result = evaluate_saved_model(*dir, data->test, inference);
  progress.clear();
  auto energy = monitor.end_window(*window);
  monitor.stop();
  timeline.finish();
  if (!result.ok() || !energy.ok()) {
    client.end_run(RunStatus::kFailed);
    return report_error(!result.ok() ? result.status().message() : energy.status().message());
  }
  const InferenceResult& r = *result;
  const double energy_j = energy->energy_j();
  const double per_image_j = r.images > 0 ? energy_j / static_cast<double>(r.images) : NAN;
  auto carbon = estimate_carbon(energy_j, *intensity, o.pue);
  const double co2e_g = carbon.ok() ? carbon->co2e_g : NAN;
  client.log_energy_window(*energy);
  const std::pair<const char*, double> metrics[] = {
      {"accuracy", r.accuracy},           {"images", static_cast<double>(r.images)},
      {"duration_s", r.duration_s},       {"images_per_s", r.images_per_s},
      {"energy_j", energy_j},             {"energy_per_image_j", per_image_j},
      {"co2e_g", co2e_g},                 {"trained_accuracy", r.model.accuracy}};
  for (const auto& [key, value] : metrics) client.log_metric(key, value);
  Status ended = client.end_run(RunStatus::kFinished);
  if (!ended.ok()) report_error("run " + client.run_id() + " was not fully saved: " + ended.message());

  const char* source = estimated ? "estimated" : "measured";
  if (o.format == "json") {
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
    nlohmann::json j = {{"run_id", client.run_id()},      {"trained_run_id", run->info.run_id},
                        {"model", r.model.model},         {"images", r.images},
                        {"accuracy", r.accuracy},         {"duration_s", r.duration_s},
                        {"images_per_s", r.images_per_s}, {"energy_j", energy_j},
                        {"energy_per_image_j", number(per_image_j)}, {"energy", source},
                        {"energy_estimated", estimated},  {"co2e_g", number(co2e_g)},
                        {"threads", o.inference.threads}, {"batch_size", o.inference.batch_size},
                        {"device", device},               {"trained_accuracy", r.model.accuracy}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("run %s: %s (%lldx%lldx%lld, %lld classes, %d epochs): accuracy %.4f on %lld images "
                "(%.4f when trained), %.1f images/s on %s with %d thread(s), batch %lld; %s %s (%s J/image) — "
                "recorded as run %s in %s\n",
                run->info.run_id.c_str(), r.model.model.c_str(), static_cast<long long>(r.model.channels),
                static_cast<long long>(r.model.height), static_cast<long long>(r.model.width),
                static_cast<long long>(r.model.num_classes), r.model.epochs, r.accuracy,
                static_cast<long long>(r.images), r.model.accuracy, r.images_per_s, device.c_str(),
                o.inference.threads, static_cast<long long>(o.inference.batch_size), format_energy_j(energy_j).c_str(),
                source, format_value(per_image_j).c_str(), client.run_id().c_str(), destination->description.c_str());
  }
  return 0;
}

}  // namespace

void add_infer_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "infer", "Evaluate the model a training run saved: accuracy, images/s and energy, recorded as a run");
  auto o = std::make_shared<InferCommandOptions>();
  cmd->add_option("--run", o->run_id, "The training run (its id, or 6+ leading hex digits)")->required();
  cmd->add_option("--data", o->data_dir, "The data set's folder (default: the one the run trained on); its test split is used");
  cmd->add_option("--dataset", o->dataset, "Format of --data, as for train (default: the run's)");
  cmd->add_option("--test-subset", o->test_subset, "Evaluate the first N test images (0: all)")->capture_default_str();
  cmd->add_option("--batch-size", o->inference.batch_size, "Images per forward pass")->capture_default_str();
  cmd->add_option("--threads", o->inference.threads, "LibTorch intra-op threads")->capture_default_str();
  cmd->add_option("--device", o->inference.device,
                  "cpu, cuda or cuda:N (CUDA needs a LibTorch built with it, see README); a model trained on any "
                  "device runs on any other")
      ->capture_default_str();
  cmd->add_option("--artifacts", o->artifacts_dir,
                  "The tracking server's artifact folder on this machine, as for train (default: the model is "
                  "downloaded from the server)");
  cmd->add_option("--experiment", o->experiment, "Experiment the evaluation run belongs to (default: the trained run's)");
  cmd->add_option("--meter", o->meter.kind, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->meter.estimator.cpu_tdp_w, "CPU TDP in watts for the estimator");
  cmd->add_option("--carbon", o->carbon,
                  "Grid carbon intensity: ISO alpha-3 country (FRA), provider:region or gCO2e/kWh (default: world "
                  "average)");
  cmd->add_option("--pue", o->pue, "Data-centre power usage effectiveness, 1.0 or more")->capture_default_str();
  cmd->add_option("--format", o->format,
                  "text or json (keys with units: duration_s, energy_j, energy_per_image_j, co2e_g; energy says "
                  "measured or estimated)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress bar and no notes");
  add_tracking_uri_option(cmd, &o->tracking_uri, /*reads=*/true);
  cmd->callback([&global, o, exit_code] { *exit_code = run_infer(global, *o); });
}

}  // namespace wattlab::cli
