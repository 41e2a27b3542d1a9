// The model zoo's names, without LibTorch, so that the CLI can validate
// --model and list the choices. The models themselves are in models_torch.h.
#pragma once

#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// Names accepted by train_model (TrainConfig::model), in display order:
// "cnn" (2 conv + 2 fully connected layers), "mobilenet_v2".
std::vector<std::string> model_names();

// OK if `name` is one of model_names(); otherwise InvalidArgument naming
// --model and listing the known names.
Status check_model_name(const std::string& name);

}  // namespace wattlab
