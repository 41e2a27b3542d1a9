#include "wattlab/cli/model_cost_cache.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/libtorch_binary.h"
#include "wattlab/core/env.h"
#include "wattlab/core/subprocess.h"

namespace wattlab::cli {

namespace {

constexpr const char* kCacheFile = "model_costs.tsv";

// The cached line's figures for `key`, if the cache has one of this version.
std::optional<PreModelCost> lookup(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string version, shape, parameters, macs;
    if (!std::getline(fields, version, '\t') || !std::getline(fields, shape, '\t') ||
        !std::getline(fields, parameters, '\t') || !std::getline(fields, macs)) {
      continue;
    }
    if (version != WATTLAB_VERSION || shape != key) continue;
    try {
      return PreModelCost{std::stoll(parameters), std::stoll(macs)};
    } catch (const std::exception&) {
      continue;  // a damaged line: counted again
    }
  }
  return std::nullopt;
}

// Appends the figures in one write, so that two processes filling the cache
// at once interleave whole lines.
void remember(const std::string& path, const std::string& key, const PreModelCost& cost) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  std::ofstream out(path, std::ios::app);
  out << (std::string(WATTLAB_VERSION) + "\t" + key + "\t" + std::to_string(cost.parameters) + "\t" +
          std::to_string(cost.macs_per_image) + "\n")
      << std::flush;
}

Result<PreModelCost> count(const PreModelShape& shape) {
  const std::string binary = libtorch_binary_path();
  if (binary.empty()) {
    return Status::unavailable("counting " + shape.model + "'s parameters and MACs needs LibTorch, and this build has "
                               "none — rebuild with -DWATTLAB_WITH_TORCH=ON (bash scripts/setup.sh does)");
  }
  char multiplier[32];
  std::snprintf(multiplier, sizeof multiplier, "%.17g", shape.width_multiplier);
  auto ran = run_and_capture({binary, "models", "info", shape.model, "--input",
                              std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
                                  std::to_string(shape.width),
                              "--classes", std::to_string(shape.num_classes), "--width-multiplier", multiplier,
                              "--format", "json"});
  if (!ran.ok()) return ran.status();
  if (ran->exit_code != 0) {
    // models info's own message ("wattlab: error: model ... cannot take ..."), without its prefix.
    std::string message = ran->stderr_text;
    if (message.rfind("wattlab: error: ", 0) == 0) message.erase(0, 16);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status::invalid_argument(message);
  }
  try {
    const auto json = nlohmann::json::parse(ran->stdout_text);
    return PreModelCost{json.at("params").get<int64_t>(), json.at("macs").get<int64_t>()};
  } catch (const nlohmann::json::exception& e) {
    return Status::internal(binary + " models info answered what is not its JSON: " + e.what());
  }
}

}  // namespace

Result<PreModelCost> cached_model_cost(const PreModelShape& shape) {
  const std::string path = user_cache_path(kCacheFile);
  const std::string key = shape.key();
  if (!path.empty()) {
    if (auto cached = lookup(path, key)) return *cached;
  }
  auto counted = count(shape);
  if (counted.ok() && !path.empty()) remember(path, key, *counted);
  return counted;
}

}  // namespace wattlab::cli
