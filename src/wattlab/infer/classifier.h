// A model `wattlab train` saved (train/saved_model.h), loaded once and kept
// for classifying images one call at a time: what an application embedding a
// trained model does. The API is free of LibTorch; only classifier.cpp
// includes it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wattlab/core/status.h"
#include "wattlab/train/saved_model.h"

namespace wattlab {

// LibTorch's intra-op threads for this process (at least 1); the previous count.
int set_inference_threads(int threads);

class SavedClassifier {
 public:
  // Loads the model in `path`: a folder holding model.json and model.pt, or
  // either file of such a folder. `device`: cpu, cuda or cuda:N (train/device.h).
  // Errors: NotFound naming the missing file; Corrupt for unreadable weights
  // or model.json; InvalidArgument for a device that does not exist.
  static Result<std::unique_ptr<SavedClassifier>> load(const std::string& path, const std::string& device = "cpu");
  ~SavedClassifier();
  SavedClassifier(const SavedClassifier&) = delete;
  SavedClassifier& operator=(const SavedClassifier&) = delete;

  const SavedModelInfo& info() const;
  const std::string& directory() const;  // the model's folder
  int64_t image_bytes() const;           // channels x height x width of one input image

  // Classifies `count` images of image_bytes() bytes each (pixels 0-255,
  // channel planes in each image, as ImageDataset holds them), normalised with
  // the model's mean and std, in inference mode on the model's device.
  // Writes count x num_classes softmax probabilities to `probabilities`.
  // Internal for a LibTorch failure; InvalidArgument for count < 1.
  Status predict(const uint8_t* images, int64_t count, float* probabilities);

 private:
  struct Impl;
  explicit SavedClassifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wattlab
