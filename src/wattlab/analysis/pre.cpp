#include "wattlab/analysis/pre.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "wattlab/core/clock.h"
#include "wattlab/energy/cpu_tdp.h"

namespace wattlab {

namespace {

constexpr const char* kModelArtifact = "pre_model.json";
constexpr double kUnknownCpuWattsPerThread = 4.0;  // the estimator meter's figure for a CPU the table lacks

std::string get_or(const std::map<std::string, std::string>& m, const std::string& key, const std::string& fallback = "") {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

double number_or(const std::map<std::string, std::string>& m, const std::string& key, double fallback) {
  auto it = m.find(key);
  if (it == m.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  return end != it->second.c_str() && std::isfinite(v) ? v : fallback;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Linear-interpolation quantile of sorted values (NumPy's default method).
double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (at - static_cast<double>(lo));
}

double geometric_mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += std::log(v);
  return std::exp(sum / static_cast<double>(values.size()));
}

Eigen::MatrixXd feature_matrix(const std::vector<std::vector<double>>& rows) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(pre_feature_names().size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
  }
  return x;
}

PreQuality quality_of(const std::vector<double>& actual, const std::vector<double>& predicted) {
  PreQuality q;
  q.cv = prediction_errors(actual, predicted);
  std::vector<double> residuals(actual.size());
  for (size_t i = 0; i < actual.size(); ++i) residuals[i] = std::log(actual[i] / predicted[i]);
  q.residual_low = quantile(residuals, 0.05);
  q.residual_high = quantile(residuals, 0.95);
  return q;
}

std::string configuration_key(const PreWorkload& w) {
  return w.shape.key() + " | batch " + std::to_string(w.batch_size) + " | images " + std::to_string(w.train_images) +
         "/" + std::to_string(w.val_images) + "/" + std::to_string(w.test_images) + " | " + w.precision + " | " +
         w.environment.key();
}

// ---- JSON of a fitted model ----

nlohmann::json to_json(const PreEnvironment& e) {
  return {{"hostname", e.hostname},         {"cpu_model", e.cpu_model},   {"cpu_tdp_w", e.cpu_tdp_w},
          {"cpu_count", e.cpu_count},       {"ram_gib", e.ram_gib},       {"gpu_model", e.gpu_model},
          {"gpu_memory_gib", e.gpu_memory_gib}, {"gpu_power_limit_w", e.gpu_power_limit_w},
          {"gpu_cores", e.gpu_cores},       {"device", e.device},         {"threads", e.threads},
          {"name", e.name}};
}

PreEnvironment environment_from_json(const nlohmann::json& j) {
  PreEnvironment e;
  e.hostname = j.at("hostname");
  e.cpu_model = j.at("cpu_model");
  e.cpu_tdp_w = j.at("cpu_tdp_w");
  e.cpu_count = j.at("cpu_count");
  e.ram_gib = j.at("ram_gib");
  e.gpu_model = j.at("gpu_model");
  e.gpu_memory_gib = j.at("gpu_memory_gib");
  e.gpu_power_limit_w = j.at("gpu_power_limit_w");
  e.gpu_cores = j.at("gpu_cores");
  e.device = j.at("device");
  e.threads = j.at("threads");
  e.name = j.at("name");
  return e;
}

nlohmann::json to_json(const PreWorkload& w) {
  return {{"model", w.shape.model},          {"width_multiplier", w.shape.width_multiplier},
          {"channels", w.shape.channels},    {"height", w.shape.height},
          {"width", w.shape.width},          {"num_classes", w.shape.num_classes},
          {"batch_size", w.batch_size},      {"train_images", w.train_images},
          {"val_images", w.val_images},      {"test_images", w.test_images},
          {"precision", w.precision},        {"environment", to_json(w.environment)}};
}

PreWorkload workload_from_json(const nlohmann::json& j) {
  PreWorkload w;
  w.shape.model = j.at("model");
  w.shape.width_multiplier = j.at("width_multiplier");
  w.shape.channels = j.at("channels");
  w.shape.height = j.at("height");
  w.shape.width = j.at("width");
  w.shape.num_classes = j.at("num_classes");
  w.batch_size = j.at("batch_size");
  w.train_images = j.at("train_images");
  w.val_images = j.at("val_images");
  w.test_images = j.at("test_images");
  w.precision = j.at("precision");
  w.environment = environment_from_json(j.at("environment"));
  return w;
}

nlohmann::json to_json(const KernelRidge& m) {
  auto vec = [](const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); };
  std::vector<std::vector<double>> rows;
  for (Eigen::Index i = 0; i < m.standardised_rows().rows(); ++i) rows.push_back(vec(m.standardised_rows().row(i)));
  return {{"alpha", m.params().alpha}, {"gamma", m.params().gamma}, {"feature_mean", vec(m.feature_mean())},
          {"feature_scale", vec(m.feature_scale())}, {"target_mean", m.target_mean()}, {"rows", rows},
          {"dual_coef", vec(m.dual_coef())}};
}

Result<KernelRidge> kernel_ridge_from_json(const nlohmann::json& j) {
  auto vec = [](const nlohmann::json& values) {
    const auto v = values.get<std::vector<double>>();
    return Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())));
  };
  const auto& rows = j.at("rows");
  const Eigen::Index d = static_cast<Eigen::Index>(j.at("feature_mean").size());
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()), d);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<Eigen::Index>(rows[i].size()) != d) return Status::corrupt("a training row of the wrong width");
    for (Eigen::Index c = 0; c < d; ++c) x(static_cast<Eigen::Index>(i), c) = rows[i][static_cast<size_t>(c)];
  }
  return KernelRidge::from_parts({j.at("alpha"), j.at("gamma")}, vec(j.at("feature_mean")),
                                 vec(j.at("feature_scale")), j.at("target_mean"), std::move(x), vec(j.at("dual_coef")));
}

nlohmann::json to_json(const PreQuality& q) {
  return {{"mape", q.cv.mape}, {"rmse", q.cv.rmse}, {"r2", std::isfinite(q.cv.r2) ? nlohmann::json(q.cv.r2) : nlohmann::json()},
          {"count", q.cv.count}, {"residual_low", q.residual_low}, {"residual_high", q.residual_high}};
}

PreQuality quality_from_json(const nlohmann::json& j) {
  PreQuality q;
  q.cv.mape = j.at("mape");
  q.cv.rmse = j.at("rmse");
  q.cv.r2 = j.at("r2").is_null() ? NAN : j.at("r2").get<double>();
  q.cv.count = j.at("count");
  q.residual_low = j.at("residual_low");
  q.residual_high = j.at("residual_high");
  return q;
}

nlohmann::json to_json(const PreModel& m) {
  auto configurations = nlohmann::json::array();
  for (const auto& c : m.configurations) {
    configurations.push_back({{"key", c.key},
                              {"workload", to_json(c.workload)},
                              {"parameters", c.cost.parameters},
                              {"macs_per_image", c.cost.macs_per_image},
                              {"run_ids", c.run_ids},
                              {"energy_per_epoch_j", c.energy_per_epoch_j},
                              {"mean_power_w", c.mean_power_w},
                              {"duration_per_epoch_s", c.duration_per_epoch_s}});
  }
  nlohmann::json costs = nlohmann::json::object();
  for (const auto& [key, cost] : m.model_costs) costs[key] = {cost.parameters, cost.macs_per_image};
  return {{"format", "wattlab-pre/1"},
          {"feature_names", m.feature_names},
          {"configurations", configurations},
          {"model_costs", costs},
          {"energy_model", to_json(m.energy_model)},
          {"power_model", to_json(m.power_model)},
          {"energy_quality", to_json(m.energy)},
          {"power_quality", to_json(m.power)},
          {"time_quality", to_json(m.time)},
          {"folds", m.folds},
          {"seed", m.seed},
          {"fitted_at_ms", m.fitted_at_ms},
          {"latest_run_end_ms", m.latest_run_end_ms}};
}

Result<PreModel> model_from_json(const nlohmann::json& j) {
  if (j.value("format", "") != "wattlab-pre/1") return Status::corrupt("not a wattlab-pre/1 model");
  PreModel m;
  m.feature_names = j.at("feature_names").get<std::vector<std::string>>();
  if (m.feature_names != pre_feature_names()) {
    return Status::corrupt("it was fitted on other features than this wattlab's (a newer or older wattlab)");
  }
  for (const auto& c : j.at("configurations")) {
    PreConfiguration config;
    config.key = c.at("key");
    config.workload = workload_from_json(c.at("workload"));
    config.cost = {c.at("parameters"), c.at("macs_per_image")};
    config.run_ids = c.at("run_ids").get<std::vector<std::string>>();
    config.energy_per_epoch_j = c.at("energy_per_epoch_j");
    config.mean_power_w = c.at("mean_power_w");
    config.duration_per_epoch_s = c.at("duration_per_epoch_s");
    m.configurations.push_back(std::move(config));
  }
  for (const auto& [key, cost] : j.at("model_costs").items()) m.model_costs[key] = {cost.at(0), cost.at(1)};
  auto energy = kernel_ridge_from_json(j.at("energy_model"));
  if (!energy.ok()) return energy.status();
  auto power = kernel_ridge_from_json(j.at("power_model"));
  if (!power.ok()) return power.status();
  if (energy->standardised_rows().rows() != static_cast<Eigen::Index>(m.configurations.size()) ||
      power->standardised_rows().rows() != static_cast<Eigen::Index>(m.configurations.size()) ||
      energy->feature_mean().size() != static_cast<Eigen::Index>(m.feature_names.size())) {
    return Status::corrupt("its regressions do not match its configurations");
  }
  m.energy_model = std::move(*energy);
  m.power_model = std::move(*power);
  m.energy = quality_from_json(j.at("energy_quality"));
  m.power = quality_from_json(j.at("power_quality"));
  m.time = quality_from_json(j.at("time_quality"));
  m.folds = j.at("folds");
  m.seed = j.at("seed");
  m.fitted_at_ms = j.at("fitted_at_ms");
  m.latest_run_end_ms = j.at("latest_run_end_ms");
  return m;
}

// The local folder of a run's artifacts: its artifact URI when that is a
// path or file:// URI (what a SQLite or PostgreSQL store gives by default).
Result<std::string> local_artifact_dir(const RunInfo& run) {
  const std::string& uri = run.artifact_uri;
  if (uri.rfind("file://", 0) == 0) return uri.substr(7);
  const size_t colon = uri.find(':');
  if (uri.empty() || (colon != std::string::npos && uri.find('/') > colon)) {
    return Status::unavailable("the estimator run's artifact location \"" + uri +
                               "\" is not a folder of this machine, so PRE's model cannot be stored there");
  }
  return uri;
}

Result<std::vector<std::string>> training_experiment_ids(Store& store) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  std::vector<std::string> ids;
  for (const Experiment& e : *experiments) {
    if (e.name != kEstimatorExperiment) ids.push_back(e.experiment_id);
  }
  return ids;
}

}  // namespace

// ---- Environments and workloads ----

std::string PreEnvironment::key() const {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s|%.1f|%d|%.0f|%s|%.1f|%.0f|%.0f|%s|%d", cpu_model.c_str(), cpu_tdp_w, cpu_count,
                ram_gib, gpu_model.c_str(), gpu_memory_gib, gpu_power_limit_w, gpu_cores, device.c_str(), threads);
  return buf;
}

std::string PreEnvironment::hardware_key() const {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s|%.1f|%d|%.0f|%s|%.1f|%.0f|%.0f|%s", cpu_model.c_str(), cpu_tdp_w, cpu_count,
                ram_gib, gpu_model.c_str(), gpu_memory_gib, gpu_power_limit_w, gpu_cores,
                device.substr(0, device.find(':')).c_str());
  return buf;
}

std::string PreEnvironment::label() const {
  std::string text = name.empty() ? "" : name + ": ";
  text += (cpu_model.empty() ? "unknown CPU" : cpu_model) + ", " + std::to_string(threads) +
          (threads == 1 ? " thread, " : " threads, ") + device;
  if (!gpu_model.empty() && device != "cpu") text += " (" + gpu_model + ")";
  if (!hostname.empty()) text += " on " + hostname;
  return text;
}

PreEnvironment environment_of_snapshot(const std::map<std::string, std::string>& snapshot) {
  PreEnvironment e;
  e.hostname = get_or(snapshot, "hostname");
  e.cpu_model = get_or(snapshot, "cpu_model");
  e.cpu_count = static_cast<int>(number_or(snapshot, "cpu_count", 1));
  e.ram_gib = number_or(snapshot, "ram_gib", 0);
  const auto tdp = e.cpu_model.empty() ? std::nullopt : lookup_cpu_tdp_w(e.cpu_model);
  e.cpu_tdp_w = tdp ? *tdp : kUnknownCpuWattsPerThread * e.cpu_count;
  e.gpu_model = get_or(snapshot, "gpu_model");
  e.gpu_memory_gib = number_or(snapshot, "gpu_memory_gib", 0);
  e.gpu_power_limit_w = number_or(snapshot, "gpu_power_limit_w", 0);
  e.gpu_cores = number_or(snapshot, "gpu_cores", 0);
  e.device = get_or(snapshot, "device", "cpu");
  e.threads = static_cast<int>(number_or(snapshot, "threads", 1));
  return e;
}

PreEnvironment environment_of_run(const RunData& run) {
  std::map<std::string, std::string> snapshot = run.environment;
  for (const char* key : {"device", "threads"}) {
    if (!snapshot.count(key) && run.params.count(key)) snapshot[key] = run.params.at(key);
  }
  PreEnvironment e = environment_of_snapshot(snapshot);
  e.name = get_or(run.tags, "wattlab.study.environment");
  return e;
}

std::string PreModelShape::key() const {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s x%g %lldx%lldx%lld %lld classes", model.c_str(), width_multiplier,
                static_cast<long long>(channels), static_cast<long long>(height), static_cast<long long>(width),
                static_cast<long long>(num_classes));
  return buf;
}

Result<PreWorkload> workload_of_run(const RunData& run) {
  const auto& p = run.params;
  for (const char* key : {"model", "image_size", "batch_size", "train_images"}) {
    if (!p.count(key)) return Status::invalid_argument(std::string("no param ") + key);
  }
  PreWorkload w;
  w.shape.model = p.at("model");
  w.shape.width_multiplier = number_or(p, "width_multiplier", 1.0);
  w.shape.channels = static_cast<int64_t>(number_or(p, "channels", 1));
  w.shape.num_classes = static_cast<int64_t>(number_or(p, "num_classes", 10));
  long long h = 0, wd = 0;
  if (std::sscanf(p.at("image_size").c_str(), "%lldx%lld", &h, &wd) != 2 || h < 1 || wd < 1) {
    return Status::invalid_argument("param image_size is \"" + p.at("image_size") + "\", not HxW");
  }
  w.shape.height = h;
  w.shape.width = wd;
  w.batch_size = static_cast<int64_t>(number_or(p, "batch_size", 0));
  w.train_images = static_cast<int64_t>(number_or(p, "train_images", 0));
  w.val_images = static_cast<int64_t>(number_or(p, "val_images", 0));
  w.test_images = static_cast<int64_t>(number_or(p, "test_images", 0));
  if (w.batch_size < 1 || w.train_images < 1) return Status::invalid_argument("param batch_size or train_images is not positive");
  w.precision = get_or(p, "precision", "fp32");
  w.environment = environment_of_run(run);
  return w;
}

const std::vector<std::string>& pre_feature_names() {
  static const std::vector<std::string> names = {
      "log2_batch_size", "image_height",   "image_width",    "channels",      "log10_train_images",
      "log10_eval_images", "log10_macs_per_image", "log10_parameters", "threads", "bf16",
      "cuda",            "cpu_tdp_w",      "cpu_count",      "ram_gib",       "gpu_memory_gib",
      "gpu_power_limit_w", "gpu_cores"};
  return names;
}

std::vector<double> pre_features(const PreWorkload& w, const PreModelCost& cost) {
  const PreEnvironment& e = w.environment;
  return {std::log2(static_cast<double>(w.batch_size)),
          static_cast<double>(w.shape.height),
          static_cast<double>(w.shape.width),
          static_cast<double>(w.shape.channels),
          std::log10(static_cast<double>(std::max<int64_t>(w.train_images, 1))),
          std::log10(static_cast<double>(std::max<int64_t>(w.val_images + w.test_images, 1))),
          std::log10(static_cast<double>(std::max<int64_t>(cost.macs_per_image, 1))),
          std::log10(static_cast<double>(std::max<int64_t>(cost.parameters, 1))),
          static_cast<double>(e.threads),
          w.precision == "bf16" ? 1.0 : 0.0,
          e.device.rfind("cuda", 0) == 0 ? 1.0 : 0.0,
          e.cpu_tdp_w,
          static_cast<double>(e.cpu_count),
          e.ram_gib,
          e.gpu_memory_gib,
          e.gpu_power_limit_w,
          e.gpu_cores};
}

double pre_work_macs(const PreWorkload& w, const PreModelCost& cost) {
  return static_cast<double>(std::max<int64_t>(cost.macs_per_image, 1)) *
         static_cast<double>(3 * w.train_images + w.val_images + w.test_images);
}

Result<PreObservation> observation_of_run(const RunData& run, const ModelCostLookup& cost) {
  if (run.info.status != RunStatus::kFinished) return Status::invalid_argument("not FINISHED");
  auto workload = workload_of_run(run);
  if (!workload.ok()) return workload.status();
  auto metric = [&](const char* key) {
    auto it = run.latest_metrics.find(key);
    return it == run.latest_metrics.end() ? NAN : it->second.value;
  };
  const double energy_j = metric("energy_j"), duration_s = metric("duration_s");
  auto epochs = run.latest_metrics.find("train_energy_j");
  if (!(energy_j > 0) || !(duration_s > 0) || epochs == run.latest_metrics.end() || epochs->second.step < 1) {
    return Status::invalid_argument("no energy_j, duration_s or per-epoch train_energy_j");
  }
  auto figures = cost(workload->shape);
  if (!figures.ok()) return figures.status();
  PreObservation o;
  o.run_id = run.info.run_id;
  o.workload = std::move(*workload);
  o.cost = *figures;
  const double epoch_count = static_cast<double>(epochs->second.step);
  o.energy_per_epoch_j = energy_j / epoch_count;
  o.duration_per_epoch_s = duration_s / epoch_count;
  o.mean_power_w = energy_j / duration_s;
  o.end_time_ms = run.info.end_time_ms.value_or(run.info.start_time_ms);
  return o;
}

Result<PreCollection> collect_pre_observations(Store& store, const ModelCostLookup& cost,
                                               std::map<std::string, PreModelCost>* costs) {
  auto experiment_ids = training_experiment_ids(store);
  if (!experiment_ids.ok()) return experiment_ids.status();
  const ModelCostLookup cached = [&](const PreModelShape& shape) -> Result<PreModelCost> {
    const std::string key = shape.key();
    if (auto it = costs->find(key); it != costs->end()) return it->second;
    auto figures = cost(shape);
    if (figures.ok()) (*costs)[key] = *figures;
    return figures;
  };
  PreCollection collection;
  SearchRunsOptions search;
  search.experiment_ids = *experiment_ids;
  search.filter = "attributes.status = 'FINISHED'";
  search.max_results = kSearchMaxResultsLimit;
  do {
    auto page = store.search_runs(search);
    if (!page.ok()) return page.status();
    for (const RunData& listed : page->runs) {
      collection.latest_end_time_ms = std::max(collection.latest_end_time_ms, listed.info.end_time_ms.value_or(0));
      auto run = store.get_run(listed.info.run_id);
      if (!run.ok()) return run.status();
      auto observation = observation_of_run(*run, cached);
      if (observation.ok()) {
        collection.observations.push_back(std::move(*observation));
      } else {
        ++collection.runs_skipped;
      }
    }
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  return collection;
}

// ---- Fitting and predicting ----

size_t PreModel::run_count() const {
  size_t n = 0;
  for (const auto& c : configurations) n += c.run_ids.size();
  return n;
}

std::vector<PreEnvironment> PreModel::environments() const {
  std::vector<PreEnvironment> out;
  std::set<std::string> seen;
  for (const auto& c : configurations) {
    if (seen.insert(c.workload.environment.key()).second) out.push_back(c.workload.environment);
  }
  return out;
}

size_t PreModel::runs_on_hardware(const PreEnvironment& environment) const {
  size_t n = 0;
  for (const auto& c : configurations) {
    if (c.workload.environment.hardware_key() == environment.hardware_key()) n += c.run_ids.size();
  }
  return n;
}

Result<PreModel> fit_pre(const std::vector<PreObservation>& observations, const PreFitOptions& options) {
  // Configurations: repetitions grouped; the most recent max_configurations kept, in key order.
  std::map<std::string, std::vector<const PreObservation*>> groups;
  for (const auto& o : observations) groups[configuration_key(o.workload)].push_back(&o);
  if (groups.size() < std::max<size_t>(options.min_configurations, 2)) {
    return Status::invalid_argument("PRE needs runs of at least " + std::to_string(options.min_configurations) +
                                    " configurations; the store has " + std::to_string(groups.size()));
  }
  std::vector<std::pair<int64_t, std::string>> recency;
  for (const auto& [key, runs] : groups) {
    int64_t latest = 0;
    for (const auto* o : runs) latest = std::max(latest, o->end_time_ms);
    recency.push_back({latest, key});
  }
  std::sort(recency.begin(), recency.end(), std::greater<>());
  if (recency.size() > options.max_configurations) recency.resize(options.max_configurations);
  std::sort(recency.begin(), recency.end(), [](const auto& a, const auto& b) { return a.second < b.second; });

  PreModel model;
  model.feature_names = pre_feature_names();
  std::vector<std::vector<double>> rows;
  std::vector<std::string> keys;
  for (const auto& [latest, key] : recency) {
    const auto& runs = groups.at(key);
    PreConfiguration c;
    c.key = key;
    c.workload = runs.front()->workload;
    c.cost = runs.front()->cost;
    std::vector<double> energy, power, duration;
    for (const auto* o : runs) {
      c.run_ids.push_back(o->run_id);
      energy.push_back(o->energy_per_epoch_j);
      power.push_back(o->mean_power_w);
      duration.push_back(o->duration_per_epoch_s);
      model.latest_run_end_ms = std::max(model.latest_run_end_ms, o->end_time_ms);
    }
    c.energy_per_epoch_j = geometric_mean(energy);
    c.mean_power_w = geometric_mean(power);
    c.duration_per_epoch_s = geometric_mean(duration);
    model.model_costs[c.workload.shape.key()] = c.cost;
    rows.push_back(pre_features(c.workload, c.cost));
    keys.push_back(key);
    model.configurations.push_back(std::move(c));
  }
  const size_t n = model.configurations.size();
  model.folds = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(options.folds, 2)), n));
  model.seed = options.seed;
  auto folds = assign_folds(keys, model.folds, options.seed);
  if (!folds.ok()) return folds.status();

  const Eigen::MatrixXd x = feature_matrix(rows);
  Eigen::VectorXd y_energy(static_cast<Eigen::Index>(n)), y_power(static_cast<Eigen::Index>(n));
  std::vector<double> work(n), energy(n), power(n), duration(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& c = model.configurations[i];
    work[i] = pre_work_macs(c.workload, c.cost);
    energy[i] = c.energy_per_epoch_j;
    power[i] = c.mean_power_w;
    duration[i] = c.duration_per_epoch_s;
    y_energy[static_cast<Eigen::Index>(i)] = std::log(energy[i] / work[i]);
    y_power[static_cast<Eigen::Index>(i)] = std::log(power[i]);
  }
  auto tuned_energy = tune_kernel_ridge(x, y_energy, *folds, options.grid);
  if (!tuned_energy.ok()) return tuned_energy.status();
  auto tuned_power = tune_kernel_ridge(x, y_power, *folds, options.grid);
  if (!tuned_power.ok()) return tuned_power.status();
  auto energy_model = KernelRidge::fit(x, y_energy, tuned_energy->params);
  if (!energy_model.ok()) return energy_model.status();
  auto power_model = KernelRidge::fit(x, y_power, tuned_power->params);
  if (!power_model.ok()) return power_model.status();
  model.energy_model = std::move(*energy_model);
  model.power_model = std::move(*power_model);
  std::vector<double> oof_energy(n), oof_power(n), oof_duration(n);
  for (size_t i = 0; i < n; ++i) {
    oof_energy[i] = work[i] * std::exp(tuned_energy->cv_predictions[static_cast<Eigen::Index>(i)]);
    oof_power[i] = std::exp(tuned_power->cv_predictions[static_cast<Eigen::Index>(i)]);
    oof_duration[i] = oof_energy[i] / oof_power[i];
  }
  model.energy = quality_of(energy, oof_energy);
  model.power = quality_of(power, oof_power);
  model.time = quality_of(duration, oof_duration);
  return model;
}

PrePrediction predict_pre(const PreModel& model, const PreWorkload& workload, const PreModelCost& cost) {
  const std::vector<double> features = pre_features(workload, cost);
  const Eigen::RowVectorXd x = Eigen::Map<const Eigen::RowVectorXd>(features.data(), static_cast<Eigen::Index>(features.size()));
  PrePrediction p;
  p.energy_per_epoch_j = pre_work_macs(workload, cost) * std::exp(model.energy_model.predict(x)[0]);
  p.mean_power_w = std::exp(model.power_model.predict(x)[0]);
  p.duration_per_epoch_s = p.energy_per_epoch_j / p.mean_power_w;
  p.energy_low_j = p.energy_per_epoch_j * std::exp(model.energy.residual_low);
  p.energy_high_j = p.energy_per_epoch_j * std::exp(model.energy.residual_high);
  p.power_low_w = p.mean_power_w * std::exp(model.power.residual_low);
  p.power_high_w = p.mean_power_w * std::exp(model.power.residual_high);
  p.duration_low_s = p.duration_per_epoch_s * std::exp(model.time.residual_low);
  p.duration_high_s = p.duration_per_epoch_s * std::exp(model.time.residual_high);
  const Eigen::VectorXd weights = model.energy_model.kernel_weights(x);
  std::vector<size_t> order(static_cast<size_t>(weights.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return weights[static_cast<Eigen::Index>(a)] > weights[static_cast<Eigen::Index>(b)];
  });
  for (size_t i = 0; i < std::min<size_t>(3, order.size()); ++i) {
    const PreConfiguration& c = model.configurations[order[i]];
    const PreWorkload& w = c.workload;
    PreNeighbour n;
    n.label = w.shape.model + (w.shape.width_multiplier != 1.0 ? format(" x%g", w.shape.width_multiplier) : "") +
              ", batch " + std::to_string(w.batch_size) + ", " + std::to_string(w.train_images) + " images, " +
              w.environment.label();
    n.weight = weights[static_cast<Eigen::Index>(order[i])];
    n.energy_per_epoch_j = c.energy_per_epoch_j;
    n.runs = c.run_ids.size();
    p.nearest.push_back(std::move(n));
  }
  return p;
}

Result<PreCrossValidation> cross_validate_pre(const std::vector<PreObservation>& observations,
                                              std::span<const int> folds, const KernelRidgeGrid& grid) {
  const size_t n = observations.size();
  if (folds.size() != n) return Status::invalid_argument("cross_validate_pre: one fold per observation needed");
  std::vector<std::vector<double>> rows;
  Eigen::VectorXd y_energy(static_cast<Eigen::Index>(n)), y_power(static_cast<Eigen::Index>(n));
  std::vector<double> work(n), energy(n), power(n);
  for (size_t i = 0; i < n; ++i) {
    const PreObservation& o = observations[i];
    rows.push_back(pre_features(o.workload, o.cost));
    work[i] = pre_work_macs(o.workload, o.cost);
    energy[i] = o.energy_per_epoch_j;
    power[i] = o.mean_power_w;
    y_energy[static_cast<Eigen::Index>(i)] = std::log(energy[i] / work[i]);
    y_power[static_cast<Eigen::Index>(i)] = std::log(power[i]);
  }
  const Eigen::MatrixXd x = feature_matrix(rows);
  auto tuned_energy = tune_kernel_ridge(x, y_energy, folds, grid);
  if (!tuned_energy.ok()) return tuned_energy.status();
  auto tuned_power = tune_kernel_ridge(x, y_power, folds, grid);
  if (!tuned_power.ok()) return tuned_power.status();
  PreCrossValidation cv;
  std::vector<double> predicted_power(n);
  for (size_t i = 0; i < n; ++i) {
    cv.predicted_energy_per_epoch_j.push_back(work[i] *
                                              std::exp(tuned_energy->cv_predictions[static_cast<Eigen::Index>(i)]));
    predicted_power[i] = std::exp(tuned_power->cv_predictions[static_cast<Eigen::Index>(i)]);
  }
  cv.energy_per_epoch = prediction_errors(energy, cv.predicted_energy_per_epoch_j);
  cv.mean_power = prediction_errors(power, predicted_power);
  return cv;
}

// ---- Storage ----

Status save_pre_model(Store& store, const PreModel& model) {
  auto experiment_id = store.get_or_create_experiment(kEstimatorExperiment);
  if (!experiment_id.ok()) return experiment_id.status();
  auto run = store.create_run(*experiment_id, "pre", model.fitted_at_ms);
  if (!run.ok()) return run.status();
  auto fail = [&](Status s) {
    store.update_run(run->run_id, RunStatus::kFailed, model.fitted_at_ms);
    return s;
  };
  auto dir = local_artifact_dir(*run);
  if (!dir.ok()) return fail(dir.status());
  std::error_code ec;
  std::filesystem::create_directories(*dir, ec);
  const std::string path = (std::filesystem::path(*dir) / kModelArtifact).string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << to_json(model).dump() << "\n";
    out.flush();
    if (!out) return fail(Status::io_error("cannot write PRE's model to " + path));
  }
  std::string features;
  for (const auto& f : model.feature_names) features += (features.empty() ? "" : ",") + f;
  const std::vector<Param> params = {
      {"features", features},
      {"targets", "log(energy per epoch / work), log(mean power)"},
      {"configurations", std::to_string(model.configurations.size())},
      {"runs", std::to_string(model.run_count())},
      {"energy_alpha", format("%g", model.energy_model.params().alpha)},
      {"energy_gamma", format("%g", model.energy_model.params().gamma)},
      {"power_alpha", format("%g", model.power_model.params().alpha)},
      {"power_gamma", format("%g", model.power_model.params().gamma)},
      {"folds", std::to_string(model.folds)},
      {"seed", std::to_string(model.seed)},
  };
  std::vector<Metric> metrics;
  for (const auto& [name, q] : {std::pair{"energy_per_epoch", &model.energy}, std::pair{"mean_power", &model.power},
                                std::pair{"duration_per_epoch", &model.time}}) {
    metrics.push_back({std::string("cv_mape_") + name, q->cv.mape, model.fitted_at_ms, 0});
    metrics.push_back({std::string("cv_rmse_") + name, q->cv.rmse, model.fitted_at_ms, 0});
    if (std::isfinite(q->cv.r2)) metrics.push_back({std::string("cv_r2_") + name, q->cv.r2, model.fitted_at_ms, 0});
  }
  const std::vector<RunTag> tags = {{"wattlab.estimator", "pre"}, {"mlflow.runName", "pre"}};
  if (Status s = store.log_batch(run->run_id, metrics, params, tags); !s.ok()) return fail(s);
  return store.update_run(run->run_id, RunStatus::kFinished, model.fitted_at_ms);
}

Result<std::optional<PreModel>> load_pre_model(Store& store) {
  auto experiment = store.get_experiment_by_name(kEstimatorExperiment);
  if (!experiment.ok()) {
    if (experiment.status().code() == Status::Code::kNotFound) return std::optional<PreModel>();
    return experiment.status();
  }
  SearchRunsOptions search;
  search.experiment_ids = std::vector<std::string>{experiment->experiment_id};
  search.filter = "attributes.status = 'FINISHED' AND tags.`wattlab.estimator` = 'pre'";
  search.order_by = {"attributes.start_time DESC"};
  search.max_results = 1;
  auto page = store.search_runs(search);
  if (!page.ok()) return page.status();
  if (page->runs.empty()) return std::optional<PreModel>();
  const RunInfo& info = page->runs.front().info;
  auto dir = local_artifact_dir(info);
  if (!dir.ok()) return dir.status();
  const std::string path = (std::filesystem::path(*dir) / kModelArtifact).string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("PRE's stored model " + path + " is missing — delete run " + info.run_id +
                                    " (wattlab runs) or let the next estimate refit");
  try {
    auto model = model_from_json(nlohmann::json::parse(in));
    if (!model.ok()) return Status::corrupt("PRE's stored model " + path + ": " + model.status().message());
    return std::optional<PreModel>(std::move(*model));
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt("PRE's stored model " + path + " is not valid: " + e.what());
  }
}

Result<bool> pre_model_is_stale(Store& store, const PreModel& model) {
  auto experiment_ids = training_experiment_ids(store);
  if (!experiment_ids.ok()) return experiment_ids.status();
  SearchRunsOptions search;
  search.experiment_ids = *experiment_ids;
  search.filter = "attributes.status = 'FINISHED' AND attributes.end_time > " + std::to_string(model.latest_run_end_ms);
  search.max_results = 1;
  auto page = store.search_runs(search);
  if (!page.ok()) return page.status();
  return !page->runs.empty();
}

Result<std::optional<PreModel>> load_or_fit_pre(Store& store, const ModelCostLookup& cost, const PreFitOptions& options,
                                                Clock& clock, std::string* note,
                                                std::vector<PreObservation>* observations) {
  auto stored = load_pre_model(store);
  std::map<std::string, PreModelCost> costs;
  std::string refit_because;
  if (!stored.ok()) refit_because = " (the stored one was unreadable: " + stored.status().message() + ")";
  if (stored.ok() && stored->has_value()) {
    auto stale = pre_model_is_stale(store, **stored);
    if (!stale.ok()) return stale.status();
    if (!*stale) {
      *note = "stored PRE model (" + std::to_string((*stored)->run_count()) + " runs)";
      return stored;
    }
    costs = (*stored)->model_costs;
  }
  auto collection = collect_pre_observations(store, cost, &costs);
  if (!collection.ok()) return collection.status();
  auto model = fit_pre(collection->observations, options);
  if (observations != nullptr) *observations = collection->observations;
  if (!model.ok()) {
    *note = model.status().message();
    return std::optional<PreModel>();
  }
  model->fitted_at_ms = clock.wall_ms();
  model->latest_run_end_ms = std::max(model->latest_run_end_ms, collection->latest_end_time_ms);
  *note = "PRE fitted on " + std::to_string(model->run_count()) + " runs" + refit_because;
  if (Status saved = save_pre_model(store, *model); !saved.ok()) *note += " (not stored: " + saved.message() + ")";
  return std::optional<PreModel>(std::move(*model));
}

}  // namespace wattlab
