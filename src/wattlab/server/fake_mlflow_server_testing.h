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
// Serves on 127.0.0.1 on a free port, on a background thread.
#pragma once

#include <httplib.h>

#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace wattlab::testing {

class FakeMlflowServer {
 public:
  struct Request {
    std::string method;
    std::string path;  // without the query
    std::string body;
  };

  FakeMlflowServer() {
    install();
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeMlflowServer() {
    http_.stop();
    thread_.join();
  }
  FakeMlflowServer(const FakeMlflowServer&) = delete;
  FakeMlflowServer& operator=(const FakeMlflowServer&) = delete;

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }
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

  static void reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }
  static void error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    reply(res, status, {{"error_code", code}, {"message", message}});
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

  void install() {
    http_.set_logger([this](const httplib::Request& req, const httplib::Response&) {
      std::lock_guard lock(mu_);
      requests_.push_back({req.method, req.path, req.body});
    });
    http_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status != 404 || !res.body.empty()) return;
      res.set_content("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The "
                      "requested URL was not found on the server. If you entered the URL manually please check your "
                      "spelling and try again.</p>\n",
                      "text/html; charset=utf-8");
    });
    http_.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("OK", "text/plain"); });
    const std::string api = "/api/2.0/mlflow/";
    http_.Get(api + "experiments/get-by-name", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const std::string name = req.get_param_value("experiment_name");
      for (const auto& [id, n] : experiments_)
        if (n == name) return reply(res, 200, {{"experiment", experiment_json_locked(id)}});
      error(res, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name '" + name + "'");
    });
    http_.Get(api + "experiments/get", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const std::string id = req.get_param_value("experiment_id");
      if (!experiments_.count(id)) return error(res, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + id + " exists");
      reply(res, 200, {{"experiment", experiment_json_locked(id)}});
    });
    http_.Post(api + "experiments/create", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const std::string name = json::parse(req.body).value("name", "");
      for (const auto& [id, n] : experiments_) {
        if (n == name) {
          return error(res, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=" + name + ") already exists.");
        }
      }
      const std::string id = std::to_string(experiments_.size());
      experiments_[id] = name;
      reply(res, 200, {{"experiment_id", id}});
    });
    http_.Post(api + "experiments/search", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      json list = json::array();
      for (const auto& [id, n] : experiments_) list.push_back(experiment_json_locked(id));
      reply(res, 200, {{"experiments", list}});
    });
    http_.Post(api + "runs/create", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const json body = json::parse(req.body);
      const std::string experiment = body.value("experiment_id", "0");
      if (!experiments_.count(experiment)) {
        return error(res, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=" + experiment + " exists");
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
      reply(res, 200, {{"run", run_json_locked(id)}});
    });
    // The rest of the run calls name a run that must exist.
    auto with_run = [this](const std::string& run_id, httplib::Response& res) -> Run* {
      if (!runs_.count(run_id)) {
        error(res, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=" + run_id + " not found");
        return nullptr;
      }
      return &runs_[run_id];
    };
    http_.Get(api + "runs/get", [this, with_run](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      if (with_run(req.get_param_value("run_id"), res)) reply(res, 200, {{"run", run_json_locked(req.get_param_value("run_id"))}});
    });
    http_.Post(api + "runs/update", [this, with_run](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const json body = json::parse(req.body);
      Run* r = with_run(body.value("run_id", ""), res);
      if (!r) return;
      if (body.contains("status")) r->info["status"] = body["status"];
      if (body.contains("end_time")) r->info["end_time"] = body["end_time"];
      reply(res, 200, {{"run_info", r->info}});
    });
    for (const char* stage : {"delete", "restore"}) {
      const std::string lifecycle = std::string(stage) == "delete" ? "deleted" : "active";
      http_.Post(api + "runs/" + stage, [this, with_run, lifecycle](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mu_);
        Run* r = with_run(json::parse(req.body).value("run_id", ""), res);
        if (!r) return;
        r->info["lifecycle_stage"] = lifecycle;
        reply(res, 200, json::object());
      });
    }
    http_.Post(api + "runs/log-batch", [this, with_run](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const json body = json::parse(req.body);
      Run* r = with_run(body.value("run_id", ""), res);
      if (!r) return;
      const json metrics = body.value("metrics", json::array()), params = body.value("params", json::array()),
                 tags = body.value("tags", json::array());
      if (metrics.size() > 1000 || params.size() > 100 || tags.size() > 100) {
        return error(res, 400, "INVALID_PARAMETER_VALUE", "A batch logging request can contain at most 1000 metrics, "
                                                          "100 params and 100 tags");
      }
      for (const auto& list : {metrics, params, tags}) {
        for (const auto& item : list) {
          if (!valid_key(item.value("key", ""))) {
            return error(res, 400, "INVALID_PARAMETER_VALUE", "Invalid name: '" + item.value("key", "") + "'");
          }
        }
      }
      for (const auto& p : params) {
        auto it = r->params.find(p["key"]);
        if (it != r->params.end() && it->second != p.value("value", "")) {
          return error(res, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed. Param with key='" +
                                                                p["key"].get<std::string>() + "' was already logged");
        }
      }
      for (const auto& m : metrics) r->metrics.push_back(m);
      for (const auto& p : params) r->params[p["key"]] = p.value("value", "");
      for (const auto& t : tags) r->tags[t["key"]] = t.value("value", "");
      reply(res, 200, json::object());
    });
    http_.Post(api + "runs/search", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const json body = json::parse(req.body);
      const std::string view = body.value("run_view_type", "ACTIVE_ONLY");
      json list = json::array();
      for (const auto& [id, r] : runs_) {
        const bool deleted = r.info["lifecycle_stage"] == "deleted";
        if ((view == "ACTIVE_ONLY" && deleted) || (view == "DELETED_ONLY" && !deleted)) continue;
        list.push_back(run_json_locked(id));
      }
      json out = json::object();
      if (!list.empty()) out["runs"] = list;
      reply(res, 200, out);
    });
    http_.Get(api + "metrics/get-history", [this, with_run](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      Run* r = with_run(req.get_param_value("run_id"), res);
      if (!r) return;
      json list = json::array();
      for (const auto& m : r->metrics)
        if (m["key"] == req.get_param_value("metric_key")) list.push_back(m);
      reply(res, 200, list.empty() ? json::object() : json{{"metrics", list}});
    });
    const std::string artifacts = "/api/2.0/mlflow-artifacts/artifacts";
    http_.Put(artifacts + "/(.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      artifacts_[req.matches[1]] = req.body;
      reply(res, 200, json::object());
    });
    http_.Get(artifacts + "/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      auto it = artifacts_.find(req.matches[1]);
      if (it == artifacts_.end()) return error(res, 404, "RESOURCE_DOES_NOT_EXIST", "File not found");
      res.set_content(it->second, "application/octet-stream");
    });
    http_.Get(artifacts, [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      const std::string dir = req.get_param_value("path") + "/";
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
      reply(res, 200, out);
    });
  }

  httplib::Server http_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;  // guards everything below
  std::vector<Request> requests_;
  std::map<std::string, std::string> experiments_ = {{"0", "Default"}};  // by id
  std::map<std::string, Run> runs_;
  std::map<std::string, std::string> artifacts_;  // by path below the artifact root
};

}  // namespace wattlab::testing
