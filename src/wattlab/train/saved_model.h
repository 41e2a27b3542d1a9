// A trained model as `wattlab train` leaves it in the run's artifact folder:
// model.pt (the module's parameters and buffers, a torch::save archive) and
// model.json beside it, which says how to rebuild the module and feed it.
// This header and saved_model.cpp are torch-free; the trainer writes
// model.pt and infer/ reads it back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

inline constexpr const char* kModelFile = "model.pt";
inline constexpr const char* kModelInfoFile = "model.json";

struct SavedModelInfo {
  std::string model;              // zoo name (models.h), e.g. "resnet18"
  double width_multiplier = 1.0;
  int64_t channels = 0;           // input images: channels x height x width
  int64_t height = 0;
  int64_t width = 0;
  int64_t num_classes = 0;
  std::vector<double> mean;       // per-channel normalisation of pixels in [0, 1] the model was trained with
  std::vector<double> std;
  int epochs = 0;                 // epochs trained
  double accuracy = 0;            // test accuracy after the last epoch
  std::string libtorch_version;   // of the trainer that wrote model.pt
};

// model.json's text.
std::string to_json(const SavedModelInfo& info);

// Reads a model.json. NotFound when `path` does not exist; Corrupt naming the
// file and the field when it is not valid JSON or a field is missing or wrong.
Result<SavedModelInfo> read_saved_model_info(const std::string& path);

}  // namespace wattlab
