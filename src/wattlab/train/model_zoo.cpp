// The zoo's catalogue: names, families and summaries, torch-free so that the
// commands which only validate --model or list the zoo need no LibTorch.
// models.cpp builds each of them (make_model).
#include "wattlab/train/models.h"

namespace wattlab {

const std::vector<ModelSpec>& model_zoo() {
  static const std::vector<ModelSpec> specs = {
      {"cnn", "CNN", "2 conv + 2 fully connected layers (the PyTorch MNIST example's shape)"},
      {"lenet5", "LeNet", "LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling"},
      {"resnet18", "ResNet", "ResNet-18 (He et al. 2016)"},
      {"resnet34", "ResNet", "ResNet-34 (He et al. 2016)"},
      {"resnet50", "ResNet", "ResNet-50 (He et al. 2016), bottleneck blocks"},
      {"mobilenet_v2", "MobileNetV2", "MobileNetV2 (Sandler et al. 2018)"},
      {"mobilenet_v3_small", "MobileNetV3", "MobileNetV3-Small (Howard et al. 2019)"},
      {"mobilenet_v3_large", "MobileNetV3", "MobileNetV3-Large (Howard et al. 2019)"},
      {"vgg11", "VGG", "VGG-11 (Simonyan & Zisserman 2015)"},
      {"vgg11_bn", "VGG", "VGG-11 with batch norm"},
      {"vgg16", "VGG", "VGG-16 (Simonyan & Zisserman 2015)"},
      {"vgg16_bn", "VGG", "VGG-16 with batch norm"},
      {"efficientnet_b0", "EfficientNet", "EfficientNet-B0 (Tan & Le 2019)"},
      {"densenet121", "DenseNet", "DenseNet-121 (Huang et al. 2017)"},
      {"squeezenet1_1", "SqueezeNet", "SqueezeNet 1.1 (Iandola et al. 2016)"},
  };
  return specs;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const ModelSpec& spec : model_zoo()) names.push_back(spec.name);
  return names;
}

Status check_model_name(const std::string& name) {
  std::string known;
  for (const std::string& n : model_names()) {
    if (n == name) return Status();
    known += (known.empty() ? "" : ", ") + n;
  }
  return Status::invalid_argument("--model: unknown model \"" + name + "\" (known: " + known + ")");
}

}  // namespace wattlab
