// The model zoo: names, forward and backward of every model at several input
// shapes, the adaptation rule, and parameter/MAC counts against the published
// figures.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/function.h>
#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <vector>

#include "wattlab/train/models.h"
#include "wattlab/train/models/kernel_testing.h"
#include "wattlab/train/models/layers.h"
#include "wattlab/train/models_torch.h"

namespace wattlab {
namespace {

const std::vector<std::string> kZoo = {"cnn",           "lenet5",           "resnet18",           "resnet34",
                                       "resnet50",      "mobilenet_v2",     "mobilenet_v3_small", "mobilenet_v3_large",
                                       "vgg11",         "vgg11_bn",         "vgg16",              "vgg16_bn",
                                       "efficientnet_b0", "densenet121",    "squeezenet1_1"};

ModelShape shape_of(int64_t channels, int64_t height, int64_t width, int64_t classes, double width_multiplier = 1.0) {
  ModelShape s;
  s.in_channels = channels;
  s.height = height;
  s.width = width;
  s.num_classes = classes;
  s.width_multiplier = width_multiplier;
  return s;
}

TEST(ModelsTest, NamesAreKnownAndUnknownOnesListThem) {
  EXPECT_EQ(model_names(), kZoo);
  ASSERT_EQ(model_zoo().size(), kZoo.size());
  EXPECT_EQ(model_zoo()[4].family, "ResNet");
  for (const ModelSpec& spec : model_zoo()) {
    EXPECT_FALSE(spec.family.empty()) << spec.name;
    EXPECT_FALSE(spec.summary.empty()) << spec.name;
  }
  EXPECT_TRUE(check_model_name("mobilenet_v2").ok());
  Status s = check_model_name("resnet9000");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("--model: unknown model \"resnet9000\" (known: cnn, lenet5, resnet18, ", 0), 0u)
      << s.message();
  EXPECT_NE(s.message().find("densenet121, squeezenet1_1)"), std::string::npos) << s.message();
  EXPECT_EQ(make_model("vgg", ModelShape{}).status().code(), Status::Code::kInvalidArgument);
}

TEST(ModelsTest, ImpossibleShapesAreInvalidArguments) {
  EXPECT_EQ(make_model("resnet18", shape_of(0, 28, 28, 10)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(make_model("resnet18", shape_of(1, 28, 28, 0)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(make_model("resnet18", shape_of(1, 28, 28, 10, 0.0)).status().code(), Status::Code::kInvalidArgument);
  // SqueezeNet's stem is an unpadded 3x3 conv: a 2x2 image cannot pass it.
  Result<std::shared_ptr<ClassifierImpl>> tiny = make_model("squeezenet1_1", shape_of(1, 2, 2, 10));
  EXPECT_EQ(tiny.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(tiny.status().message().find("at least 28x28"), std::string::npos) << tiny.status().message();
}

// Exact counts of the small networks at 1x28x28 and 10 classes.
TEST(ModelsTest, SmallNetworksCountExactly) {
  Result<ModelCost> cnn = model_cost("cnn", ModelShape{});
  ASSERT_TRUE(cnn.ok()) << cnn.status().to_string();
  // conv1 32*9+32, conv2 64*32*9+64, fc1 64*7*7*128+128, fc2 128*10+10.
  EXPECT_EQ(cnn->parameters, 320 + 18496 + 401536 + 1290);
  // conv1 28*28*32*9, conv2 14*14*64*32*9, fc1 3136*128, fc2 128*10.
  EXPECT_EQ(cnn->macs_per_image, 225792 + 3612672 + 401408 + 1280);

  Result<ModelCost> lenet = model_cost("lenet5", ModelShape{});
  ASSERT_TRUE(lenet.ok()) << lenet.status().to_string();
  EXPECT_EQ(lenet->parameters, 156 + 2416 + 48120 + 10164 + 850);  // LeNet-5's 61,706
  // conv1 28*28*6*25, conv2 10*10*16*6*25, fc 400*120 + 120*84 + 84*10.
  EXPECT_EQ(lenet->macs_per_image, 117600 + 240000 + 48000 + 10080 + 840);
}

TEST(ModelsTest, MobileNetV2At28KeepsItsSizeAndWidthMultiplier) {
  // torchvision's MobileNetV2 with a 10-class classifier and a 1-channel stem:
  // 3,504,872 - 1,281,000 + 12,810 - 2 * 3 * 3 * 32.
  const int64_t full = parameter_count(**make_model("mobilenet_v2", ModelShape{}));
  EXPECT_EQ(full, 2236106);
  Result<std::shared_ptr<ClassifierImpl>> small = make_model("mobilenet_v2", shape_of(1, 28, 28, 10, 0.35));
  ASSERT_TRUE(small.ok());
  EXPECT_LT(parameter_count(**small), full);
  EXPECT_EQ((*small)->forward(torch::zeros({2, 1, 28, 28})).sizes(), (torch::IntArrayRef{2, 10}));
}

// The figures papers and torchvision publish, at 3x224x224 and 1000 classes.
struct Published {
  const char* name;
  int64_t torchvision_params;  // exact: torchvision's num_params, so the layouts match
  double params;               // as published, rounded
  double macs;                 // multiply-accumulates per image, as published
  double macs_tolerance;       // relative
};

// Counted analytically while building (no forward pass); the cost is building
// the weights (~0.5 GB for the four VGGs).
TEST(ModelsTest, CountsMatchPublishedFiguresAt224) {
  const Published published[] = {
      // The figures issue 5 asks for, within 2 %.
      {"resnet50", 25557032, 25.6e6, 4.1e9, 0.02},
      {"mobilenet_v2", 3504872, 3.5e6, 0.30e9, 0.02},
      {"vgg16", 138357544, 138e6, 15.5e9, 0.02},
      {"resnet18", 11689512, 11.7e6, 1.8e9, 0.02},
      {"efficientnet_b0", 5288548, 5.3e6, 0.39e9, 0.02},
      // torchvision's model table for the others (its "GFLOPS" are MACs).
      {"resnet34", 21797672, 21.8e6, 3.66e9, 0.02},
      {"mobilenet_v3_large", 5483032, 5.48e6, 0.22e9, 0.03},  // 0.22 is rounded (paper: 219M)
      {"mobilenet_v3_small", 2542856, 2.54e6, 0.057e9, 0.03},  // paper: 56M; torchvision rounds to 0.06
      {"vgg11", 132863336, 132.9e6, 7.61e9, 0.02},
      {"vgg11_bn", 132868840, 132.9e6, 7.61e9, 0.02},
      {"vgg16_bn", 138365992, 138.4e6, 15.47e9, 0.02},
      {"densenet121", 7978856, 7.98e6, 2.83e9, 0.02},
      {"squeezenet1_1", 1235496, 1.24e6, 0.35e9, 0.02},
  };
  for (const Published& p : published) {
    SCOPED_TRACE(p.name);
    Result<ModelCost> cost = model_cost(p.name, shape_of(3, 224, 224, 1000));
    ASSERT_TRUE(cost.ok()) << cost.status().to_string();
    EXPECT_EQ(cost->parameters, p.torchvision_params);
    EXPECT_NEAR(static_cast<double>(cost->parameters) / p.params, 1.0, 0.02) << cost->parameters;
    EXPECT_NEAR(static_cast<double>(cost->macs_per_image) / p.macs, 1.0, p.macs_tolerance) << cost->macs_per_image;
  }
}

TEST(ModelsTest, SmallInputsDropTheFirstDownsamplings) {
  // MobileNetV2 at 28x28 keeps 3 of its 5 stride-2 steps: the stem and the
  // 24-channel stage run at stride 1, and 28 -> 14 -> 7 -> 4 at the end.
  // Its parameter count does not depend on the input size.
  Result<std::shared_ptr<ClassifierImpl>> at28 = make_model("mobilenet_v2", shape_of(1, 28, 28, 10));
  Result<std::shared_ptr<ClassifierImpl>> at224 = make_model("mobilenet_v2", shape_of(1, 224, 224, 10));
  ASSERT_TRUE(at28.ok() && at224.ok());
  EXPECT_EQ(parameter_count(**at28), parameter_count(**at224));
  // 16x fewer pixels but two stride-2 steps fewer: the same work past the
  // 24-channel stage, 4x as much as 224x224 before it would be.
  EXPECT_LT((*at28)->macs_per_image(), (*at224)->macs_per_image());
  EXPECT_GT((*at28)->macs_per_image() * 16, (*at224)->macs_per_image());

  // ResNet-18: 64x64 drops one step (the 7x7/2 stem becomes a 3x3/1 conv, the
  // max-pool stays), 96x96 drops none and so costs (96/224)^2 of 224x224
  // (up to the 7x7 stem's edge rounding).
  Result<ModelCost> r96 = model_cost("resnet18", shape_of(3, 96, 96, 1000));
  Result<ModelCost> r224 = model_cost("resnet18", shape_of(3, 224, 224, 1000));
  ASSERT_TRUE(r96.ok() && r224.ok());
  const double fc_macs = 512 * 1000;
  EXPECT_NEAR((r96->macs_per_image - fc_macs) / (r224->macs_per_image - fc_macs), 96.0 * 96 / (224 * 224), 0.005);
}

TEST(ModelsTest, WidthMultiplierScalesEveryFamily) {
  for (const std::string& name : kZoo) {
    SCOPED_TRACE(name);
    Result<ModelCost> full = model_cost(name, shape_of(1, 28, 28, 10));
    Result<ModelCost> half = model_cost(name, shape_of(1, 28, 28, 10, 0.5));
    ASSERT_TRUE(full.ok() && half.ok());
    EXPECT_LT(half->parameters, full->parameters * 0.75);
    EXPECT_LT(half->macs_per_image, full->macs_per_image * 0.75);
  }
}

// The zoo's fully connected layer runs as a 1x1 convolution (oneDNN from 16
// images, LibTorch's own kernel below): its outputs and gradients must be
// nn::Linear's, up to float rounding.
TEST(ModelsTest, DenseComputesWhatLinearDoes) {
  for (int64_t batch : {2, 40}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    torch::manual_seed(3);
    zoo::Dense dense(37, 11);
    torch::Tensor x = torch::randn({batch, 37}, torch::requires_grad());
    torch::Tensor reference_x = x.detach().clone().requires_grad_();
    torch::Tensor w = dense->weight.detach().clone().requires_grad_();
    torch::Tensor b = dense->bias.detach().clone().requires_grad_();
    torch::Tensor out = dense->forward(x);
    torch::Tensor reference = torch::nn::functional::linear(reference_x, w, b);
    ASSERT_EQ(out.sizes(), (torch::IntArrayRef{batch, 11}));
    EXPECT_TRUE(torch::allclose(out, reference, 1e-5, 1e-5));
    torch::Tensor upstream = torch::randn({batch, 11});
    (out * upstream).sum().backward();
    (reference * upstream).sum().backward();
    EXPECT_TRUE(torch::allclose(dense->weight.grad(), w.grad(), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(dense->bias.grad(), b.grad(), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(x.grad(), reference_x.grad(), 1e-5, 1e-5));
    EXPECT_GT(w.grad().abs().sum().item<double>(), 0.0);
  }
}

// Every model, trained on a batch of 2 at each of these shapes with our
// kernels wherever one applies: logits [2, classes], finite, and a gradient
// for every parameter.
class ForwardBackwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardBackwardTest, EveryParameterGetsAGradient) {
  const std::string& name = GetParam();
  const zoo::ForcedKernels ours(KernelMode::kWattlab);
  const ModelShape shapes[] = {shape_of(1, 28, 28, 10), shape_of(3, 32, 32, 7), shape_of(3, 64, 48, 5)};
  for (const ModelShape& shape : shapes) {
    SCOPED_TRACE(std::to_string(shape.in_channels) + "x" + std::to_string(shape.height) + "x" +
                 std::to_string(shape.width));
    torch::manual_seed(1);
    Result<std::shared_ptr<ClassifierImpl>> made = make_model(name, shape);
    ASSERT_TRUE(made.ok()) << made.status().to_string();
    ClassifierImpl& model = **made;
    EXPECT_GT(model.macs_per_image(), 0);
    model.train();
    torch::Tensor images = torch::randn({2, shape.in_channels, shape.height, shape.width});
    torch::Tensor logits = model.forward(images);
    ASSERT_EQ(logits.sizes(), (torch::IntArrayRef{2, shape.num_classes}));
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    torch::nn::functional::cross_entropy(logits, torch::tensor({0, 3}, torch::kInt64)).backward();
    for (const auto& p : model.named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
    }
    // Gradients reach the first layer.
    EXPECT_GT(model.parameters().front().grad().abs().sum().item<double>(), 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ForwardBackwardTest, ::testing::ValuesIn(kZoo),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The names of the autograd nodes behind `output`.
std::set<std::string> graph_nodes(const torch::Tensor& output) {
  std::set<std::string> names;
  std::vector<torch::autograd::Node*> pending = {output.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  while (!pending.empty()) {
    torch::autograd::Node* node = pending.back();
    pending.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    names.insert(node->name());
    for (const torch::autograd::Edge& edge : node->next_edges()) pending.push_back(edge.function.get());
  }
  return names;
}

bool any_of_ours(const std::set<std::string>& nodes) {
  return std::any_of(nodes.begin(), nodes.end(), [](const std::string& n) {
    return n.find("PlannedConv2dFunction") != std::string::npos || n.find("BatchNormFunction") != std::string::npos;
  });
}

// With --kernels libtorch a training step of the models that use every kernel
// of ours (depthwise, Winograd, im2row + sgemm, subsampled shortcuts, batch
// norm) builds LibTorch's own autograd graph, node for node: LibTorch's
// results, bit for bit (the modules' own tests compare the bits). With
// --kernels wattlab the same step goes through ours.
TEST(ModelsTest, LibTorchKernelsLeaveOnlyLibTorchsOwnOperations) {
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    torch::manual_seed(2);
    Result<std::shared_ptr<ClassifierImpl>> made = make_model(name, shape_of(1, 28, 28, 10, 0.5));
    ASSERT_TRUE(made.ok()) << made.status().to_string();
    ClassifierImpl& model = **made;
    model.train();
    zoo::name_kernel_layers(model);
    const torch::Tensor images = torch::randn({16, 1, 28, 28});
    std::set<std::string> nodes;
    {
      const zoo::ForcedKernels libtorch(KernelMode::kLibTorch);
      nodes = graph_nodes(model.forward(images));
      for (const LayerKernel& k : libtorch.chooser().layers()) EXPECT_EQ(k.implementation, "libtorch") << k.layer;
    }
    EXPECT_FALSE(any_of_ours(nodes));
    EXPECT_TRUE(nodes.count("ConvolutionBackward0") && nodes.count("NativeBatchNormBackward0"));
    const zoo::ForcedKernels ours(KernelMode::kWattlab);
    EXPECT_TRUE(any_of_ours(graph_nodes(model.forward(images))));
  }
}

}  // namespace
}  // namespace wattlab
