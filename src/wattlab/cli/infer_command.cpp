// `wattlab infer`: evaluates the model a `wattlab train` run saved.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/run/run_artifacts.h"
#include "wattlab/train/trainer.h"
#include "wattlab/infer/evaluate.h"
#include "wattlab/train/device.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct InferCommandOptions {
  std::string run_id;
  std::string data_dir;       // empty: the run's data_path
  std::string dataset;        // empty: the run's dataset
  int64_t test_subset = 0;
  std::string artifacts_dir;  // as train --artifacts
  InferenceOptions inference;
  std::string format = "text";
};

int run_infer(const GlobalOptions& global, const InferCommandOptions& o) {
  if (o.format != "text" && o.format != "json") {
    return report_error("--format must be text or json (got \"" + o.format + "\")");
  }
  // An unusable --device fails before anything is read.
  if (Status s = check_device(o.inference.device); !s.ok()) return report_error(s.message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  auto run = (*store)->get_run(o.run_id);
  if (!run.ok()) {
    return report_error(run.status().code() == Status::Code::kNotFound
                            ? "--run: no run '" + o.run_id + "' in " + global.store_path + " (see wattlab runs ls)"
                            : run.status().message());
  }
  auto dir = run_artifact_dir(run->info.artifact_uri, o.artifacts_dir);
  if (!dir.ok()) return report_error(dir.status().message());
  const std::string model_json = (std::filesystem::path(*dir) / kModelInfoFile).string();
  std::error_code ec;
  if (!std::filesystem::exists(model_json, ec)) {
    return report_error("run " + run->info.run_id + " saved no model (" + model_json +
                        "): it did not finish, or was trained by a wattlab that did not save models");
  }

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

  auto result = evaluate_saved_model(*dir, data->test, o.inference);
  if (!result.ok()) return report_error(result.status().message());
  const InferenceResult& r = *result;
  if (o.format == "json") {
    nlohmann::json j = {{"run_id", run->info.run_id}, {"model", r.model.model},
                        {"images", r.images},        {"accuracy", r.accuracy},
                        {"seconds", r.seconds},      {"images_per_s", r.images_per_s},
                        {"threads", o.inference.threads}, {"batch_size", o.inference.batch_size},
                        {"device", parse_device(o.inference.device)->name()},
                        {"trained_accuracy", r.model.accuracy}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("run %s: %s (%lldx%lldx%lld, %lld classes, %d epochs): accuracy %.4f on %lld images "
                "(%.4f when trained), %.1f images/s on %s with %d thread(s), batch %lld\n",
                run->info.run_id.c_str(), r.model.model.c_str(), static_cast<long long>(r.model.channels),
                static_cast<long long>(r.model.height), static_cast<long long>(r.model.width),
                static_cast<long long>(r.model.num_classes), r.model.epochs, r.accuracy,
                static_cast<long long>(r.images), r.model.accuracy, r.images_per_s,
                parse_device(o.inference.device)->name().c_str(), o.inference.threads,
                static_cast<long long>(o.inference.batch_size));
  }
  return 0;
}

}  // namespace

void add_infer_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand("infer", "Evaluate the model a training run saved: accuracy and images/s");
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
  cmd->add_option("--artifacts", o->artifacts_dir, "The tracking server's artifact folder, as for train");
  cmd->add_option("--format", o->format, "text or json")->capture_default_str();
  cmd->callback([&global, o, exit_code] { *exit_code = run_infer(global, *o); });
}

}  // namespace wattlab::cli
