#include "wattlab/train/saved_model.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace wattlab {

std::string to_json(const SavedModelInfo& info) {
  nlohmann::json j = {{"model", info.model},
                      {"width_multiplier", info.width_multiplier},
                      {"input_shape", {info.channels, info.height, info.width}},
                      {"num_classes", info.num_classes},
                      {"mean", info.mean},
                      {"std", info.std},
                      {"epochs", info.epochs},
                      {"accuracy", info.accuracy},
                      {"libtorch_version", info.libtorch_version}};
  return j.dump(2) + "\n";
}

Result<SavedModelInfo> read_saved_model_info(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::not_found("model description " + path + " does not exist");
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::corrupt(path + " is not a JSON object");
  SavedModelInfo info;
  std::string field;
  try {
    field = "model";
    info.model = j.at(field).get<std::string>();
    field = "width_multiplier";
    info.width_multiplier = j.at(field).get<double>();
    field = "input_shape";
    const auto shape = j.at(field).get<std::vector<int64_t>>();
    if (shape.size() != 3) return Status::corrupt(path + ": input_shape must be [channels, height, width]");
    info.channels = shape[0];
    info.height = shape[1];
    info.width = shape[2];
    field = "num_classes";
    info.num_classes = j.at(field).get<int64_t>();
    field = "mean";
    info.mean = j.at(field).get<std::vector<double>>();
    field = "std";
    info.std = j.at(field).get<std::vector<double>>();
    field = "epochs";
    info.epochs = j.at(field).get<int>();
    field = "accuracy";
    info.accuracy = j.at(field).get<double>();
    field = "libtorch_version";
    info.libtorch_version = j.at(field).get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(path + ": field \"" + field + "\" is missing or of the wrong type");
  }
  if (info.channels < 1 || info.height < 1 || info.width < 1 || info.num_classes < 1 ||
      static_cast<int64_t>(info.mean.size()) != info.channels || info.std.size() != info.mean.size()) {
    return Status::corrupt(path + ": input_shape, num_classes, mean and std do not fit together");
  }
  return info;
}

}  // namespace wattlab
