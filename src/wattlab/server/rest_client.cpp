#include "wattlab/server/rest_client.h"

#include <cstdlib>

namespace wattlab {

using json = nlohmann::json;

namespace {

constexpr const char* kArtifactsPath = "/api/2.0/mlflow-artifacts/artifacts";

Status status_of_error(const json& body, int http_status, const std::string& what) {
  std::string code = json_string(body, "error_code");
  std::string message = json_string(body, "message");
  if (message.empty()) message = what + ": HTTP " + std::to_string(http_status);
  if (code == "INVALID_PARAMETER_VALUE" || code == "BAD_REQUEST") return Status::invalid_argument(message);
  if (code == "RESOURCE_DOES_NOT_EXIST") return Status::not_found(message);
  if (code == "RESOURCE_ALREADY_EXISTS") return Status::already_exists(message);
  if (code == "UNAUTHENTICATED" || code == "PERMISSION_DENIED" || http_status == 401) {
    return Status::permission_denied(message + " (set WATTLAB_TOKEN to the server's token)");
  }
  if (http_status == 503) return Status::unavailable(message);
  return Status::internal(message);
}

}  // namespace

const json& json_member(const json& j, const char* key) {
  static const json kEmpty = json::object();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  return it == j.end() ? kEmpty : *it;
}

int64_t json_int64(const json& j, const char* key, int64_t fallback) {
  const json& v = j.is_object() && j.contains(key) ? j[key] : json();
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end == text.c_str() + text.size()) return n;
  }
  return fallback;
}

std::string json_string(const json& j, const char* key, const std::string& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::optional<std::string> artifact_proxy_path(const std::string& artifact_uri) {
  const std::string scheme = "mlflow-artifacts:";
  if (artifact_uri.rfind(scheme, 0) != 0) return std::nullopt;
  std::string rest = artifact_uri.substr(scheme.size());
  if (rest.rfind("//", 0) == 0) {  // mlflow-artifacts://host:port/path: the host is the tracking server
    const size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

Result<std::unique_ptr<RestClient>> RestClient::connect(const std::string& uri, const std::string& token) {
  auto http = HttpClient::connect(uri, token);
  if (!http.ok()) return http.status();
  return std::unique_ptr<RestClient>(new RestClient(std::move(*http)));
}

Status RestClient::unreachable(const Status& transport) const {
  return Status::unavailable("cannot reach the tracking server at " + uri() + " (" + transport.message() +
                             ") — is the server running there?");
}

Result<json> RestClient::reply_json(const HttpResponse& response, const std::string& what) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (response.status == 200) {
    if (response.body.empty()) return json::object();
    if (body.is_discarded()) return Status::internal(what + ": the answer of " + uri() + " is not JSON");
    return body;
  }
  // MLflow's Flask answers a path it does not route with an HTML page.
  if (response.status == 404 && (body.is_discarded() || json_string(body, "error_code") == "ENDPOINT_NOT_FOUND")) {
    return Status::unavailable("the server at " + uri() + " has no endpoint " + what);
  }
  return status_of_error(body.is_discarded() ? json() : body, response.status, what);
}

Status RestClient::check_reachable() {
  auto res = http_->get("/health");
  if (!res.ok()) return unreachable(res.status());
  if (res->status == 200) return Status();
  if (res->status == 401) {
    return Status::permission_denied("the tracking server at " + uri() + " wants a token: set WATTLAB_TOKEN");
  }
  return Status::unavailable("the tracking server at " + uri() + " answers /health with HTTP " +
                             std::to_string(res->status) + " — is it a wattlab or MLflow server?");
}

Result<ServerKind> RestClient::server_kind() {
  std::lock_guard lock(kind_mu_);
  if (kind_) return *kind_;
  // A run id no server has: wattlab answers RESOURCE_DOES_NOT_EXIST; MLflow
  // has no such endpoint (its Flask answers an HTML 404).
  auto res = http_->get("/api/2.0/wattlab/runs/environment?" + query_string({{"run_id", std::string(32, '0')}}));
  if (!res.ok()) return unreachable(res.status());
  const json body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status == 200 || json_string(body, "error_code") == "RESOURCE_DOES_NOT_EXIST") {
    kind_ = ServerKind::kWattlab;
  } else if (res->status == 404) {
    kind_ = ServerKind::kMlflow;
  } else {
    return reply_json(*res, "/api/2.0/wattlab/runs/environment").status();
  }
  return *kind_;
}

Result<json> RestClient::get(const std::string& path, const std::map<std::string, std::string>& query) {
  std::string target = "/api/2.0/" + path;
  if (!query.empty()) target += "?" + query_string(query);
  auto res = http_->get(target);
  if (!res.ok()) return unreachable(res.status());
  return reply_json(*res, "/api/2.0/" + path);
}

Result<json> RestClient::post(const std::string& path, const json& body) {
  const std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
  auto res = http_->post("/api/2.0/" + path, text, "application/json");
  if (!res.ok()) return unreachable(res.status());
  return reply_json(*res, "/api/2.0/" + path);
}

namespace {

// The proxy target of an artifact, or Unavailable naming the URI.
Result<std::string> artifact_target(const std::string& artifact_uri, const std::string& relative_path) {
  auto root = artifact_proxy_path(artifact_uri);
  if (!root) {
    return Status::unavailable("the run's artifact location \"" + artifact_uri +
                               "\" is not on the tracking server's artifact proxy (mlflow-artifacts:/), so its "
                               "files cannot be sent or fetched through the server");
  }
  std::string path = *root;
  if (!relative_path.empty()) path += (path.empty() ? "" : "/") + relative_path;
  return std::string(kArtifactsPath) + "/" + percent_encode(path, /*keep_slashes=*/true);
}

}  // namespace

Status RestClient::upload_file(const std::string& artifact_uri, const std::string& relative_path,
                               const std::string& local_path) {
  auto target = artifact_target(artifact_uri, relative_path);
  if (!target.ok()) return target.status();
  auto res = http_->put_file(*target, local_path);
  if (!res.ok()) return res.status();
  return reply_json(*res, "upload of " + relative_path).status();
}

Status RestClient::upload_bytes(const std::string& artifact_uri, const std::string& relative_path,
                                const std::string& bytes) {
  auto target = artifact_target(artifact_uri, relative_path);
  if (!target.ok()) return target.status();
  auto res = http_->put(*target, bytes, "application/octet-stream");
  if (!res.ok()) return unreachable(res.status());
  return reply_json(*res, "upload of " + relative_path).status();
}

Status RestClient::download_file(const std::string& artifact_uri, const std::string& relative_path,
                                 const std::string& local_path) {
  auto target = artifact_target(artifact_uri, relative_path);
  if (!target.ok()) return target.status();
  auto res = http_->get_to_file(*target, local_path);
  if (!res.ok()) return res.status();
  if (res->status == 200) return Status();
  Status failed = reply_json(*res, "artifact " + relative_path).status();
  // A missing file is a plain 404 on both servers.
  if (res->status == 404) return Status::not_found("the run has no artifact " + relative_path + " on " + uri());
  return failed;
}

Result<std::string> RestClient::download_bytes(const std::string& artifact_uri, const std::string& relative_path) {
  auto target = artifact_target(artifact_uri, relative_path);
  if (!target.ok()) return target.status();
  auto res = http_->get(*target);
  if (!res.ok()) return unreachable(res.status());
  if (res->status == 200) return std::move(res->body);
  Status failed = reply_json(*res, "artifact " + relative_path).status();
  if (res->status == 404) return Status::not_found("the run has no artifact " + relative_path + " on " + uri());
  return failed;
}

Result<std::vector<RemoteArtifact>> RestClient::list_artifacts(const std::string& artifact_uri,
                                                               const std::string& relative_dir) {
  auto root = artifact_proxy_path(artifact_uri);
  if (!root) return artifact_target(artifact_uri, relative_dir).status();
  std::string path = *root;
  if (!relative_dir.empty()) path += (path.empty() ? "" : "/") + relative_dir;
  auto res = http_->get(std::string(kArtifactsPath) + "?" + query_string({{"path", path}}));
  if (!res.ok()) return unreachable(res.status());
  auto body = reply_json(*res, "artifact list of " + path);
  if (!body.ok()) {
    if (body.status().code() == Status::Code::kNotFound) return std::vector<RemoteArtifact>{};
    return body.status();
  }
  std::vector<RemoteArtifact> out;
  if (!body->contains("files") || !(*body)["files"].is_array()) return out;
  for (const json& f : (*body)["files"]) {
    RemoteArtifact a;
    a.path = json_string(f, "path");
    a.is_dir = json_member(f, "is_dir") == json(true);
    a.size_bytes = json_int64(f, "file_size");
    if (!a.path.empty()) out.push_back(std::move(a));
  }
  return out;
}

}  // namespace wattlab
