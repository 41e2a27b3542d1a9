// make_model's dispatch from the zoo's names (model_zoo.cpp) to the
// families in models/<family>.cpp.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/nn/functional/loss.h>
#include <torch/version.h>

#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>

#include "wattlab/train/models.h"
#include "wattlab/train/models/kernel_session.h"
#include "wattlab/train/models/layers.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

using Factory = std::function<std::shared_ptr<ClassifierImpl>(const ModelShape&)>;

// How each model of model_zoo() (model_zoo.cpp) is built, by name.
const std::map<std::string, Factory>& factories() {
  using namespace zoo;
  static const std::map<std::string, Factory> by_name = {
      {"cnn", make_small_cnn},
      {"lenet5", make_lenet5},
      {"resnet18", [](const ModelShape& s) { return make_resnet(18, s); }},
      {"resnet34", [](const ModelShape& s) { return make_resnet(34, s); }},
      {"resnet50", [](const ModelShape& s) { return make_resnet(50, s); }},
      {"mobilenet_v2", make_mobilenet_v2},
      {"mobilenet_v3_small", [](const ModelShape& s) { return make_mobilenet_v3(false, s); }},
      {"mobilenet_v3_large", [](const ModelShape& s) { return make_mobilenet_v3(true, s); }},
      {"vgg11", [](const ModelShape& s) { return make_vgg(11, false, s); }},
      {"vgg11_bn", [](const ModelShape& s) { return make_vgg(11, true, s); }},
      {"vgg16", [](const ModelShape& s) { return make_vgg(16, false, s); }},
      {"vgg16_bn", [](const ModelShape& s) { return make_vgg(16, true, s); }},
      {"efficientnet_b0", make_efficientnet_b0},
      {"densenet121", make_densenet121},
      {"squeezenet1_1", make_squeezenet1_1},
  };
  return by_name;
}

std::string shape_text(const ModelShape& s) {
  return std::to_string(s.in_channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

}  // namespace

Result<std::shared_ptr<ClassifierImpl>> make_model(const std::string& name, const ModelShape& shape) {
  WATTLAB_RETURN_IF_ERROR(check_model_name(name));
  if (shape.in_channels < 1 || shape.height < 1 || shape.width < 1 || shape.num_classes < 1) {
    return Status::invalid_argument("model " + name + ": cannot take " + shape_text(shape) + " images into " +
                                    std::to_string(shape.num_classes) + " classes");
  }
  if (!(shape.width_multiplier > 0) || !std::isfinite(shape.width_multiplier)) {
    return Status::invalid_argument("--width-multiplier must be positive (got " +
                                    std::to_string(shape.width_multiplier) + ")");
  }
  const auto factory = factories().find(name);
  if (factory == factories().end()) return Status::internal("model " + name + " is in the zoo but has no builder");
  try {
    return factory->second(shape);
  } catch (const std::invalid_argument& e) {
    return Status::invalid_argument("model " + name + " cannot take " + shape_text(shape) + " images: " + e.what() +
                                    " (use images of at least 28x28)");
  } catch (const c10::Error& e) {
    return Status::internal("building model " + name + ": " + e.what_without_backtrace());
  }
}

Result<ModelCost> model_cost(const std::string& name, const ModelShape& shape) {
  Result<std::shared_ptr<ClassifierImpl>> model = make_model(name, shape);
  if (!model.ok()) return model.status();
  ModelCost cost;
  cost.parameters = parameter_count(**model);
  cost.macs_per_image = (*model)->macs_per_image();
  return cost;
}

Result<std::vector<LayerKernel>> model_kernels(const std::string& name, const ModelShape& shape, int64_t batch_size,
                                               int threads, const std::string& mode) {
  Result<KernelMode> kernel_mode = parse_kernel_mode(mode);
  if (!kernel_mode.ok()) return kernel_mode.status();
  if (batch_size < 1) return Status::invalid_argument("--batch-size must be at least 1 (got " + std::to_string(batch_size) + ")");
  if (threads < 1) return Status::invalid_argument("--threads must be at least 1 (got " + std::to_string(threads) + ")");
  Result<std::shared_ptr<ClassifierImpl>> model = make_model(name, shape);
  if (!model.ok()) return model.status();
  zoo::reuse_freed_memory();  // as training does: measure in its steady state
  const int previous_threads = at::get_num_threads();
  at::set_num_threads(threads);
  KernelChooserOptions options;
  options.mode = *kernel_mode;
  options.clock_s = zoo::kernel_clock_s;
  options.cache_path = default_kernel_cache_path();
  options.cache_scope = kernel_cache_scope(threads, TORCH_VERSION);
  KernelChooser chooser(options);
  try {
    zoo::KernelSession session(chooser);
    zoo::name_kernel_layers(**model);
    // One training step on random images, as the trainer's would run.
    at::Generator generator = at::detail::createCPUGenerator(42);
    const torch::Tensor images =
        torch::randn({batch_size, shape.in_channels, shape.height, shape.width}, generator, torch::kFloat);
    const torch::Tensor labels = torch::randint(shape.num_classes, {batch_size}, generator, torch::kLong);
    (*model)->train();
    torch::nn::functional::cross_entropy((*model)->forward(images), labels).backward();
  } catch (const c10::Error& e) {
    at::set_num_threads(previous_threads);
    return Status::internal("measuring the kernels of " + name + ": " + e.what_without_backtrace());
  }
  at::set_num_threads(previous_threads);
  (void)chooser.save_cache();  // best effort, as in training
  return chooser.layers();
}

int64_t parameter_count(const torch::nn::Module& model) {
  int64_t count = 0;
  for (const torch::Tensor& p : model.parameters()) count += p.numel();
  return count;
}

}  // namespace wattlab
