#include "wattlab/server/rest_run_catalog.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "wattlab/server/mlflow_native.h"
#include "wattlab/server/wire.h"

namespace wattlab {

using json = nlohmann::json;

namespace {

const char* view_type_name(ViewType v) {
  switch (v) {
    case ViewType::kActiveOnly: return "ACTIVE_ONLY";
    case ViewType::kDeletedOnly: return "DELETED_ONLY";
    case ViewType::kAll: return "ALL";
  }
  return "ACTIVE_ONLY";
}

// A metric value as MLflow writes it: a number or "NaN" / "Infinity" / "-Infinity".
double metric_value(const json& m) {
  const json& v = json_member(m, "value");
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (s != "NaN") return std::strtod(s.c_str(), nullptr);
  }
  return std::nan("");
}

Metric metric_from_json(const json& m) {
  return {json_string(m, "key"), metric_value(m), json_int64(m, "timestamp"), json_int64(m, "step")};
}

std::map<std::string, std::string> key_values(const json& list) {
  std::map<std::string, std::string> out;
  if (!list.is_array()) return out;
  for (const json& item : list) out[json_string(item, "key")] = json_string(item, "value");
  return out;
}

RunData run_from_json(const json& run) {
  const json& info = json_member(run, "info");
  const json& data = json_member(run, "data");
  RunData out;
  out.info.run_id = json_string(info, "run_id", json_string(info, "run_uuid"));
  out.info.experiment_id = json_string(info, "experiment_id");
  out.info.run_name = json_string(info, "run_name");
  auto status = parse_run_status(json_string(info, "status", "RUNNING"));
  out.info.status = status.ok() ? *status : RunStatus::kRunning;
  out.info.start_time_ms = json_int64(info, "start_time");
  if (json_member(info, "end_time").is_number() || json_member(info, "end_time").is_string()) {
    out.info.end_time_ms = json_int64(info, "end_time");
  }
  out.info.lifecycle_stage = json_string(info, "lifecycle_stage", kLifecycleActive);
  out.info.artifact_uri = json_string(info, "artifact_uri");
  out.params = key_values(json_member(data, "params"));
  out.tags = key_values(json_member(data, "tags"));
  const json& metrics = json_member(data, "metrics");
  if (metrics.is_array()) {
    for (const json& m : metrics) {
      Metric metric = metric_from_json(m);
      out.latest_metrics[metric.key] = metric;
    }
  }
  // MLflow keeps the run name in a tag as well.
  if (out.info.run_name.empty() && out.tags.count("mlflow.runName")) out.info.run_name = out.tags["mlflow.runName"];
  return out;
}

Experiment experiment_from_json(const json& e) {
  Experiment out;
  out.experiment_id = json_string(e, "experiment_id");
  out.name = json_string(e, "name");
  out.artifact_location = json_string(e, "artifact_location");
  out.lifecycle_stage = json_string(e, "lifecycle_stage", kLifecycleActive);
  out.creation_time_ms = json_int64(e, "creation_time");
  out.last_update_time_ms = json_int64(e, "last_update_time");
  out.tags = key_values(json_member(e, "tags"));
  return out;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<std::unique_ptr<RestRunCatalog>> RestRunCatalog::connect(const std::string& uri, const std::string& token) {
  auto client = RestClient::connect(uri, token);
  if (!client.ok()) return client.status();
  return std::unique_ptr<RestRunCatalog>(new RestRunCatalog(std::move(*client)));
}

Result<RunsPage> RestRunCatalog::search_runs(const SearchRunsOptions& options) {
  std::vector<std::string> experiment_ids;
  if (options.experiment_ids) {
    experiment_ids = *options.experiment_ids;
  } else {
    SearchExperimentsOptions all;
    all.view_type = ViewType::kAll;
    do {
      auto page = search_experiments(all);
      if (!page.ok()) return page.status();
      for (const auto& e : page->experiments) experiment_ids.push_back(e.experiment_id);
      all.page_token = page->next_page_token;
    } while (!all.page_token.empty());
  }
  RunsPage out;
  if (experiment_ids.empty()) return out;
  json body = {{"experiment_ids", experiment_ids},
               {"max_results", options.max_results},
               {"run_view_type", view_type_name(options.view_type)}};
  if (!options.filter.empty()) body["filter"] = options.filter;
  if (!options.order_by.empty()) body["order_by"] = options.order_by;
  if (!options.page_token.empty()) body["page_token"] = options.page_token;
  auto reply = client_->post("mlflow/runs/search", body);
  if (!reply.ok()) return reply.status();
  const json& runs = json_member(*reply, "runs");
  if (runs.is_array()) {
    for (const json& r : runs) out.runs.push_back(run_from_json(r));
  }
  out.next_page_token = json_string(*reply, "next_page_token");
  return out;
}

Result<std::string> RestRunCatalog::resolve_prefix(const std::string& prefix) {
  if (prefix.size() < 6 || !is_hex(prefix)) {
    return Status::invalid_argument("run id \"" + prefix + "\" must be a full id or at least 6 hex digits of one");
  }
  std::string lower = prefix;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto kind = client_->server_kind();
  if (!kind.ok()) return kind.status();
  SearchRunsOptions search;
  search.view_type = ViewType::kAll;
  search.max_results = 1000;
  // wattlab's search matches run ids with LIKE; MLflow's does not, so every run is looked at.
  if (*kind == ServerKind::kWattlab) search.filter = "attributes.run_id LIKE '" + lower + "%'";
  std::vector<std::string> matches;
  do {
    auto page = search_runs(search);
    if (!page.ok()) return page.status();
    for (const auto& r : page->runs)
      if (r.info.run_id.rfind(lower, 0) == 0) matches.push_back(r.info.run_id);
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty() && matches.size() < 2);
  if (matches.empty()) return Status::not_found("no run with id " + prefix + " on " + location());
  if (matches.size() > 1) {
    return Status::invalid_argument("run id prefix " + prefix + " is ambiguous on " + location() +
                                    ": give more digits");
  }
  return matches.front();
}

Result<RunData> RestRunCatalog::get_run(const std::string& run_id_or_prefix) {
  std::string run_id = run_id_or_prefix;
  if (run_id.size() != 32 || !is_hex(run_id)) {
    auto resolved = resolve_prefix(run_id_or_prefix);
    if (!resolved.ok()) return resolved.status();
    run_id = *resolved;
  }
  auto reply = client_->get("mlflow/runs/get", {{"run_id", run_id}});
  if (!reply.ok()) {
    if (reply.status().code() == Status::Code::kNotFound) {
      return Status::not_found("no run with id " + run_id + " on " + location());
    }
    return reply.status();
  }
  RunData run = run_from_json(json_member(*reply, "run"));
  auto kind = client_->server_kind();
  if (!kind.ok()) return kind.status();
  if (*kind == ServerKind::kWattlab) {
    auto windows = client_->get("wattlab/runs/energy-windows", {{"run_id", run_id}});
    if (!windows.ok()) return windows.status();
    for (const json& w : json_member(*windows, "energy_windows")) {
      auto window = energy_window_from_json(w);
      if (!window.ok()) return window.status();
      run.energy_windows.push_back(std::move(*window));
    }
    auto environment = client_->get("wattlab/runs/environment", {{"run_id", run_id}});
    if (!environment.ok()) return environment.status();
    for (const auto& [k, v] : json_member(*environment, "environment").items())
      if (v.is_string()) run.environment[k] = v.get<std::string>();
    return run;
  }
  // A plain MLflow server: what RestRunLogger wrote through MLflow's API.
  run.environment = environment_from_tags(run.tags);
  if (artifact_proxy_path(run.info.artifact_uri)) {
    if (auto text = client_->download_bytes(run.info.artifact_uri, kEnvironmentArtifact); text.ok()) {
      json environment = json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (environment.is_object()) {
        for (const auto& [k, v] : environment.items())
          if (v.is_string()) run.environment[k] = v.get<std::string>();
      }
    }
    if (auto text = client_->download_bytes(run.info.artifact_uri, kEnergyWindowsArtifact); text.ok()) {
      auto windows = parse_energy_windows_json(*text);
      if (!windows.ok()) return windows.status();
      run.energy_windows = std::move(*windows);
    }
  }
  return run;
}

Result<std::vector<Metric>> RestRunCatalog::get_metric_history(const std::string& run_id, const std::string& key) {
  std::vector<Metric> out;
  std::string token;
  do {
    std::map<std::string, std::string> query = {{"run_id", run_id}, {"metric_key", key},
                                                {"max_results", std::to_string(kMetricHistoryPageDefault)}};
    if (!token.empty()) query["page_token"] = token;
    auto reply = client_->get("mlflow/metrics/get-history", query);
    if (!reply.ok()) return reply.status();
    const json& metrics = json_member(*reply, "metrics");
    if (metrics.is_array()) {
      for (const json& m : metrics) out.push_back(metric_from_json(m));
    }
    token = json_string(*reply, "next_page_token");
  } while (!token.empty());
  // MLflow returns the history in logging order; wattlab's order is by step.
  std::stable_sort(out.begin(), out.end(), [](const Metric& a, const Metric& b) {
    return a.step != b.step ? a.step < b.step : a.timestamp_ms < b.timestamp_ms;
  });
  return out;
}

Result<PowerTimeline> RestRunCatalog::get_power_samples(const std::string& run_id) {
  auto kind = client_->server_kind();
  if (!kind.ok()) return kind.status();
  if (*kind == ServerKind::kWattlab) {
    auto reply = client_->get("wattlab/runs/power", {{"run_id", run_id}, {"max_points", "100000"}});
    if (!reply.ok()) return reply.status();
    PowerTimeline out;
    for (const json& d : json_member(*reply, "domains"))
      if (d.is_string()) out.domains.push_back(d.get<std::string>());
    for (const json& s : json_member(*reply, "samples")) {
      auto sample = power_sample_from_json(s);
      if (!sample.ok()) return sample.status();
      out.samples.push_back(std::move(*sample));
    }
    return out;
  }
  auto run = get_run(run_id);
  if (!run.ok()) return run.status();
  auto tag = run->tags.find(kPowerDomainsTag);
  if (tag == run->tags.end()) return PowerTimeline{};
  std::map<std::string, std::vector<Metric>> histories;
  json map = json::parse(tag->second, nullptr, /*allow_exceptions=*/false);
  if (map.is_object()) {
    for (const auto& [metric, domain] : map.items()) {
      auto history = get_metric_history(run->info.run_id, metric);
      if (!history.ok()) return history.status();
      histories[metric] = std::move(*history);
    }
  }
  return power_timeline_from_metrics(tag->second, histories);
}

Status RestRunCatalog::delete_run(const std::string& run_id) {
  return client_->post("mlflow/runs/delete", {{"run_id", run_id}}).status();
}

Status RestRunCatalog::restore_run(const std::string& run_id) {
  return client_->post("mlflow/runs/restore", {{"run_id", run_id}}).status();
}

Result<ExperimentsPage> RestRunCatalog::search_experiments(const SearchExperimentsOptions& options) {
  json body = {{"max_results", options.max_results}, {"view_type", view_type_name(options.view_type)}};
  if (!options.filter.empty()) body["filter"] = options.filter;
  if (!options.order_by.empty()) body["order_by"] = options.order_by;
  if (!options.page_token.empty()) body["page_token"] = options.page_token;
  auto reply = client_->post("mlflow/experiments/search", body);
  if (!reply.ok()) return reply.status();
  ExperimentsPage out;
  const json& experiments = json_member(*reply, "experiments");
  if (experiments.is_array()) {
    for (const json& e : experiments) out.experiments.push_back(experiment_from_json(e));
  }
  out.next_page_token = json_string(*reply, "next_page_token");
  return out;
}

Result<Experiment> RestRunCatalog::get_experiment(const std::string& experiment_id) {
  auto reply = client_->get("mlflow/experiments/get", {{"experiment_id", experiment_id}});
  if (!reply.ok()) return reply.status();
  return experiment_from_json(json_member(*reply, "experiment"));
}

Result<Experiment> RestRunCatalog::get_experiment_by_name(const std::string& name) {
  auto reply = client_->get("mlflow/experiments/get-by-name", {{"experiment_name", name}});
  if (!reply.ok()) return reply.status();
  return experiment_from_json(json_member(*reply, "experiment"));
}

Result<std::string> RestRunCatalog::create_experiment(const std::string& name,
                                                      const std::map<std::string, std::string>& tags) {
  json body = {{"name", name}};
  if (!tags.empty()) {
    body["tags"] = json::array();
    for (const auto& [k, v] : tags) body["tags"].push_back({{"key", k}, {"value", v}});
  }
  auto reply = client_->post("mlflow/experiments/create", body);
  if (!reply.ok()) return reply.status();
  return json_string(*reply, "experiment_id");
}

Status RestRunCatalog::rename_experiment(const std::string& experiment_id, const std::string& new_name) {
  return client_->post("mlflow/experiments/update", {{"experiment_id", experiment_id}, {"new_name", new_name}}).status();
}

Status RestRunCatalog::delete_experiment(const std::string& experiment_id) {
  return client_->post("mlflow/experiments/delete", {{"experiment_id", experiment_id}}).status();
}

Status RestRunCatalog::restore_experiment(const std::string& experiment_id) {
  return client_->post("mlflow/experiments/restore", {{"experiment_id", experiment_id}}).status();
}

}  // namespace wattlab
