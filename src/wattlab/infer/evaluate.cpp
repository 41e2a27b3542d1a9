#include "wattlab/infer/evaluate.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/serialize/input-archive.h>

#include <chrono>
#include <filesystem>

#include "wattlab/train/batch_loader.h"
#include "wattlab/train/device.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {

namespace {

std::string shape_text(int64_t c, int64_t h, int64_t w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

Result<InferenceResult> evaluate(const std::string& dir, const ImageDataset& data, const InferenceOptions& options) {
  WATTLAB_RETURN_IF_ERROR(check_device(options.device));
  const torch::Device device(parse_device(options.device)->name());
  InferenceResult result;
  auto info = read_saved_model_info((std::filesystem::path(dir) / kModelInfoFile).string());
  if (!info.ok()) return info.status();
  result.model = *info;
  if (data.channels != info->channels || data.height != info->height || data.width != info->width) {
    return Status::invalid_argument("the model takes " + shape_text(info->channels, info->height, info->width) +
                                    " images, the data set has " + shape_text(data.channels, data.height, data.width) +
                                    " (resize with --resize, or give the data the model was trained on)");
  }
  if (data.num_classes > info->num_classes) {
    return Status::invalid_argument("the model knows " + std::to_string(info->num_classes) +
                                    " classes, the data set has " + std::to_string(data.num_classes));
  }
  if (data.count == 0) return Status::invalid_argument("the data set holds no images to evaluate");
  if (options.batch_size < 1 || options.threads < 1) {
    return Status::invalid_argument("batch size and threads must be at least 1");
  }

  ModelShape shape;
  shape.in_channels = info->channels;
  shape.height = info->height;
  shape.width = info->width;
  shape.num_classes = info->num_classes;
  shape.width_multiplier = info->width_multiplier;
  auto model = make_model(info->model, shape);
  if (!model.ok()) return model.status();
  const std::string weights = (std::filesystem::path(dir) / kModelFile).string();
  std::error_code ec;
  if (!std::filesystem::exists(weights, ec)) return Status::not_found("model weights " + weights + " do not exist");
  try {
    torch::serialize::InputArchive archive;
    (*model)->to(device);
    archive.load_from(weights, device);
    (*model)->load(archive);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return Status::corrupt("model weights " + weights + " cannot be read (" + what.substr(0, what.find('\n')) + ")");
  }

  const int previous_threads = at::get_num_threads();
  at::set_num_threads(options.threads);
  c10::InferenceMode inference;
  (*model)->eval();
  const int64_t classes = info->num_classes;
  LoaderOptions loading;
  loading.batch_size = options.batch_size;
  loading.mean = info->mean;
  loading.std = info->std;
  loading.prefetch_depth = options.prefetch;
  std::vector<int64_t> order(static_cast<size_t>(data.count));
  for (int64_t i = 0; i < data.count; ++i) order[i] = i;
  torch::Tensor confusion = torch::zeros({classes * classes}, torch::dtype(torch::kInt64).device(device));
  const auto start = std::chrono::steady_clock::now();
  {
    BatchLoader loader(data, std::move(order), loading);
    Batch batch;
    int64_t done = 0;
    while (loader.next(batch)) {
      const torch::Tensor images =
          torch::from_blob(batch.images.data(), {batch.count, data.channels, data.height, data.width}, torch::kFloat32)
              .to(device);
      const torch::Tensor labels = torch::from_blob(batch.labels.data(), {batch.count}, torch::kInt64).to(device);
      const torch::Tensor predicted = (*model)->forward(images).argmax(1);
      confusion += torch::bincount(labels * classes + predicted, {}, classes * classes);
      done += batch.count;
      if (options.on_progress) options.on_progress(done, data.count);
    }
  }
  confusion = confusion.to(torch::kCPU);  // on CUDA this also waits for the last batch
  result.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  at::set_num_threads(previous_threads);
  result.images = data.count;
  result.confusion.assign(confusion.data_ptr<int64_t>(), confusion.data_ptr<int64_t>() + confusion.numel());
  int64_t correct = 0;
  for (int64_t c = 0; c < classes; ++c) correct += result.confusion[c * classes + c];
  result.accuracy = static_cast<double>(correct) / static_cast<double>(data.count);
  result.images_per_s = result.duration_s > 0 ? static_cast<double>(data.count) / result.duration_s : 0;
  return result;
}

}  // namespace

Result<InferenceResult> evaluate_saved_model(const std::string& dir, const ImageDataset& data,
                                             const InferenceOptions& options) {
  try {
    return evaluate(dir, data, options);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return Status::internal("LibTorch failed while evaluating the model in " + dir + ": " +
                            what.substr(0, what.find('\n')));
  }
}

}  // namespace wattlab
