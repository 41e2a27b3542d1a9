// `wattlab infer-bench`: latency, throughput and energy of a saved model's
// inference for every batch size x thread count, each tracked as a run.
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/meter_notes.h"
#include "wattlab/cli/saved_model_source.h"
#include "wattlab/cli/table.h"
#include "wattlab/energy/meters.h"
#include "wattlab/infer/model_bench.h"
#include "wattlab/study/spec.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"
#include "wattlab/train/device.h"

namespace wattlab::cli {

namespace {

struct InferBenchOptions {
  std::string run_id;
  std::string model_file;
  std::string artifacts_dir;
  std::vector<int64_t> batch_sizes{1, 8, 32};
  std::vector<int> threads{1};
  std::string device = "cpu";
  std::string duration = "10s";
  std::string warmup = "2s";
  std::string experiment = "infer-bench";
  MeterOptions meter;
  std::string format = "table";
  std::string tracking_uri;
};

nlohmann::json to_json(const ModelBenchResult& r, const std::string& run_id) {
  return {{"run_id", run_id},
          {"batch_size", r.config.batch_size},
          {"threads", r.config.threads},
          {"calls", r.calls},
          {"inferences", r.inferences},
          {"latency_ms", {{"p50", r.latency.p50_ms}, {"p95", r.latency.p95_ms}, {"p99", r.latency.p99_ms},
                          {"mean", r.latency.mean_ms}, {"min", r.latency.min_ms}, {"max", r.latency.max_ms}}},
          {"inferences_per_s", r.inferences_per_s},
          {"energy_j", r.energy.energy_j},
          {"energy_per_inference_j", r.energy_per_inference_j},
          {"energy_per_1000_inferences_j", 1000 * r.energy_per_inference_j},
          {"cpu_energy_attributed_per_inference_j", r.attributed_cpu_energy_per_inference_j},
          {"energy", r.energy.estimated ? "estimated" : "measured"}};
}

int run_infer_bench(const GlobalOptions& global, const InferBenchOptions& o) {
  if (o.run_id.empty() == o.model_file.empty())
    return report_error("give the model with --run RUN_ID (a training run) or --model-file F (model.pt, model.json "
                        "or their folder), one of them");
  if (o.format != "table" && o.format != "json") return report_error("--format must be table or json");
  auto duration_s = parse_duration_s(o.duration);
  if (!duration_s.ok() || *duration_s <= 0)
    return report_error("--duration \"" + o.duration + "\" is not a positive duration like 10s or 500ms");
  auto warmup_s = parse_duration_s(o.warmup);
  if (!warmup_s.ok()) return report_error("--warmup: " + warmup_s.status().message());
  for (int64_t b : o.batch_sizes)
    if (b < 1) return report_error("--batch-sizes must all be at least 1 (got " + std::to_string(b) + ")");
  for (int t : o.threads)
    if (t < 1) return report_error("--threads must all be at least 1 (got " + std::to_string(t) + ")");
  if (Status s = check_device(o.device); !s.ok()) return report_error(s.message());
  std::string model_path = o.model_file;
  if (!o.run_id.empty()) {
    auto dir = model_dir_of_run(global, o.run_id, o.artifacts_dir);
    if (!dir.ok()) return report_error(dir.status().message());
    model_path = *dir;
  }
  auto classifier = SavedClassifier::load(model_path, o.device);
  if (!classifier.ok()) return report_error(classifier.status().message());
  const SavedModelInfo& info = (*classifier)->info();

  Env& env = Env::system();
  auto opened = open_command_monitor(env, o.meter, /*quiet=*/false);
  if (!opened.ok()) return report_error(opened.status().message());
  Monitor& monitor = *opened->monitor;
  EnvironmentExtras extras;
  extras.values = opened->assumptions;
  if (Status s = monitor.start(); !s.ok()) return report_error(s.message());
  auto destination = open_run_destination(global, o.tracking_uri);
  if (!destination.ok()) return report_error(destination.status().message());

  nlohmann::json results = nlohmann::json::array();
  TextTable table({"threads", "batch", "calls", "p50 ms", "p95 ms", "p99 ms", "inferences/s", "J/inference",
                   "J/1000", "energy", "run"},
                  {true, true, true, true, true, true, true, true, true, false, false});
  for (int threads : o.threads) {
    for (int64_t batch : o.batch_sizes) {
      const std::string name = info.model + "-b" + std::to_string(batch) + "-t" + std::to_string(threads);
      auto started = TrackingClient::start_run(destination->logger.get(), o.experiment, name);
      if (!started.ok()) return report_error(started.status().message());
      TrackingClient& client = **started;
      client.set_tag("mlflow.runName", name);
      client.set_tag("wattlab.kind", "infer-bench");
      if (!o.run_id.empty()) client.set_tag("wattlab.trained_run", o.run_id);
      client.log_param("model", info.model);
      client.log_param("model_path", model_path);
      client.log_param("batch_size", std::to_string(batch));
      client.log_param("threads", std::to_string(threads));
      client.log_param("device", o.device);
      client.log_param("duration_s", format_number(*duration_s, 3));
      client.log_param("warmup_s", format_number(*warmup_s, 3));
      client.log_param("meter", o.meter.kind);
      client.set_environment(collect_environment(env, extras));
      std::fprintf(stderr, "wattlab: %s: %s warm-up, %s measured\n", name.c_str(), o.warmup.c_str(), o.duration.c_str());
      ModelBenchConfig config;
      config.batch_size = batch;
      config.threads = threads;
      config.duration_s = *duration_s;
      config.warmup_s = *warmup_s;
      auto r = bench_model(**classifier, config, &monitor, &env);
      if (!r.ok()) {
        client.end_run(RunStatus::kFailed);
        return report_error(r.status().message());
      }
      client.set_tag("wattlab.energy_estimated", r->energy.estimated ? "true" : "false");
      const std::vector<std::pair<std::string, double>> metrics = {
          {"latency_p50_ms", r->latency.p50_ms},     {"latency_p95_ms", r->latency.p95_ms},
          {"latency_p99_ms", r->latency.p99_ms},     {"latency_mean_ms", r->latency.mean_ms},
          {"calls", static_cast<double>(r->calls)},  {"inferences", static_cast<double>(r->inferences)},
          {"inferences_per_s", r->inferences_per_s}, {"energy_j", r->energy.energy_j},
          {"energy_per_inference_j", r->energy_per_inference_j},
          {"energy_per_1000_inferences_j", 1000 * r->energy_per_inference_j},
          {"cpu_energy_attributed_per_inference_j", r->attributed_cpu_energy_per_inference_j},
          {"duration_s", r->energy.duration_s}};
      for (const auto& [key, value] : metrics) client.log_metric(key, value);
      if (Status s = client.end_run(RunStatus::kFinished); !s.ok())
        report_error("run " + client.run_id() + " was not fully saved: " + s.message());
      results.push_back(to_json(*r, client.run_id()));
      table.add_row({std::to_string(threads), std::to_string(batch), std::to_string(r->calls),
                     format_number(r->latency.p50_ms, 3), format_number(r->latency.p95_ms, 3),
                     format_number(r->latency.p99_ms, 3), format_number(r->inferences_per_s, 1),
                     format_number(r->energy_per_inference_j, 5), format_number(1000 * r->energy_per_inference_j, 2),
                     r->energy.estimated ? "estimated" : "measured", client.run_id().substr(0, 8)});
    }
  }
  monitor.stop();
  if (o.format == "json") {
    nlohmann::json out = {{"model", info.model}, {"model_path", model_path}, {"device", o.device},
                          {"trained_run", o.run_id}, {"configurations", results}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::ostringstream text;
  table.print(text);
  std::printf("%s: %s (%lldx%lldx%lld, %lld classes) on %s; latency per call (one batch), energy per inference "
              "(one image), machine-wide\n%s",
              model_path.c_str(), info.model.c_str(), static_cast<long long>(info.channels),
              static_cast<long long>(info.height), static_cast<long long>(info.width),
              static_cast<long long>(info.num_classes), o.device.c_str(), text.str().c_str());
  return 0;
}

}  // namespace

void add_infer_bench_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand("infer-bench", "Latency, throughput and energy of a saved model's inference");
  auto o = std::make_shared<InferBenchOptions>();
  cmd->add_option("--run", o->run_id, "The training run whose model to benchmark (id or 6+ leading hex digits)");
  cmd->add_option("--model-file", o->model_file, "Or the model itself: model.pt, model.json or their folder");
  cmd->add_option("--artifacts", o->artifacts_dir, "The tracking server's artifact folder, as for train");
  cmd->add_option("--batch-sizes", o->batch_sizes, "Images per call, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--threads", o->threads, "LibTorch intra-op threads, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--duration", o->duration, "Measured time per configuration (10s, 500ms)")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Unmeasured time first, per configuration")->capture_default_str();
  cmd->add_option("--experiment", o->experiment, "Experiment of the runs (one per configuration)")->capture_default_str();
  cmd->add_option("--meter", o->meter.kind, "auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--format", o->format, "table or json")->capture_default_str();
  add_tracking_uri_option(cmd, &o->tracking_uri);
  cmd->footer("Each configuration is a run tagged wattlab.trained_run=<the --run> and wattlab.energy_estimated.\n"
              "Example: wattlab infer-bench --run 3fa2c1 --batch-sizes 1,32 --threads 1,2 --duration 5s");
  cmd->callback([&global, o, exit_code] { *exit_code = run_infer_bench(global, *o); });
}

}  // namespace wattlab::cli
