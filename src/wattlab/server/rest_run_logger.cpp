#include "wattlab/server/rest_run_logger.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "wattlab/server/mlflow_native.h"
#include "wattlab/server/wire.h"
#include "wattlab/track/entities.h"

namespace wattlab {

using json = nlohmann::json;

namespace {

// MLflow's log-batch limits (also enforced by the server).
constexpr size_t kMaxMetricsPerRequest = 1000;
constexpr size_t kMaxParamsPerRequest = 100;
constexpr size_t kMaxTagsPerRequest = 100;
// Power samples per request: well under the server's body limit.
constexpr size_t kMaxSamplesPerRequest = 20000;

json key_value_list(const auto& items) {
  json out = json::array();
  for (const auto& item : items) out.push_back({{"key", item.key}, {"value", item.value}});
  return out;
}

}  // namespace

bool is_http_tracking_uri(const std::string& uri) { return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0; }

Result<std::unique_ptr<RestRunLogger>> RestRunLogger::connect(const std::string& uri, const std::string& token) {
  auto client = RestClient::connect(uri, token);
  if (!client.ok()) return client.status();
  return std::unique_ptr<RestRunLogger>(new RestRunLogger(std::move(*client)));
}

RestRunLogger::~RestRunLogger() = default;

Result<std::string> RestRunLogger::get_or_create_experiment(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("experiment name is empty");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = client_->get("mlflow/experiments/get-by-name", {{"experiment_name", name}});
    if (found.ok()) {
      const json& e = json_member(*found, "experiment");
      if (json_string(e, "lifecycle_stage", kLifecycleActive) != kLifecycleActive) {
        return Status::invalid_argument("experiment \"" + name + "\" is deleted on " + uri() +
                                        ": restore it (wattlab experiments restore) or use another name");
      }
      return json_string(e, "experiment_id");
    }
    if (found.status().code() != Status::Code::kNotFound) return found.status();
    auto created = client_->post("mlflow/experiments/create", {{"name", name}});
    if (created.ok()) return json_string(*created, "experiment_id");
    // Another process created it between the two calls: look it up again.
    if (created.status().code() != Status::Code::kAlreadyExists) return created.status();
  }
  return Status::internal("experiment \"" + name + "\" neither found nor created on " + uri());
}

Result<RunInfo> RestRunLogger::create_run(const std::string& experiment_id, const std::string& run_name,
                                          int64_t start_time_ms) {
  json body = {{"experiment_id", experiment_id}, {"start_time", start_time_ms}};
  if (!run_name.empty()) body["run_name"] = run_name;
  auto reply = client_->post("mlflow/runs/create", body);
  if (!reply.ok()) return reply.status();
  const json& info = json_member(json_member(*reply, "run"), "info");
  RunInfo out;
  out.run_id = json_string(info, "run_id", json_string(info, "run_uuid"));
  out.experiment_id = json_string(info, "experiment_id", experiment_id);
  out.run_name = json_string(info, "run_name", run_name);
  auto status = parse_run_status(json_string(info, "status", "RUNNING"));
  out.status = status.ok() ? *status : RunStatus::kRunning;
  out.start_time_ms = json_int64(info, "start_time", start_time_ms);
  out.lifecycle_stage = json_string(info, "lifecycle_stage", kLifecycleActive);
  out.artifact_uri = json_string(info, "artifact_uri");
  if (out.run_id.empty()) return Status::internal("runs/create on " + uri() + " answered without a run id");
  std::lock_guard lock(native_mu_);
  native_runs_[out.run_id].artifact_uri = out.artifact_uri;
  native_runs_[out.run_id].loaded = true;  // a new run has no artifacts yet
  return out;
}

Status RestRunLogger::update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) {
  json body = {{"run_id", run_id}, {"status", run_status_name(status)}};
  if (end_time_ms) body["end_time"] = *end_time_ms;
  return client_->post("mlflow/runs/update", body).status();
}

Status RestRunLogger::log_batch(const std::string& run_id, const std::vector<Metric>& metrics,
                                const std::vector<Param>& params, const std::vector<RunTag>& tags) {
  size_t m = 0, p = 0, t = 0;
  do {
    json body = {{"run_id", run_id}};
    json metric_list = json::array();
    for (size_t end = std::min(metrics.size(), m + kMaxMetricsPerRequest); m < end; ++m) {
      const Metric& x = metrics[m];
      metric_list.push_back(
          {{"key", x.key}, {"value", metric_value_to_json(x.value)}, {"timestamp", x.timestamp_ms}, {"step", x.step}});
    }
    const size_t p_end = std::min(params.size(), p + kMaxParamsPerRequest);
    const size_t t_end = std::min(tags.size(), t + kMaxTagsPerRequest);
    if (!metric_list.empty()) body["metrics"] = std::move(metric_list);
    if (p_end > p) body["params"] = key_value_list(std::vector<Param>(params.begin() + p, params.begin() + p_end));
    if (t_end > t) body["tags"] = key_value_list(std::vector<RunTag>(tags.begin() + t, tags.begin() + t_end));
    p = p_end;
    t = t_end;
    WATTLAB_RETURN_IF_ERROR(client_->post("mlflow/runs/log-batch", body).status());
  } while (m < metrics.size() || p < params.size() || t < tags.size());
  return Status();
}

Result<bool> RestRunLogger::native() {
  auto kind = client_->server_kind();
  if (!kind.ok()) return kind.status();
  return *kind == ServerKind::kMlflow;
}

Result<RestRunLogger::NativeRun*> RestRunLogger::native_run_locked(const std::string& run_id) {
  NativeRun& run = native_runs_[run_id];
  if (run.loaded) return &run;
  // A run this process did not create (a resumed one): its artifact
  // location, the power steps and the JSON artifacts an earlier session wrote.
  auto got = client_->get("mlflow/runs/get", {{"run_id", run_id}});
  if (!got.ok()) return got.status();
  const json& remote = json_member(*got, "run");
  if (run.artifact_uri.empty()) run.artifact_uri = json_string(json_member(remote, "info"), "artifact_uri");
  const json& data = json_member(remote, "data");
  for (const json& m : json_member(data, "metrics")) {
    if (json_string(m, "key").rfind("system/", 0) == 0) {
      run.next_power_step = std::max(run.next_power_step, json_int64(m, "step") + 1);
    }
  }
  for (const json& t : json_member(data, "tags")) run.power_domains_tagged |= json_string(t, "key") == kPowerDomainsTag;
  auto read = [&](const char* artifact) -> std::string {
    if (!artifact_proxy_path(run.artifact_uri)) return "";
    auto text = client_->download_bytes(run.artifact_uri, artifact);
    return text.ok() ? *text : "";
  };
  if (auto windows = parse_energy_windows_json(read(kEnergyWindowsArtifact)); windows.ok()) run.windows = *windows;
  json environment = json::parse(read(kEnvironmentArtifact), nullptr, false);
  if (environment.is_object()) {
    for (const auto& [k, v] : environment.items())
      if (v.is_string()) run.environment[k] = v.get<std::string>();
  }
  run.loaded = true;
  return &run;
}

Status RestRunLogger::upload_json_locked(NativeRun& run, const std::string& path, const std::string& text) {
  // No artifact proxy (a local artifact root, --no-serve-artifacts): the
  // tags and metrics carry the facts alone.
  if (!artifact_proxy_path(run.artifact_uri)) return Status();
  return client_->upload_bytes(run.artifact_uri, path, text);
}

Status RestRunLogger::log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) {
  auto is_native = native();
  if (!is_native.ok()) return is_native.status();
  if (!*is_native) {
    json list = json::array();
    for (const auto& w : windows) list.push_back(energy_window_to_json(w));
    return client_->post("wattlab/runs/log-energy-windows", {{"run_id", run_id}, {"energy_windows", list}}).status();
  }
  std::vector<Metric> metrics;
  for (const auto& w : windows) {
    auto m = energy_window_metrics(w);
    metrics.insert(metrics.end(), m.begin(), m.end());
  }
  WATTLAB_RETURN_IF_ERROR(log_batch(run_id, metrics, {}, {}));
  std::lock_guard lock(native_mu_);
  auto run = native_run_locked(run_id);
  if (!run.ok()) return run.status();
  (*run)->windows.insert((*run)->windows.end(), windows.begin(), windows.end());
  return upload_json_locked(**run, kEnergyWindowsArtifact, energy_windows_json((*run)->windows));
}

Status RestRunLogger::log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                                        const std::vector<PowerSample>& samples) {
  for (const auto& s : samples) {
    if (s.power_w.size() != domain_names.size()) {
      return Status::invalid_argument("a power sample has " + std::to_string(s.power_w.size()) + " values for " +
                                      std::to_string(domain_names.size()) + " domains");
    }
  }
  auto is_native = native();
  if (!is_native.ok()) return is_native.status();
  if (*is_native) {
    int64_t first_step = 0;
    std::vector<RunTag> tags;
    {
      std::lock_guard lock(native_mu_);
      auto run = native_run_locked(run_id);
      if (!run.ok()) return run.status();
      first_step = (*run)->next_power_step;
      (*run)->next_power_step += static_cast<int64_t>(samples.size());
      if (!(*run)->power_domains_tagged) tags.push_back({kPowerDomainsTag, power_domains_tag(domain_names)});
      (*run)->power_domains_tagged = true;
    }
    return log_batch(run_id, power_sample_metrics(domain_names, samples, first_step), {}, tags);
  }
  for (size_t start = 0; start < samples.size(); start += kMaxSamplesPerRequest) {
    json list = json::array();
    for (size_t k = start; k < std::min(samples.size(), start + kMaxSamplesPerRequest); ++k) {
      list.push_back(power_sample_to_json(samples[k]));
    }
    WATTLAB_RETURN_IF_ERROR(
        client_->post("wattlab/runs/log-power-samples", {{"run_id", run_id}, {"domains", domain_names}, {"samples", list}})
            .status());
  }
  return Status();
}

Status RestRunLogger::set_environment(const std::string& run_id, const std::map<std::string, std::string>& environment) {
  auto is_native = native();
  if (!is_native.ok()) return is_native.status();
  if (!*is_native) {
    return client_->post("wattlab/runs/set-environment", {{"run_id", run_id}, {"environment", environment}}).status();
  }
  WATTLAB_RETURN_IF_ERROR(log_batch(run_id, {}, {}, environment_tags(environment)));
  std::lock_guard lock(native_mu_);
  auto run = native_run_locked(run_id);
  if (!run.ok()) return run.status();
  for (const auto& [k, v] : environment) (*run)->environment[k] = v;
  return upload_json_locked(**run, kEnvironmentArtifact, json((*run)->environment).dump(2));
}

}  // namespace wattlab
