#include "wattlab/track/entities.h"

#include <array>

namespace wattlab {

Status validate_entity_key(const std::string& kind, const std::string& key) {
  constexpr size_t kMaxKeyLength = 250;
  if (key.empty()) return Status::invalid_argument(kind + " name is empty");
  if (key.size() > kMaxKeyLength) {
    return Status::invalid_argument(kind + " name '" + key.substr(0, 40) + "...' is longer than " +
                                    std::to_string(kMaxKeyLength) + " characters");
  }
  // A table, not isalnum(): every logged point is checked, and this does not
  // depend on the locale.
  static constexpr auto kAllowed = [] {
    std::array<bool, 256> allowed{};
    for (int c = 0; c < 256; ++c) {
      allowed[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                   c == '-' || c == '.' || c == ' ' || c == '/' || c == ':';
    }
    return allowed;
  }();
  for (char c : key) {
    if (!kAllowed[static_cast<unsigned char>(c)]) {
      return Status::invalid_argument(kind + " name '" + key + "' may contain only letters, digits and _ - . space / :");
    }
  }
  // Names may become file paths (MLflow's rule): each must be the one path
  // it names, inside its folder.
  const bool bad_path = key.front() == '/' || key.back() == '/' || key.find("//") != std::string::npos ||
                        key == "." || key == ".." || key.rfind("./", 0) == 0 || key.rfind("../", 0) == 0 ||
                        key.find("/./") != std::string::npos || key.find("/../") != std::string::npos ||
                        (key.size() >= 2 && key.compare(key.size() - 2, 2, "/.") == 0) ||
                        (key.size() >= 3 && key.compare(key.size() - 3, 3, "/..") == 0);
  if (bad_path) {
    return Status::invalid_argument(kind + " name '" + key +
                                    "' is not a plain path: names may be treated as files, so they may not start or "
                                    "end with '/', hold '//', or have a '.' or '..' component");
  }
  return Status();
}

Status validate_experiment_name(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("experiment name is empty");
  if (name.size() > kMaxExperimentNameLength) {
    return Status::invalid_argument("experiment name '" + name.substr(0, 40) + "...' is " +
                                    std::to_string(name.size()) + " bytes; names may be at most " +
                                    std::to_string(kMaxExperimentNameLength));
  }
  return Status();
}

Status validate_param_value(const std::string& key, const std::string& value) {
  if (value.size() > kMaxParamValueLength) {
    return Status::invalid_argument("value of param '" + key + "' is " + std::to_string(value.size()) +
                                    " bytes; params may be at most " + std::to_string(kMaxParamValueLength));
  }
  return Status();
}

Status validate_tag_value(const std::string& key, const std::string& value) {
  if (value.size() > kMaxTagValueLength) {
    return Status::invalid_argument("value of tag '" + key + "' is " + std::to_string(value.size()) +
                                    " bytes; tags may be at most " + std::to_string(kMaxTagValueLength));
  }
  return Status();
}

Status validate_batch_size(size_t metrics, size_t params, size_t tags) {
  auto too_many = [](size_t n, size_t limit, const char* what) {
    return Status::invalid_argument("a batch logging request can contain at most " + std::to_string(limit) + " " +
                                    what + "; got " + std::to_string(n));
  };
  if (metrics > kMaxMetricsPerBatch) return too_many(metrics, kMaxMetricsPerBatch, "metrics");
  if (params > kMaxParamsTagsPerBatch) return too_many(params, kMaxParamsTagsPerBatch, "params");
  if (tags > kMaxParamsTagsPerBatch) return too_many(tags, kMaxParamsTagsPerBatch, "tags");
  if (metrics + params + tags > kMaxEntitiesPerBatch)
    return too_many(metrics + params + tags, kMaxEntitiesPerBatch, "metrics, params and tags in total");
  return Status();
}

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "RUNNING";
    case RunStatus::kScheduled: return "SCHEDULED";
    case RunStatus::kFinished: return "FINISHED";
    case RunStatus::kFailed: return "FAILED";
    case RunStatus::kKilled: return "KILLED";
  }
  return "UNKNOWN";
}

Result<RunStatus> parse_run_status(const std::string& text) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kScheduled, RunStatus::kFinished, RunStatus::kFailed,
                      RunStatus::kKilled}) {
    if (text == run_status_name(s)) return s;
  }
  return Status::invalid_argument("run status '" + text +
                                  "' is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED");
}

}  // namespace wattlab
