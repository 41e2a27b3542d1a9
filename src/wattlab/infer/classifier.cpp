#include "wattlab/infer/classifier.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/serialize/input-archive.h>

#include <filesystem>

#include "wattlab/train/device.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {

namespace {
std::string first_line(const c10::Error& e) {
  std::string what = e.what_without_backtrace();
  return what.substr(0, what.find('\n'));
}
}  // namespace

int set_inference_threads(int threads) {
  const int previous = at::get_num_threads();
  at::set_num_threads(std::max(threads, 1));
  return previous;
}

struct SavedClassifier::Impl {
  SavedModelInfo info;
  std::string dir;
  std::shared_ptr<ClassifierImpl> model;
  torch::Device device{torch::kCPU};
  torch::Tensor mean;  // [1, C, 1, 1] on the device
  torch::Tensor std;
};

SavedClassifier::SavedClassifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SavedClassifier::~SavedClassifier() = default;

const SavedModelInfo& SavedClassifier::info() const { return impl_->info; }
const std::string& SavedClassifier::directory() const { return impl_->dir; }
int64_t SavedClassifier::image_bytes() const { return impl_->info.channels * impl_->info.height * impl_->info.width; }

Result<std::unique_ptr<SavedClassifier>> SavedClassifier::load(const std::string& path, const std::string& device) {
  WATTLAB_RETURN_IF_ERROR(check_device(device));
  std::error_code ec;
  std::filesystem::path dir(path);
  if (!std::filesystem::is_directory(dir, ec)) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  auto impl = std::make_unique<Impl>();
  impl->dir = dir.string();
  auto info = read_saved_model_info((dir / kModelInfoFile).string());
  if (!info.ok()) return info.status();
  impl->info = *info;
  if (info->mean.size() != static_cast<size_t>(info->channels) || info->std.size() != static_cast<size_t>(info->channels))
    return Status::corrupt((dir / kModelInfoFile).string() + ": mean and std need one value per input channel");
  ModelShape shape;
  shape.in_channels = info->channels;
  shape.height = info->height;
  shape.width = info->width;
  shape.num_classes = info->num_classes;
  shape.width_multiplier = info->width_multiplier;
  auto model = make_model(info->model, shape);
  if (!model.ok()) return model.status();
  impl->model = *model;
  const std::string weights = (dir / kModelFile).string();
  if (!std::filesystem::exists(weights, ec)) return Status::not_found("model weights " + weights + " do not exist");
  try {
    impl->device = torch::Device(parse_device(device)->name());
    torch::serialize::InputArchive archive;
    impl->model->to(impl->device);
    archive.load_from(weights, impl->device);
    impl->model->load(archive);
    impl->model->eval();
    std::vector<float> mean(info->mean.begin(), info->mean.end()), std(info->std.begin(), info->std.end());
    impl->mean = torch::tensor(mean).view({1, -1, 1, 1}).to(impl->device);
    impl->std = torch::tensor(std).view({1, -1, 1, 1}).to(impl->device);
  } catch (const c10::Error& e) {
    return Status::corrupt("model weights " + weights + " cannot be read (" + first_line(e) + ")");
  }
  return std::unique_ptr<SavedClassifier>(new SavedClassifier(std::move(impl)));
}

Status SavedClassifier::predict(const uint8_t* images, int64_t count, float* probabilities) {
  if (count < 1) return Status::invalid_argument("predict needs at least one image");
  const SavedModelInfo& info = impl_->info;
  try {
    c10::InferenceMode inference;
    torch::Tensor x = torch::from_blob(const_cast<uint8_t*>(images), {count, info.channels, info.height, info.width},
                                       torch::kUInt8)
                          .to(impl_->device)
                          .to(torch::kFloat32)
                          .div_(255)
                          .sub_(impl_->mean)
                          .div_(impl_->std);
    torch::Tensor p = impl_->model->forward(x).softmax(1).to(torch::kCPU).contiguous();
    std::memcpy(probabilities, p.data_ptr<float>(), sizeof(float) * count * info.num_classes);
  } catch (const c10::Error& e) {
    return Status::internal("LibTorch failed while classifying with the model in " + impl_->dir + ": " + first_line(e));
  }
  return Status();
}

}  // namespace wattlab
