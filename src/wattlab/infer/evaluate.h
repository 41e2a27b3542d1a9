// Inference with a model `wattlab train` saved (train/saved_model.h): rebuild
// it from the zoo, load its weights and measure it on a data set. The API is
// free of LibTorch; only evaluate.cpp includes it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/train/image_dataset.h"
#include "wattlab/train/saved_model.h"

namespace wattlab {

struct InferenceOptions {
  int64_t batch_size = 512;  // images per forward pass
  int threads = 1;           // LibTorch intra-op threads during the call
  int prefetch = 2;          // batches prepared ahead on a worker thread
  std::string device = "cpu";  // cpu, cuda or cuda:N (train/device.h): where the model runs
  // Called after each batch with the images classified so far and in all,
  // on the calling thread; may be empty.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct InferenceResult {
  SavedModelInfo model;            // model.json
  int64_t images = 0;              // images evaluated
  double accuracy = 0;             // share classified correctly, [0, 1]
  double duration_s = 0;           // wall time of the pass (batches, forward, argmax)
  double images_per_s = 0;
  std::vector<int64_t> confusion;  // num_classes x num_classes, row = true class
};

// Loads DIR/model.json and DIR/model.pt and classifies every image of `data`
// (normalised with the model's mean and std, never augmented) in inference
// mode on options.device (model.pt holds CPU tensors, so a model trained on
// any device loads on any other). Errors: InvalidArgument for a device that
// does not exist (check_device); those of read_saved_model_info; NotFound /
// Corrupt naming model.pt; InvalidArgument when the images' shape or class
// count differs from the model's (the message names both and suggests
// --resize); Internal for a LibTorch failure.
Result<InferenceResult> evaluate_saved_model(const std::string& dir, const ImageDataset& data,
                                             const InferenceOptions& options);

}  // namespace wattlab
