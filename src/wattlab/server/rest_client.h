// RestClient: JSON calls to a tracking server — MLflow's REST API
// (/api/2.0/mlflow/...), wattlab's own endpoints (/api/2.0/wattlab/...) and
// MLflow's artifact proxy (/api/2.0/mlflow-artifacts/...) — shared by the
// run logger (RestRunLogger), the run catalog (RestRunCatalog) and the
// artifact transfers (remote_artifacts.h). HTTP itself goes through
// HttpClient.
//
// Errors: the server's MLflow error codes come back as Status codes
// (INVALID_PARAMETER_VALUE / BAD_REQUEST -> InvalidArgument,
// RESOURCE_DOES_NOT_EXIST -> NotFound, RESOURCE_ALREADY_EXISTS ->
// AlreadyExists, UNAUTHENTICATED / PERMISSION_DENIED -> PermissionDenied
// naming WATTLAB_TOKEN, HTTP 503 -> Unavailable, anything else Internal); an
// endpoint the server does not have is Unavailable naming it; an unreachable
// server is Unavailable naming the URI and the fix.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wattlab/core/status.h"
#include "wattlab/server/http_client.h"

namespace wattlab {

// What a tracking server speaks.
enum class ServerKind {
  kWattlab,  // `wattlab server`: MLflow's API plus wattlab's own endpoints
  kMlflow,   // MLflow's API only (`mlflow server`): wattlab's facts must go through MLflow's
};

// One entry of an artifact folder.
struct RemoteArtifact {
  std::string path;  // relative to the folder listed
  bool is_dir = false;
  int64_t size_bytes = 0;  // 0 for folders
};

class RestClient {
 public:
  // As HttpClient::connect.
  static Result<std::unique_ptr<RestClient>> connect(const std::string& uri, const std::string& token = "");

  const std::string& uri() const { return http_->uri(); }
  // OK when the server answers GET /health; PermissionDenied when it wants a
  // token; Unavailable naming the URI otherwise.
  Status check_reachable();
  // Asked once (one request), then remembered: kWattlab when the server
  // answers wattlab's endpoints, kMlflow when they are missing (MLflow's
  // Flask answers an unknown path with an HTML 404). Errors as for a call.
  Result<ServerKind> server_kind();

  // GET /api/2.0/<path>?<query>.
  Result<nlohmann::json> get(const std::string& path, const std::map<std::string, std::string>& query = {});
  // POST /api/2.0/<path> with a JSON body.
  Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body);

  // Artifacts of a run whose artifact URI is on the server's artifact proxy
  // ("mlflow-artifacts:/<path>" or "mlflow-artifacts://host:port/<path>");
  // `relative_path` is below that folder, '/'-separated. Unavailable, naming
  // the URI, for an artifact URI the proxy does not serve (a local path, s3://...).
  Status upload_file(const std::string& artifact_uri, const std::string& relative_path,
                     const std::string& local_path);
  Status upload_bytes(const std::string& artifact_uri, const std::string& relative_path, const std::string& bytes);
  // Writes the artifact to `local_path` (replacing it only once complete).
  // NotFound when the server has no such artifact.
  Status download_file(const std::string& artifact_uri, const std::string& relative_path,
                       const std::string& local_path);
  // A small artifact's contents (held whole in memory). NotFound as above.
  Result<std::string> download_bytes(const std::string& artifact_uri, const std::string& relative_path);
  // The entries of a folder (empty when it has none or does not exist).
  Result<std::vector<RemoteArtifact>> list_artifacts(const std::string& artifact_uri, const std::string& relative_dir);

 private:
  explicit RestClient(std::unique_ptr<HttpClient> http) : http_(std::move(http)) {}
  // A request that got no answer: Unavailable naming the URI, the cause
  // (`transport`, HttpClient's) and the fix.
  Status unreachable(const Status& transport) const;
  // The response's JSON, or the Status of its error (`what` names the call).
  Result<nlohmann::json> reply_json(const HttpResponse& response, const std::string& what);

  std::unique_ptr<HttpClient> http_;
  std::mutex kind_mu_;                    // guards kind_
  std::optional<ServerKind> kind_;        // once asked
};

// `json[key]` when `json` is an object that has it, else an empty object:
// for reading servers' answers without throwing on a missing field.
const nlohmann::json& json_member(const nlohmann::json& json, const char* key);
// `json[key]` as an int64: a JSON integer or a string of one (protobuf's
// JSON mapping); `fallback` when missing or of another kind.
int64_t json_int64(const nlohmann::json& json, const char* key, int64_t fallback = 0);
// `json[key]` as a string; `fallback` when missing or not a string.
std::string json_string(const nlohmann::json& json, const char* key, const std::string& fallback = "");

// The proxy path of an artifact URI ("mlflow-artifacts:/0/r/artifacts" ->
// "0/r/artifacts"); nullopt when the URI is not on an artifact proxy.
std::optional<std::string> artifact_proxy_path(const std::string& artifact_uri);

}  // namespace wattlab
