#include "wattlab/server/mlflow_api.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>

#include "wattlab/core/env.h"
#include "wattlab/core/ids.h"
#include "wattlab/server/artifact_root.h"
#include "wattlab/server/server_metrics.h"
#include "wattlab/server/wire.h"

namespace wattlab {

using nlohmann::json;

namespace {

// A request field of the wrong type or a missing required field. Thrown
// inside this file only; handle() turns it into INVALID_PARAMETER_VALUE.
struct BadParameter {
  std::string message;
};

[[noreturn]] void missing(const std::string& name) {
  throw BadParameter{"Missing value for required parameter '" + name + "'."};
}

// At most 100 characters of a request value, for messages. Never recurses
// into arrays and objects (a client's nesting has no bound here).
std::string shown_value(const json& value) {
  if (value.is_array()) return "[...] (an array of " + std::to_string(value.size()) + ")";
  if (value.is_object()) return "{...} (an object of " + std::to_string(value.size()) + " members)";
  std::string shown = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return shown.size() > 100 ? shown.substr(0, 100) + "..." : shown;
}

[[noreturn]] void wrong_type(const std::string& name, const json& value, const char* expected) {
  throw BadParameter{"Invalid value " + shown_value(value) + " for parameter '" + name + "' supplied: expected " +
                     expected + "."};
}

// False when `body` nests arrays and objects deeper than `max_depth`. A
// linear scan (strings skipped), so no later step recurses on a hostile body.
bool nesting_within(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

const json* field(const json& request, const std::string& name) {
  auto it = request.find(name);
  if (it == request.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> optional_string(const json& request, const std::string& name) {
  const json* v = field(request, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(name, *v, "a string");
  return v->get<std::string>();
}

std::string required_string(const json& request, const std::string& name) {
  auto v = optional_string(request, name);
  if (!v || v->empty()) missing(name);
  return *v;
}

// run_id, or its old name run_uuid.
std::string run_id_of(const json& request) {
  auto id = optional_string(request, "run_id");
  if (!id || id->empty()) id = optional_string(request, "run_uuid");
  if (!id || id->empty()) missing("run_id");
  return *id;
}

// An int64: a JSON integer, or a string of one (proto3 JSON and query strings).
std::optional<int64_t> optional_int64(const json& request, const std::string& name) {
  const json* v = field(request, name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    wrong_type(name, *v, "an integer within int64");
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return static_cast<int64_t>(n);
  }
  wrong_type(name, *v, "an integer");
}

int64_t required_int64(const json& request, const std::string& name) {
  auto v = optional_int64(request, name);
  if (!v) missing(name);
  return *v;
}

// A double: a JSON number, or a string of one, or "NaN" / "Infinity" / "-Infinity".
double required_double(const json& request, const std::string& name) {
  const json* v = field(request, name);
  if (!v) missing(name);
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
  }
  wrong_type(name, *v, "a number");
}

int max_results_of(const json& request, int default_value, int limit) {
  auto v = optional_int64(request, "max_results");
  if (!v) return default_value;
  if (*v < 1 || *v > limit) {
    throw BadParameter{"Invalid value " + std::to_string(*v) + " for parameter 'max_results': it must be 1.." +
                       std::to_string(limit) + "."};
  }
  return static_cast<int>(*v);
}

// A repeated string field; a lone string (one query parameter) counts as a list of one.
std::vector<std::string> string_list(const json& request, const std::string& name) {
  const json* v = field(request, name);
  std::vector<std::string> out;
  if (!v) return out;
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) wrong_type(name, *v, "a list of strings");
  for (const auto& item : *v) {
    if (!item.is_string()) wrong_type(name, item, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A repeated message field: a JSON array of objects.
const json& object_list(const json& request, const std::string& name) {
  static const json kEmpty = json::array();
  const json* v = field(request, name);
  if (!v) return kEmpty;
  if (!v->is_array()) wrong_type(name, *v, "a list of objects");
  for (const auto& item : *v)
    if (!item.is_object()) wrong_type(name, item, "a list of objects");
  return *v;
}

// {key, value} pairs (tags, params). `value` may be absent (empty).
std::vector<std::pair<std::string, std::string>> key_values(const json& request, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : object_list(request, name)) {
    out.emplace_back(required_string(item, "key"), optional_string(item, "value").value_or(""));
  }
  return out;
}

json metric_json(const Metric& m) {
  return {{"key", m.key}, {"value", metric_value_to_json(m.value)}, {"timestamp", m.timestamp_ms}, {"step", m.step}};
}

json key_value_list(const std::map<std::string, std::string>& map) {
  json out = json::array();
  for (const auto& [k, v] : map) out.push_back({{"key", k}, {"value", v}});
  return out;
}

// MLflow's proxied artifact URIs for locations the store made by default
// under `default_root` (see MlflowApi); other locations unchanged.
std::string experiment_location(const Experiment& e, const std::string& default_root) {
  if (!default_root.empty() && e.artifact_location == default_root + "/" + e.experiment_id) {
    return "mlflow-artifacts:/" + e.experiment_id;
  }
  return e.artifact_location;
}

std::string run_artifact_uri(const RunInfo& info, const std::string& default_root) {
  const std::string relative = info.experiment_id + "/" + info.run_id + "/artifacts";
  if (!default_root.empty() && info.artifact_uri == default_root + "/" + relative) return "mlflow-artifacts:/" + relative;
  return info.artifact_uri;
}

json experiment_json(const Experiment& e, const std::string& default_root) {
  json out = {{"experiment_id", e.experiment_id},       {"name", e.name},
              {"artifact_location", experiment_location(e, default_root)}, {"lifecycle_stage", e.lifecycle_stage},
              {"last_update_time", e.last_update_time_ms}, {"creation_time", e.creation_time_ms}};
  if (!e.tags.empty()) out["tags"] = key_value_list(e.tags);
  return out;
}

json run_info_json(const RunInfo& info, const std::string& default_root,
                   const std::map<std::string, std::string>* tags = nullptr) {
  json out = {{"run_id", info.run_id},
              {"run_uuid", info.run_id},
              {"experiment_id", info.experiment_id},
              {"run_name", info.run_name},
              {"status", run_status_name(info.status)},
              {"start_time", info.start_time_ms},
              {"artifact_uri", run_artifact_uri(info, default_root)},
              {"lifecycle_stage", info.lifecycle_stage}};
  std::string user;
  if (tags) {
    auto it = tags->find("mlflow.user");
    if (it != tags->end()) user = it->second;
  }
  out["user_id"] = user;
  if (info.end_time_ms) out["end_time"] = *info.end_time_ms;
  return out;
}

json run_json(const RunData& run, const std::string& default_root) {
  json data = json::object();
  if (!run.latest_metrics.empty()) {
    json metrics = json::array();
    for (const auto& [key, m] : run.latest_metrics) metrics.push_back(metric_json(m));
    data["metrics"] = metrics;
  }
  if (!run.params.empty()) data["params"] = key_value_list(run.params);
  if (!run.tags.empty()) data["tags"] = key_value_list(run.tags);
  return {{"info", run_info_json(run.info, default_root, &run.tags)}, {"data", data}, {"inputs", json::object()}};
}

// MLflow's run ids are 32 hex digits; anything else names no run (and is not
// treated as a prefix, unlike `wattlab runs show`).
bool plausible_run_id(const std::string& id) {
  return id.size() == 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

ApiResponse run_not_found(const std::string& run_id) {
  return api_error("RESOURCE_DOES_NOT_EXIST", "Run with id=" + run_id + " not found");
}

ApiResponse ok(json body = json::object()) { return {200, std::move(body)}; }

}  // namespace

int http_status_of(const std::string& error_code) {
  static const std::map<std::string, int> kStatus = {
      {"INTERNAL_ERROR", 500},        {"INVALID_STATE", 500},        {"TEMPORARILY_UNAVAILABLE", 503},
      {"REQUEST_LIMIT_EXCEEDED", 429}, {"ENDPOINT_NOT_FOUND", 404},   {"RESOURCE_DOES_NOT_EXIST", 404},
      {"PERMISSION_DENIED", 403},     {"UNAUTHENTICATED", 401},      {"BAD_REQUEST", 400},
      {"RESOURCE_ALREADY_EXISTS", 400}, {"INVALID_PARAMETER_VALUE", 400},
  };
  auto it = kStatus.find(error_code);
  return it == kStatus.end() ? 500 : it->second;
}

ApiResponse api_error(const std::string& error_code, const std::string& message) {
  return {http_status_of(error_code), {{"error_code", error_code}, {"message", message}}};
}

ApiResponse api_error(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument: return api_error("INVALID_PARAMETER_VALUE", status.message());
    case Status::Code::kNotFound: return api_error("RESOURCE_DOES_NOT_EXIST", status.message());
    case Status::Code::kAlreadyExists: return api_error("RESOURCE_ALREADY_EXISTS", status.message());
    default: break;
  }
  // The server's own trouble: its detail (paths, the database's words) stays
  // in the server's log.
  std::fprintf(stderr, "wattlab server: a request failed: %s\n", status.to_string().c_str());
  if (status.code() == Status::Code::kUnavailable) {
    return api_error("TEMPORARILY_UNAVAILABLE", "the store is busy or unreachable; retry later");
  }
  return api_error("INTERNAL_ERROR", "the server could not complete the request; its log has the details");
}

MlflowApi::MlflowApi(Store* store, Clock* clock, const ArtifactRoot* artifacts, ServerMetrics* metrics)
    : store_(store), clock_(clock ? clock : &Env::system().clock()), artifacts_(artifacts), metrics_(metrics) {
  build_routes();
}

std::string MlflowApi::default_artifact_root() {
  std::lock_guard<std::mutex> lock(default_root_mu_);
  if (!default_root_known_) {
    // The Default experiment always has the store's default location.
    auto e = store_->get_experiment("0");
    if (!e.ok()) return "";  // try again next time
    const std::string& location = e->artifact_location;
    if (location.size() > 2 && location.compare(location.size() - 2, 2, "/0") == 0) {
      default_root_ = location.substr(0, location.size() - 2);
    }
    default_root_known_ = true;
  }
  return default_root_;
}

void MlflowApi::build_routes() {
  Store* store = store_;
  Clock* clock = clock_;
  const ArtifactRoot* artifacts = artifacts_;
  ServerMetrics* metrics = metrics_;
  // Proxied artifact URIs only when this server serves artifacts.
  auto default_root = [this] { return artifacts_ ? default_artifact_root() : std::string(); };
  auto count_ingested = [metrics](const ApiResponse& r, size_t metric_points, size_t params, size_t tags) {
    if (metrics && r.http_status == 200) metrics->add_ingested(metric_points, params, tags);
    return r;
  };

  // Runs `fn` on a run id that may exist: NotFound becomes MLflow's message.
  using RunFn = std::function<Status(const std::string&)>;
  auto with_run_id = [](const std::string& run_id, const RunFn& fn) -> ApiResponse {
    if (!plausible_run_id(run_id)) return run_not_found(run_id);
    Status s = fn(run_id);
    if (s.code() == Status::Code::kNotFound && s.message().rfind("no run with id", 0) == 0) return run_not_found(run_id);
    if (!s.ok()) return api_error(s);
    return ok();
  };
  auto with_run = [with_run_id](const json& r, const RunFn& fn) { return with_run_id(run_id_of(r), fn); };

  // The run id is read after the limits are checked, so that a request with
  // both faults reports the limit.
  log_batch_ = [=](const LogBatchRequest& b, const json& r) -> ApiResponse {
    Status limits = validate_batch_size(b.metrics.size(), b.params.size(), b.tags.size());
    if (!limits.ok()) return api_error(limits);
    const std::string run_id = b.run_id.empty() ? run_id_of(r) : b.run_id;
    return count_ingested(
        with_run_id(run_id, [&](const std::string& id) { return store->log_batch(id, b.metrics, b.params, b.tags); }),
        b.metrics.size(), b.params.size(), b.tags.size());
  };

  mlflow_routes_ = {
      {"experiments/create",
       {"POST",
        [=](const json& r) {
          std::string name = required_string(r, "name");
          if (Status valid = validate_experiment_name(name); !valid.ok()) return api_error(valid);
          std::map<std::string, std::string> tags;
          for (auto& [k, v] : key_values(r, "tags")) tags[k] = v;
          auto id = store->create_experiment(name, optional_string(r, "artifact_location").value_or(""), tags);
          if (!id.ok()) return api_error(id.status());
          return ok({{"experiment_id", *id}});
        }}},
      {"experiments/get",
       {"GET",
        [=](const json& r) {
          std::string id = required_string(r, "experiment_id");
          auto e = store->get_experiment(id);
          if (!e.ok()) {
            if (e.status().code() == Status::Code::kNotFound)
              return api_error("RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + id + " exists");
            return api_error(e.status());
          }
          return ok({{"experiment", experiment_json(*e, default_root())}});
        }}},
      {"experiments/get-by-name",
       {"GET",
        [=](const json& r) {
          std::string name = required_string(r, "experiment_name");
          auto e = store->get_experiment_by_name(name);
          if (!e.ok()) {
            if (e.status().code() == Status::Code::kNotFound)
              return api_error("RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
            return api_error(e.status());
          }
          return ok({{"experiment", experiment_json(*e, default_root())}});
        }}},
      {"experiments/search",
       {"GET POST",
        [=](const json& r) {
          SearchExperimentsOptions o;
          o.max_results = max_results_of(r, kSearchMaxResultsDefault, kSearchMaxResultsLimit);
          o.page_token = optional_string(r, "page_token").value_or("");
          o.filter = optional_string(r, "filter").value_or("");
          o.order_by = string_list(r, "order_by");
          if (auto view = optional_string(r, "view_type")) {
            auto v = parse_view_type(*view);
            if (!v.ok()) return api_error(v.status());
            o.view_type = *v;
          }
          auto page = store->search_experiments(o);
          if (!page.ok()) return api_error(page.status());
          json out = json::object();
          if (!page->experiments.empty()) {
            out["experiments"] = json::array();
            const std::string root = default_root();
            for (const auto& e : page->experiments) out["experiments"].push_back(experiment_json(e, root));
          }
          if (!page->next_page_token.empty()) out["next_page_token"] = page->next_page_token;
          return ok(out);
        }}},
      {"experiments/update",
       {"POST",
        [=](const json& r) {
          std::string id = required_string(r, "experiment_id");
          auto name = optional_string(r, "new_name");
          if (!name) return ok();  // nothing to change, as in MLflow
          Status s = validate_experiment_name(*name);
          if (s.ok()) s = store->rename_experiment(id, *name);
          return s.ok() ? ok() : api_error(s);
        }}},
      {"experiments/delete",
       {"POST",
        [=](const json& r) {
          Status s = store->delete_experiment(required_string(r, "experiment_id"));
          return s.ok() ? ok() : api_error(s);
        }}},
      {"experiments/restore",
       {"POST",
        [=](const json& r) {
          Status s = store->restore_experiment(required_string(r, "experiment_id"));
          return s.ok() ? ok() : api_error(s);
        }}},
      {"experiments/set-experiment-tag",
       {"POST",
        [=](const json& r) {
          std::string id = required_string(r, "experiment_id");
          std::string key = required_string(r, "key");
          std::string value = optional_string(r, "value").value_or("");
          Status s = validate_tag_value(key, value);
          if (s.ok()) s = store->set_experiment_tag(id, key, value);
          return s.ok() ? ok() : api_error(s);
        }}},
      {"runs/create",
       {"POST",
        [=](const json& r) {
          std::string experiment_id = optional_string(r, "experiment_id").value_or("0");
          if (experiment_id.empty()) experiment_id = "0";
          std::vector<RunTag> tags;
          for (auto& [k, v] : key_values(r, "tags")) tags.push_back({k, v});
          std::string run_name = optional_string(r, "run_name").value_or("");
          for (const auto& t : tags)
            if (t.key == "mlflow.runName" && run_name.empty()) run_name = t.value;
          if (run_name.empty()) run_name = "run-" + new_run_id().substr(0, 8);
          int64_t start_ms = optional_int64(r, "start_time").value_or(clock->wall_ms());
          if (auto user = optional_string(r, "user_id"); user && !user->empty()) tags.push_back({"mlflow.user", *user});
          bool has_name_tag = std::any_of(tags.begin(), tags.end(), [](const RunTag& t) { return t.key == "mlflow.runName"; });
          if (!has_name_tag) tags.push_back({"mlflow.runName", run_name});
          for (const auto& t : tags) {
            Status s = validate_entity_key("tag", t.key);
            if (s.ok()) s = validate_tag_value(t.key, t.value);
            if (!s.ok()) return api_error(s);
          }
          auto info = store->create_run(experiment_id, run_name, start_ms);
          if (!info.ok()) {
            if (info.status().code() == Status::Code::kNotFound)
              return api_error("RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + experiment_id + " exists");
            return api_error(info.status());
          }
          Status s = store->log_batch(info->run_id, {}, {}, tags);
          if (!s.ok()) return api_error(s);
          if (metrics) metrics->add_ingested(0, 0, tags.size());
          auto run = store->get_run(info->run_id);
          if (!run.ok()) return api_error(run.status());
          return ok({{"run", run_json(*run, default_root())}});
        }}},
      {"runs/get",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto run = store->get_run(run_id);
          if (!run.ok()) return run.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(run.status());
          return ok({{"run", run_json(*run, default_root())}});
        }}},
      {"runs/update",
       {"POST",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          RunUpdate update;
          if (auto status = optional_string(r, "status")) {
            auto s = parse_run_status(*status);
            if (!s.ok()) return api_error(s.status());
            update.status = *s;
          }
          update.end_time_ms = optional_int64(r, "end_time");
          update.run_name = optional_string(r, "run_name");
          if (update.run_name && update.run_name->empty()) update.run_name.reset();
          if (update.run_name) {
            if (Status valid = validate_tag_value("mlflow.runName", *update.run_name); !valid.ok()) return api_error(valid);
          }
          if (update.end_time_ms) {
            auto run = store->get_run(run_id);
            if (!run.ok()) return run.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(run.status());
            if (*update.end_time_ms < run->info.start_time_ms) {
              return api_error("INVALID_PARAMETER_VALUE",
                               "end_time " + std::to_string(*update.end_time_ms) + " is before the run's start_time " +
                                   std::to_string(run->info.start_time_ms));
            }
          }
          auto info = store->update_run_info(run_id, update);
          if (!info.ok()) return info.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(info.status());
          return ok({{"run_info", run_info_json(*info, default_root())}});
        }}},
      {"runs/delete",
       {"POST", [=](const json& r) { return with_run(r, [&](const std::string& id) { return store->delete_run(id); }); }}},
      {"runs/restore",
       {"POST", [=](const json& r) { return with_run(r, [&](const std::string& id) { return store->restore_run(id); }); }}},
      {"runs/log-metric",
       {"POST",
        [=](const json& r) {
          Metric m;
          m.key = required_string(r, "key");
          m.value = required_double(r, "value");
          m.timestamp_ms = required_int64(r, "timestamp");
          m.step = optional_int64(r, "step").value_or(0);
          return count_ingested(with_run(r, [&](const std::string& id) { return store->log_batch(id, {m}, {}, {}); }),
                                1, 0, 0);
        }}},
      {"runs/log-parameter",
       {"POST",
        [=](const json& r) {
          Param p{required_string(r, "key"), optional_string(r, "value").value_or("")};
          return count_ingested(with_run(r, [&](const std::string& id) { return store->log_batch(id, {}, {p}, {}); }),
                                0, 1, 0);
        }}},
      {"runs/set-tag",
       {"POST",
        [=](const json& r) {
          RunTag t{required_string(r, "key"), optional_string(r, "value").value_or("")};
          return count_ingested(with_run(r, [&](const std::string& id) {
            Status s = store->log_batch(id, {}, {}, {t});
            // Keep run_name in step with its tag, as MLflow does.
            if (s.ok() && t.key == "mlflow.runName" && !t.value.empty()) {
              RunUpdate u;
              u.run_name = t.value;
              auto info = store->update_run_info(id, u);
              if (!info.ok()) s = info.status();
            }
            return s;
          }), 0, 0, 1);
        }}},
      {"runs/delete-tag",
       {"POST",
        [=](const json& r) {
          std::string key = required_string(r, "key");
          return with_run(r, [&](const std::string& id) { return store->delete_tag(id, key); });
        }}},
      {"runs/log-batch",
       {"POST",
        [this](const json& r) {
          LogBatchRequest batch;  // run_id left empty: log_batch_ reads it from r
          for (const auto& m : object_list(r, "metrics")) {
            batch.metrics.push_back({required_string(m, "key"), required_double(m, "value"),
                                     required_int64(m, "timestamp"), optional_int64(m, "step").value_or(0)});
          }
          for (auto& [k, v] : key_values(r, "params")) batch.params.push_back({k, v});
          for (auto& [k, v] : key_values(r, "tags")) batch.tags.push_back({k, v});
          return log_batch_(batch, r);
        }}},
      {"runs/search",
       {"POST",
        [=](const json& r) {
          SearchRunsOptions o;
          o.experiment_ids = string_list(r, "experiment_ids");
          o.filter = optional_string(r, "filter").value_or("");
          o.order_by = string_list(r, "order_by");
          o.max_results = max_results_of(r, kSearchMaxResultsDefault, kSearchMaxResultsLimit);
          o.page_token = optional_string(r, "page_token").value_or("");
          if (auto view = optional_string(r, "run_view_type")) {
            auto v = parse_view_type(*view);
            if (!v.ok()) return api_error(v.status());
            o.view_type = *v;
          }
          auto page = store->search_runs(o);
          if (!page.ok()) return api_error(page.status());
          json out = json::object();
          if (!page->runs.empty()) {
            out["runs"] = json::array();
            const std::string root = default_root();
            for (const auto& run : page->runs) out["runs"].push_back(run_json(run, root));
          }
          if (!page->next_page_token.empty()) out["next_page_token"] = page->next_page_token;
          return ok(out);
        }}},
      {"artifacts/list",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          std::string path = optional_string(r, "path").value_or("");
          if (!artifacts) return api_error("ENDPOINT_NOT_FOUND", "this server does not serve artifacts");
          auto parts = ArtifactRoot::split_path(path, /*allow_empty=*/true);
          if (!parts.ok()) return api_error(parts.status());
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto run = store->get_run(run_id);
          if (!run.ok()) return run.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(run.status());
          const std::string root_uri = run_artifact_uri(run->info, default_root());
          json out = {{"root_uri", root_uri}};
          // A run stored elsewhere (an explicit artifact_location) is not
          // this server's to read: its root_uri tells the client where to look.
          const std::string kProxied = "mlflow-artifacts:/";
          if (root_uri.rfind(kProxied, 0) != 0) return ok(out);
          std::string relative;
          for (const auto& part : *parts) relative += (relative.empty() ? "" : "/") + part;
          auto entries = artifacts->list(root_uri.substr(kProxied.size()) + (relative.empty() ? "" : "/" + relative));
          if (!entries.ok()) return api_error(entries.status());
          if (!entries->empty()) {
            out["files"] = json::array();
            for (const auto& e : *entries) {
              json file = {{"path", relative.empty() ? e.name : relative + "/" + e.name}, {"is_dir", e.is_dir}};
              if (!e.is_dir) file["file_size"] = e.size_bytes;
              out["files"].push_back(file);
            }
          }
          return ok(out);
        }}},
      {"metrics/get-history",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          std::string key = required_string(r, "metric_key");
          int max_results = max_results_of(r, kMetricHistoryPageDefault, kMetricHistoryPageDefault);
          std::string token = optional_string(r, "page_token").value_or("");
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto page = store->get_metric_history_page(run_id, key, max_results, token);
          if (!page.ok()) return page.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(page.status());
          json out = json::object();
          if (!page->metrics.empty()) {
            out["metrics"] = json::array();
            for (const auto& m : page->metrics) out["metrics"].push_back(metric_json(m));
          }
          if (!page->next_page_token.empty()) out["next_page_token"] = page->next_page_token;
          return ok(out);
        }}},
  };

  wattlab_routes_ = {
      {"metrics/get-history-sampled",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          std::string key = required_string(r, "metric_key");
          auto max_points = optional_int64(r, "max_points").value_or(1000);
          if (max_points < 1 || max_points > kSampledHistoryMaxPoints) {
            return api_error("INVALID_PARAMETER_VALUE", "max_points must be 1.." +
                                                            std::to_string(kSampledHistoryMaxPoints) + ", got " +
                                                            std::to_string(max_points));
          }
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto points = store->get_metric_history_sampled(run_id, key, static_cast<int>(max_points));
          if (!points.ok()) {
            return points.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(points.status());
          }
          json metrics = json::array();
          for (const auto& m : *points) metrics.push_back(metric_json(m));
          return ok({{"run_id", run_id}, {"metric_key", key}, {"metrics", metrics}});
        }}},
      {"runs/energy-windows",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto run = store->get_run(run_id);
          if (!run.ok()) return run.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(run.status());
          json windows = json::array();
          for (const auto& w : run->energy_windows) windows.push_back(energy_window_to_json(w));
          return ok({{"run_id", run->info.run_id}, {"energy_windows", windows}});
        }}},
      {"runs/environment",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto run = store->get_run(run_id);
          if (!run.ok()) return run.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(run.status());
          return ok({{"run_id", run->info.run_id}, {"environment", run->environment}});
        }}},
      {"runs/log-energy-windows",
       {"POST",
        [=](const json& r) {
          std::vector<EnergyWindow> windows;
          for (const auto& item : object_list(r, "energy_windows")) {
            auto w = energy_window_from_json(item);
            if (!w.ok()) return api_error(w.status());
            windows.push_back(std::move(*w));
          }
          return with_run(r, [&](const std::string& id) { return store->log_energy_windows(id, windows); });
        }}},
      {"runs/log-power-samples",
       {"POST",
        [=](const json& r) {
          std::vector<std::string> domains = string_list(r, "domains");
          std::vector<PowerSample> samples;
          for (const auto& item : object_list(r, "samples")) {
            auto sample = power_sample_from_json(item);
            if (!sample.ok()) return api_error(sample.status());
            samples.push_back(std::move(*sample));
          }
          return with_run(r, [&](const std::string& id) { return store->log_power_samples(id, domains, samples); });
        }}},
      {"runs/set-environment",
       {"POST",
        [=](const json& r) {
          std::map<std::string, std::string> environment;
          if (r.contains("environment")) {
            const json& e = r["environment"];
            if (!e.is_object()) throw BadParameter{"'environment' must be an object of strings"};
            for (const auto& [k, v] : e.items()) {
              if (!v.is_string()) throw BadParameter{"environment value of '" + k + "' must be a string"};
              environment[k] = v.get<std::string>();
            }
          }
          return with_run(r, [&](const std::string& id) { return store->set_environment(id, environment); });
        }}},
      {"runs/power-sampled",
       {"GET",
        [=](const json& r) {
          std::string run_id = run_id_of(r);
          auto max_points = optional_int64(r, "max_points").value_or(2000);
          if (max_points < 1 || max_points > kSampledHistoryMaxPoints) {
            return api_error("INVALID_PARAMETER_VALUE", "max_points must be 1.." +
                                                            std::to_string(kSampledHistoryMaxPoints) + ", got " +
                                                            std::to_string(max_points));
          }
          auto from_ms = optional_int64(r, "from_ms");
          auto to_ms = optional_int64(r, "to_ms");
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto timeline = store->get_power_samples_sampled(run_id, from_ms, to_ms, static_cast<int>(max_points));
          if (!timeline.ok()) {
            return timeline.status().code() == Status::Code::kNotFound ? run_not_found(run_id)
                                                                       : api_error(timeline.status());
          }
          // Columns, so a chart takes them as they are.
          json timestamps = json::array();
          json power = json::array();
          for (size_t d = 0; d < timeline->domains.size(); ++d) power.push_back(json::array());
          for (const auto& sample : timeline->samples) {
            timestamps.push_back(sample.timestamp_ms);
            for (size_t d = 0; d < sample.power_w.size(); ++d) {
              const double w = sample.power_w[d];
              power[d].push_back(std::isfinite(w) ? json(w) : json());
            }
          }
          return ok({{"run_id", run_id},
                     {"domains", timeline->domains},
                     {"timestamps_ms", timestamps},
                     {"power_w", power}});
        }}},
      {"runs/power",
       {"GET",
        [=](const json& r) {
          constexpr int kMaxPoints = 100000;
          std::string run_id = run_id_of(r);
          auto max_points_arg = optional_int64(r, "max_points").value_or(1000);
          if (max_points_arg < 1 || max_points_arg > kMaxPoints) {
            return api_error("INVALID_PARAMETER_VALUE", "max_points must be 1.." + std::to_string(kMaxPoints) +
                                                            ", got " + std::to_string(max_points_arg));
          }
          const size_t max_points = static_cast<size_t>(max_points_arg);
          if (!plausible_run_id(run_id)) return run_not_found(run_id);
          auto timeline = store->get_power_samples(run_id);
          if (!timeline.ok()) return timeline.status().code() == Status::Code::kNotFound ? run_not_found(run_id) : api_error(timeline.status());
          // Downsample to at most max_points buckets of consecutive samples:
          // each bucket reports its first timestamp and each domain's mean
          // (NaN samples skipped; null when a bucket has none).
          const auto& samples = timeline->samples;
          const size_t n = samples.size();
          const size_t buckets = std::min(n, max_points);
          json out_samples = json::array();
          for (size_t b = 0; b < buckets; ++b) {
            size_t begin = b * n / buckets, end = (b + 1) * n / buckets;
            json power = json::array();
            for (size_t d = 0; d < timeline->domains.size(); ++d) {
              double sum = 0;
              size_t count = 0;
              for (size_t i = begin; i < end; ++i) {
                double w = samples[i].power_w[d];
                if (std::isfinite(w)) { sum += w; ++count; }
              }
              power.push_back(count ? json(sum / static_cast<double>(count)) : json());
            }
            out_samples.push_back({{"timestamp_ms", samples[begin].timestamp_ms}, {"power_w", power}});
          }
          return ok({{"run_id", run_id},
                     {"domains", timeline->domains},
                     {"total_samples", n},
                     {"samples", out_samples}});
        }}},
  };

}

namespace {

// Runs a route's handler: BadParameter (and a JSON type error) becomes
// INVALID_PARAMETER_VALUE, anything else thrown INTERNAL_ERROR.
template <typename Handler>
ApiResponse answer(Handler handler) {
  try {
    return handler();
  } catch (const BadParameter& e) {
    return api_error("INVALID_PARAMETER_VALUE", e.message);
  } catch (const json::exception& e) {
    return api_error("INVALID_PARAMETER_VALUE", std::string("invalid request: ") + e.what());
  } catch (const std::exception& e) {
    return api_error(Status::internal(e.what()));
  }
}

}  // namespace

bool MlflowApi::has_endpoint(const std::string& api, const std::string& endpoint) const {
  return (api == "mlflow" && mlflow_routes_.count(endpoint) > 0) ||
         (api == "wattlab" && wattlab_routes_.count(endpoint) > 0);
}

ApiResponse MlflowApi::handle_body(const std::string& method, const std::string& api, const std::string& endpoint,
                                   std::string_view body) {
  if (method == "POST" && api == "mlflow" && endpoint == "runs/log-batch") {
    if (auto batch = read_log_batch(body)) return answer([&] { return log_batch_(*batch, json::object()); });
  }
  json request = json::object();
  if (!body.empty()) {
    if (!nesting_within(body, kMaxRequestNesting)) {
      return api_error("BAD_REQUEST",
                       "the request body nests deeper than " + std::to_string(kMaxRequestNesting) + " levels");
    }
    request = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) return api_error("BAD_REQUEST", "the request body is not valid JSON");
  }
  return handle(method, api, endpoint, request);
}

ApiResponse MlflowApi::handle(const std::string& method, const std::string& api, const std::string& endpoint,
                              const json& request) {
  const auto& routes = api == "mlflow" ? mlflow_routes_ : wattlab_routes_;
  if (api != "mlflow" && api != "wattlab") return api_error("ENDPOINT_NOT_FOUND", "no API named '" + api + "'");
  auto it = routes.find(endpoint);
  if (it == routes.end()) {
    return api_error("ENDPOINT_NOT_FOUND", "no endpoint /api/2.0/" + api + "/" + endpoint);
  }
  if (std::string(it->second.method).find(method) == std::string::npos) {
    ApiResponse r = api_error("BAD_REQUEST", endpoint + " takes " + it->second.method + ", not " + method);
    r.http_status = 405;
    return r;
  }
  if (!request.is_object()) return api_error("BAD_REQUEST", "the request body must be a JSON object");
  return answer([&] { return it->second.handler(request); });
}

}  // namespace wattlab
