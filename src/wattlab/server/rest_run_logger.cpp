#include "wattlab/server/rest_run_logger.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "wattlab/server/http_client.h"
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
constexpr int kConnectTries = 3;

HttpHeaders auth_headers(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

Status status_of_error(const json& body, int http_status, const std::string& what) {
  std::string code = body.is_object() ? body.value("error_code", "") : "";
  std::string message = body.is_object() ? body.value("message", "") : "";
  if (message.empty()) message = what + ": HTTP " + std::to_string(http_status);
  if (code == "INVALID_PARAMETER_VALUE" || code == "BAD_REQUEST") return Status::invalid_argument(message);
  if (code == "RESOURCE_DOES_NOT_EXIST") return Status::not_found(message);
  if (code == "RESOURCE_ALREADY_EXISTS") return Status::already_exists(message);
  if (code == "UNAUTHENTICATED" || code == "PERMISSION_DENIED") {
    return Status::permission_denied(message + " (set WATTLAB_TOKEN to the server's token)");
  }
  if (http_status == 503) return Status::unavailable(message);
  return Status::internal(message);
}

json key_value_list(const auto& items) {
  json out = json::array();
  for (const auto& item : items) out.push_back({{"key", item.key}, {"value", item.value}});
  return out;
}

}  // namespace

bool is_http_tracking_uri(const std::string& uri) { return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0; }

Result<std::unique_ptr<RestRunLogger>> RestRunLogger::connect(const std::string& uri, const std::string& token) {
  if (uri.rfind("https://", 0) == 0) {
    return Status::invalid_argument("tracking URI " + uri +
                                    ": https is not supported yet; use http:// (wattlab server binds 127.0.0.1, or "
                                    "put it behind a TLS proxy)");
  }
  if (uri.rfind("http://", 0) != 0 || uri.size() <= 7) {
    return Status::invalid_argument("tracking URI \"" + uri + "\" is not an http://host:port address");
  }
  std::string base = uri;
  while (base.size() > 7 && base.back() == '/') base.pop_back();
  if (base.find('/', 7) != std::string::npos) {
    return Status::invalid_argument("tracking URI " + uri + ": give the server's address only (http://host:port), "
                                    "without a path");
  }
  const std::string authority = base.substr(7);
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) > 65535) {
      return Status::invalid_argument("tracking URI " + uri + " has a bad port — give http://host:port");
    }
  }
  return std::unique_ptr<RestRunLogger>(new RestRunLogger(base, token));
}

RestRunLogger::RestRunLogger(std::string uri, std::string token) : uri_(std::move(uri)), token_(std::move(token)) {
  // uri_ is http://host[:port] (connect() checked it); [v6] brackets dropped.
  std::string host = uri_.substr(7);
  int port = 80;
  const size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = std::stoi(host.substr(colon + 1));
    host.resize(colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  HttpClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.io_timeout = std::chrono::seconds(120);
  options.connect_tries = kConnectTries;
  options.retry_delay = std::chrono::milliseconds(200);
  client_ = std::make_unique<HttpClient>(host, port, options);
}

RestRunLogger::~RestRunLogger() = default;

Result<json> RestRunLogger::exchange(const std::string& method, const std::string& path, const std::string& target,
                                     const std::string& body) {
  std::lock_guard lock(mu_);
  auto res = client_->request(method, target, body, body.empty() ? "" : "application/json", auth_headers(token_));
  if (!res.ok()) {
    return Status::unavailable("cannot reach the tracking server at " + uri_ + " (" + res.status().message() +
                               ") — is `wattlab server` running there?");
  }
  json reply = json::parse(res->body, nullptr, false);
  if (res->status != 200) return status_of_error(reply, res->status, path);
  if (reply.is_discarded()) return Status::internal(path + ": the answer of " + uri_ + " is not JSON");
  return reply;
}

Result<json> RestRunLogger::post(const std::string& path, const json& body) {
  return exchange("POST", path, "/api/2.0/" + path, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Result<json> RestRunLogger::get(const std::string& path, const std::string& query) {
  return exchange("GET", path, "/api/2.0/" + path + "?" + query, "");
}

Status RestRunLogger::check_reachable() {
  std::lock_guard lock(mu_);
  auto res = client_->get("/health", auth_headers(token_));
  if (res.ok() && res->status == 200) return Status();
  if (res.ok() && res->status == 401) {
    return Status::permission_denied("the tracking server at " + uri_ + " wants a token: set WATTLAB_TOKEN");
  }
  return Status::unavailable("cannot reach the tracking server at " + uri_ + " (" +
                             (res.ok() ? "HTTP " + std::to_string(res->status) : res.status().message()) +
                             ") — is `wattlab server` running there?");
}

Result<std::string> RestRunLogger::get_or_create_experiment(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("experiment name is empty");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto found = get("mlflow/experiments/get-by-name", "experiment_name=" + percent_encode(name));
    if (found.ok()) {
      const json& e = (*found)["experiment"];
      if (e.value("lifecycle_stage", "active") != "active") {
        return Status::invalid_argument("experiment \"" + name + "\" is deleted on " + uri_ +
                                        ": restore it or use another name");
      }
      return e.value("experiment_id", "");
    }
    if (found.status().code() != Status::Code::kNotFound) return found.status();
    auto created = post("mlflow/experiments/create", {{"name", name}});
    if (created.ok()) return created->value("experiment_id", "");
    // Another process created it between the two calls: look it up again.
    if (created.status().code() != Status::Code::kAlreadyExists) return created.status();
  }
  return Status::internal("experiment \"" + name + "\" neither found nor created on " + uri_);
}

Result<RunInfo> RestRunLogger::create_run(const std::string& experiment_id, const std::string& run_name,
                                          int64_t start_time_ms) {
  json body = {{"experiment_id", experiment_id}, {"start_time", start_time_ms}};
  if (!run_name.empty()) body["run_name"] = run_name;
  auto reply = post("mlflow/runs/create", body);
  if (!reply.ok()) return reply.status();
  const json& info = (*reply)["run"]["info"];
  RunInfo out;
  out.run_id = info.value("run_id", "");
  out.experiment_id = info.value("experiment_id", experiment_id);
  out.run_name = info.value("run_name", run_name);
  auto status = parse_run_status(info.value("status", "RUNNING"));
  out.status = status.ok() ? *status : RunStatus::kRunning;
  out.start_time_ms = info.value("start_time", start_time_ms);
  out.lifecycle_stage = info.value("lifecycle_stage", std::string(kLifecycleActive));
  out.artifact_uri = info.value("artifact_uri", "");
  if (out.run_id.empty()) return Status::internal("runs/create on " + uri_ + " answered without a run id");
  return out;
}

Status RestRunLogger::update_run(const std::string& run_id, RunStatus status, std::optional<int64_t> end_time_ms) {
  json body = {{"run_id", run_id}, {"status", run_status_name(status)}};
  if (end_time_ms) body["end_time"] = *end_time_ms;
  return post("mlflow/runs/update", body).status();
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
    WATTLAB_RETURN_IF_ERROR(post("mlflow/runs/log-batch", body).status());
  } while (m < metrics.size() || p < params.size() || t < tags.size());
  return Status();
}

Status RestRunLogger::log_energy_windows(const std::string& run_id, const std::vector<EnergyWindow>& windows) {
  json list = json::array();
  for (const auto& w : windows) list.push_back(energy_window_to_json(w));
  return post("wattlab/runs/log-energy-windows", {{"run_id", run_id}, {"energy_windows", list}}).status();
}

Status RestRunLogger::log_power_samples(const std::string& run_id, const std::vector<std::string>& domain_names,
                                        const std::vector<PowerSample>& samples) {
  for (size_t start = 0; start < samples.size(); start += kMaxSamplesPerRequest) {
    json list = json::array();
    for (size_t k = start; k < std::min(samples.size(), start + kMaxSamplesPerRequest); ++k) {
      list.push_back(power_sample_to_json(samples[k]));
    }
    WATTLAB_RETURN_IF_ERROR(
        post("wattlab/runs/log-power-samples", {{"run_id", run_id}, {"domains", domain_names}, {"samples", list}})
            .status());
  }
  return Status();
}

Status RestRunLogger::set_environment(const std::string& run_id, const std::map<std::string, std::string>& environment) {
  return post("wattlab/runs/set-environment", {{"run_id", run_id}, {"environment", environment}}).status();
}

}  // namespace wattlab
