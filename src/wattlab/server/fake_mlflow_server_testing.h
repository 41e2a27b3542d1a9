// Test helper: a small stand-in for an MLflow 2.9 tracking server
// (`mlflow server`, which has no Debian package), answering the REST calls
// wattlab makes the way MLflow's handlers (mlflow/server/handlers.py) answer
// them, and recording every request it receives:
// - /health: 200 "OK" as text;
// - /api/2.0/mlflow/{experiments,runs,metrics}/...: MLflow's JSON shapes —
//   run info with run_uuid and run_id, artifact_uri
//   "mlflow-artifacts:/<experiment>/<run>/artifacts", int64 as numbers,
//   errors {"error_code", "message"} (RESOURCE_DOES_NOT_EXIST 404,
//   INVALID_PARAMETER_VALUE / RESOURCE_ALREADY_EXISTS 400), MLflow's key rule
//   and batch limits, write-once params; runs/search ignores its filter;
// - /api/2.0/mlflow-artifacts/artifacts[/<path>]: PUT stores, GET returns
//   the bytes (404 when missing), GET ?path= lists basenames;
// - any other path (wattlab's own endpoints among them): Flask's HTML 404.
// Serves on 127.0.0.1 on a free port, on a background thread (HttpServer).
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/server/http_server.h"

namespace wattlab::testing {

class FakeMlflowServer {
 public:
  struct Request {
    std::string method;
    std::string path;  // without the query, decoded
    std::string body;
  };

  FakeMlflowServer() {
    HttpServerOptions options;
    options.threads = 2;
    auto server = HttpServer::bind(
        "127.0.0.1", 0,
        [this](const HttpRequest&) {
          return buffered_exchange(
              uint64_t{1} << 30, [this](const HttpRequest& req) { return handle(req); },
              [](const HttpRequest&) { return error(413, "INVALID_PARAMETER_VALUE", "body too large"); });
        },
        options);
    if (!server.ok()) throw std::runtime_error(server.status().to_string());
    http_ = std::move(server).value();
    thread_ = std::thread([this] { http_->serve(); });
  }
  ~FakeMlflowServer() {
    http_->stop();
    thread_.join();
  }
  FakeMlflowServer(const FakeMlflowServer&) = delete;
  FakeMlflowServer& operator=(const FakeMlflowServer&) = delete;

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(http_->port()); }
  // Every request so far, in arrival order.
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // An artifact's bytes ("<experiment>/<run>/artifacts/<path>"); empty when missing.
  std::string artifact(const std::string& path) {
    std::lock_guard lock(mu_);
    auto it = artifacts_.find(path);
    return it == artifacts_.end() ? "" : it->second;
  }
  // A run's record as runs/get answers it ({"info", "data", "inputs"}).
  nlohmann::json run(const std::string& run_id) {
    std::lock_guard lock(mu_);
    return run_json_locked(run_id);
  }
  // Every point logged for a run's metric.
  std::vector<nlohmann::json> history(const std::string& run_id, const std::string& key) {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& m : runs_[run_id].metrics)
      if (m["key"] == key) out.push_back(m);
    return out;
  }

 private:
  using json = nlohmann::json;
  struct Run {
    json info;
    std::vector<json> metrics;  // every point, in logging order
    std::map<std::string, std::string> params, tags;
  };

  static HttpResponse reply(int status, const json& body) {
    HttpResponse res;
    res.status = status;
    res.content_type = "application/json";
    res.body = body.dump();
    return res;
  }
  static HttpResponse error(int status, const std::string& code, const std::string& message) {
    return reply(status, {{"error_code", code}, {"message", message}});
  }
  static HttpResponse no_run(const std::string& run_id) {
    return error(404, "RESOURCE_DOES_NOT_EXIST", "Run with id=" + run_id + " not found");
  }
  // The first query parameter called `name`; "" when absent.
  static std::string param(const HttpRequest& req, const std::string& name) {
    for (const auto& [k, v] : req.query)
      if (k == name) return v;
    return "";
  }
  static json key_values(const std::map<std::string, std::string>& map) {
    json out = json::array();
    for (const auto& [k, v] : map) out.push_back({{"key", k}, {"value", v}});
    return out;
  }
  json run_json_locked(const std::string& run_id) {
    Run& r = runs_[run_id];
    std::map<std::string, json> latest;
    for (const auto& m : r.metrics) {
      auto it = latest.find(m["key"]);
      if (it == latest.end() || m["step"].get<int64_t>() >= (*it).second["step"].get<int64_t>()) latest[m["key"]] = m;
    }
    json data = json::object();
    if (!latest.empty()) {
      data["metrics"] = json::array();
      for (auto& [k, m] : latest) data["metrics"].push_back(m);
    }
    if (!r.params.empty()) data["params"] = key_values(r.params);
    if (!r.tags.empty()) data["tags"] = key_values(r.tags);
    return {{"info", r.info}, {"data", data}, {"inputs", json::object()}};
  }
  json experiment_json_locked(const std::string& id) {
    return {{"experiment_id", id}, {"name", experiments_[id]}, {"artifact_location", "mlflow-artifacts:/" + id},
            {"lifecycle_stage", "active"}, {"last_update_time", 1700000000000}, {"creation_time", 1700000000000}};
  }
  // MLflow's _validate_metric_name / _validate_tag_name: [/\w.\- ] and a normalized path.
  static bool valid_key(const std::string& key) {
    static const std::regex kKey(R"(^[/\w.\- ]*$)");
    return !key.empty() && std::regex_match(key, kKey) && key.front() != '/' && key.back() != '/' &&
           key.find("//") == std::string::npos && key.find("..") == std::string::npos;
  }

  HttpResponse handle(const HttpRequest& req) {
    std::lock_guard lock(mu_);
    requests_.push_back({req.method, req.path, req.body});
    return route(req);
  }

  // MLflow's answer to `req`. Caller holds mu_.
  HttpResponse route(const HttpRequest& req) {
    const std::string api = "/api/2.0/mlflow/";
    const std::string artifacts = "/api/2.0/mlflow-artifacts/artifacts";
    const std::string& path = req.path;
    const bool get = req.method == "GET", post = req.method == "POST";
    if (get && path == "/health") {
      HttpResponse res;
      res.content_type = "text/plain";
      res.body = "OK";
      return res;
    }
    if (get && path == api + "experiments/get-by-name") {
      const std::string name = param(req, "experiment_name");
      for (const auto& [id, n] : experiments_)
        if (n == name) return reply(200, {{"experiment", experiment_json_locked(id)}});
      return error(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
    }
    if (get && path == api + "experiments/get") {
      const std::string id = param(req, "experiment_id");
      if (!experiments_.count(id)) return error(404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + id + " exists");
      return reply(200, {{"experiment", experiment_json_locked(id)}});
    }
    if (post && path == api + "experiments/create") {
      const std::string name = json::parse(req.body).value("name", "");
      for (const auto& [id, n] : experiments_) {
        if (n == name) return error(400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=" + name + ") already exists.");
      }
      const std::string id = std::to_string(experiments_.size());
      experiments_[id] = name;
      return reply(200, {{"experiment_id", id}});
    }
    if (post && path == api + "experiments/search") {
      json list = json::array();
      for (const auto& [id, n] : experiments_) list.push_back(experiment_json_locked(id));
      return reply(200, {{"experiments", list}});
    }
    if (post && path == api + "runs/create") {
      const json body = json::parse(req.body);
      const std::string experiment = body.value("experiment_id", "0");
      if (!experiments_.count(experiment)) {
        return error(404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + experiment + " exists");
      }
      char id[40];
      std::snprintf(id, sizeof id, "%032x", static_cast<unsigned>(0xabc000 + runs_.size()));
      Run& r = runs_[id];
      const std::string name = body.value("run_name", "fake-run");
      r.info = {{"run_uuid", id}, {"experiment_id", experiment}, {"run_name", name}, {"user_id", ""},
                {"status", "RUNNING"}, {"start_time", body.value("start_time", int64_t{0})},
                {"artifact_uri", "mlflow-artifacts:/" + experiment + "/" + id + "/artifacts"},
                {"lifecycle_stage", "active"}, {"run_id", id}};
      r.tags["mlflow.runName"] = name;
      return reply(200, {{"run", run_json_locked(id)}});
    }
    // The rest of the run calls name a run that must exist.
    if (get && path == api + "runs/get") {
      const std::string id = param(req, "run_id");
      if (!runs_.count(id)) return no_run(id);
      return reply(200, {{"run", run_json_locked(id)}});
    }
    if (post && path == api + "runs/update") {
      const json body = json::parse(req.body);
      const std::string id = body.value("run_id", "");
      if (!runs_.count(id)) return no_run(id);
      Run& r = runs_[id];
      if (body.contains("status")) r.info["status"] = body["status"];
      if (body.contains("end_time")) r.info["end_time"] = body["end_time"];
      return reply(200, {{"run_info", r.info}});
    }
    if (post && (path == api + "runs/delete" || path == api + "runs/restore")) {
      const std::string id = json::parse(req.body).value("run_id", "");
      if (!runs_.count(id)) return no_run(id);
      runs_[id].info["lifecycle_stage"] = path == api + "runs/delete" ? "deleted" : "active";
      return reply(200, json::object());
    }
    if (post && path == api + "runs/log-batch") return log_batch(json::parse(req.body));
    if (post && path == api + "runs/search") {
      const std::string view = json::parse(req.body).value("run_view_type", "ACTIVE_ONLY");
      json list = json::array();
      for (const auto& [id, r] : runs_) {
        const bool deleted = r.info["lifecycle_stage"] == "deleted";
        if ((view == "ACTIVE_ONLY" && deleted) || (view == "DELETED_ONLY" && !deleted)) continue;
        list.push_back(run_json_locked(id));
      }
      json out = json::object();
      if (!list.empty()) out["runs"] = list;
      return reply(200, out);
    }
    if (get && path == api + "metrics/get-history") {
      const std::string id = param(req, "run_id");
      if (!runs_.count(id)) return no_run(id);
      json list = json::array();
      for (const auto& m : runs_[id].metrics)
        if (m["key"] == param(req, "metric_key")) list.push_back(m);
      return reply(200, list.empty() ? json::object() : json{{"metrics", list}});
    }
    if (req.method == "PUT" && path.rfind(artifacts + "/", 0) == 0) {
      artifacts_[path.substr(artifacts.size() + 1)] = req.body;
      return reply(200, json::object());
    }
    if (get && path.rfind(artifacts + "/", 0) == 0 && path.size() > artifacts.size() + 1) {
      auto it = artifacts_.find(path.substr(artifacts.size() + 1));
      if (it == artifacts_.end()) return error(404, "RESOURCE_DOES_NOT_EXIST", "File not found");
      HttpResponse res;
      res.content_type = "application/octet-stream";
      res.body = it->second;
      return res;
    }
    if (get && path == artifacts) return list_artifacts(param(req, "path") + "/");
    // Flask's answer to a path it does not route.
    HttpResponse res;
    res.status = 404;
    res.content_type = "text/html; charset=utf-8";
    res.body = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL "
               "was not found on the server. If you entered the URL manually please check your spelling and try "
               "again.</p>\n";
    return res;
  }

  // runs/log-batch with MLflow's limits, key rule and write-once params. Caller holds mu_.
  HttpResponse log_batch(const json& body) {
    const std::string id = body.value("run_id", "");
    if (!runs_.count(id)) return no_run(id);
    Run& r = runs_[id];
    const json metrics = body.value("metrics", json::array()), params = body.value("params", json::array()),
               tags = body.value("tags", json::array());
    if (metrics.size() > 1000 || params.size() > 100 || tags.size() > 100) {
      return error(400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics, "
                                                   "100 params and 100 tags");
    }
    for (const auto& list : {metrics, params, tags}) {
      for (const auto& item : list) {
        if (!valid_key(item.value("key", ""))) {
          return error(400, "INVALID_PARAMETER_VALUE", "Invalid name: '" + item.value("key", "") + "'");
        }
      }
    }
    for (const auto& p : params) {
      auto it = r.params.find(p["key"]);
      if (it != r.params.end() && it->second != p.value("value", "")) {
        return error(400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='" +
                                                         p["key"].get<std::string>() + "' was already logged");
      }
    }
    for (const auto& m : metrics) r.metrics.push_back(m);
    for (const auto& p : params) r.params[p["key"]] = p.value("value", "");
    for (const auto& t : tags) r.tags[t["key"]] = t.value("value", "");
    return reply(200, json::object());
  }

  // GET artifacts?path=: the basenames below `dir` ("<path>/"). Caller holds mu_.
  HttpResponse list_artifacts(const std::string& dir) {
    std::map<std::string, json> entries;
    for (const auto& [path, bytes] : artifacts_) {
      if (path.rfind(dir, 0) != 0) continue;
      const std::string rest = path.substr(dir.size());
      const size_t slash = rest.find('/');
      if (slash == std::string::npos) {
        entries[rest] = {{"path", rest}, {"is_dir", false}, {"file_size", bytes.size()}};
      } else {
        entries[rest.substr(0, slash)] = {{"path", rest.substr(0, slash)}, {"is_dir", true}};
      }
    }
    json out = json::object();
    for (auto& [name, e] : entries) out["files"].push_back(e);
    return reply(200, out);
  }

  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  std::mutex mu_;  // guards everything below
  std::vector<Request> requests_;
  std::map<std::string, std::string> experiments_ = {{"0", "Default"}};  // by id
  std::map<std::string, Run> runs_;
  std::map<std::string, std::string> artifacts_;  // by path below the artifact root
};

}  // namespace wattlab::testing
