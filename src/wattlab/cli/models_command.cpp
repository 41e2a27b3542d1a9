// `wattlab models`: the model zoo, with parameter and MAC counts.
#include <charconv>
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/listing.h"
#include "wattlab/cli/progress_bar.h"
#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"
#include "wattlab/train/models.h"

namespace wattlab::cli {

namespace {

struct ModelsOptions {
  std::string name;                  // info: the model
  std::string input = "3x224x224";   // CxHxW
  int64_t classes = 1000;
  double width_multiplier = 1.0;
  std::string format = "table";
  std::string kernels;               // info: "" (not asked), auto, libtorch or wattlab
  int64_t batch_size = 64;           // info --kernels: the training step measured
  int threads = 1;
};

// "3x224x224" → channels, height, width; InvalidArgument naming --input otherwise.
Status parse_input(const std::string& text, ModelShape& shape) {
  int64_t parts[3] = {0, 0, 0};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    const bool last = i == 2;
    if (ec != std::errc() || parts[i] < 1 || (last ? next != end : (next == end || *next != 'x'))) {
      return Status::invalid_argument("--input must be CHANNELSxHEIGHTxWIDTH, e.g. 3x224x224 or 1x28x28 (got \"" +
                                      text + "\")");
    }
    p = next + 1;
  }
  shape.in_channels = parts[0];
  shape.height = parts[1];
  shape.width = parts[2];
  return Status();
}

const ModelSpec* find_spec(const std::string& name) {
  for (const ModelSpec& spec : model_zoo()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string millions(int64_t count) { return format_number(static_cast<double>(count) / 1e6, 2) + " M"; }
std::string giga(int64_t count) { return format_number(static_cast<double>(count) / 1e9, 3); }

int run_ls(const ModelsOptions& o) {
  ModelShape shape;
  shape.in_channels = 3;
  shape.height = shape.width = 224;
  shape.num_classes = 1000;
  Listing listing({{"name", "model"},
                   {"family", "family"},
                   {"params", "params", true},
                   {"macs", "GMACs", true},
                   {"summary", "description"}});
  // Building every model to count it takes seconds: show how far it is.
  ProgressBar progress("models", o.format == "table");
  const auto& zoo = model_zoo();
  for (size_t i = 0; i < zoo.size(); ++i) {
    const ModelSpec& spec = zoo[i];
    progress.update("counting " + spec.name, static_cast<int64_t>(i), static_cast<int64_t>(zoo.size()),
                    Env::system().clock().monotonic_ms());
    Result<ModelCost> cost = model_cost(spec.name, shape);
    if (!cost.ok()) return report_error(cost.status().message());
    listing.add_row({text_cell(spec.name), text_cell(spec.family), {cost->parameters, millions(cost->parameters)},
                     {cost->macs_per_image, giga(cost->macs_per_image)}, text_cell(spec.summary)});
  }
  progress.clear();
  listing.print(std::cout, o.format);
  if (o.format == "table") {
    std::cout << "Counted at 3x224x224 and 1000 classes; MACs per image (convolutions and fully connected "
                 "layers). `wattlab models info NAME --input 1x28x28 --classes 10` for other shapes.\n";
  }
  return 0;
}

int run_info(const ModelsOptions& o) {
  const ModelSpec* spec = find_spec(o.name);
  if (spec == nullptr) return report_error(check_model_name(o.name).message());
  ModelShape shape;
  if (Status s = parse_input(o.input, shape); !s.ok()) return report_error(s.message());
  shape.num_classes = o.classes;
  shape.width_multiplier = o.width_multiplier;
  if (o.classes < 1) return report_error("--classes must be at least 1 (got " + std::to_string(o.classes) + ")");
  Result<ModelCost> cost = model_cost(o.name, shape);
  if (!cost.ok()) return report_error(cost.status().message());
  std::vector<LayerKernel> kernels;
  if (!o.kernels.empty()) {
    Result<std::vector<LayerKernel>> chosen = model_kernels(o.name, shape, o.batch_size, o.threads, o.kernels);
    if (!chosen.ok()) return report_error(chosen.status().message());
    kernels = std::move(*chosen);
  }
  if (o.format == "json") {
    nlohmann::json out = {{"name", spec->name},     {"family", spec->family},
                          {"summary", spec->summary}, {"input", o.input},
                          {"classes", o.classes},   {"width_multiplier", o.width_multiplier},
                          {"params", cost->parameters}, {"macs", cost->macs_per_image}};
    if (!o.kernels.empty()) {
      out["kernels"] = nlohmann::json::array();
      for (const LayerKernel& k : kernels) {
        out["kernels"].push_back({{"layer", k.layer}, {"shape", k.shape}, {"pass", k.pass},
                                  {"implementation", k.implementation}, {"source", k.source}});
      }
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  TextTable table({"key", "value"});
  table.add_row({"model", spec->name});
  table.add_row({"family", spec->family});
  table.add_row({"description", spec->summary});
  table.add_row({"input", o.input});
  table.add_row({"classes", std::to_string(o.classes)});
  table.add_row({"width multiplier", format_number(o.width_multiplier, 2)});
  table.add_row({"parameters", std::to_string(cost->parameters) + " (" + millions(cost->parameters) + ")"});
  table.add_row({"MACs per image", std::to_string(cost->macs_per_image) + " (" + giga(cost->macs_per_image) + " G)"});
  table.print(std::cout);
  if (!o.kernels.empty()) {
    std::cout << "\nKernels of one training step (--kernels " << o.kernels << ", batch " << o.batch_size << ", "
              << o.threads << " thread(s)), per layer, shape (in->out kernel stride padding, batch x height x "
                              "width) and pass; in parentheses where the choice came from if not measured now:\n"
              << format_layer_kernels(kernels);
  }
  return 0;
}

}  // namespace

void add_models_command(CLI::App& app, const GlobalOptions&, int* exit_code) {
  auto* models = app.add_subcommand("models", "The model zoo: architectures, parameters and MACs");
  models->require_subcommand(1);
  auto o = std::make_shared<ModelsOptions>();

  auto* ls = models->add_subcommand("ls", "Every model with its parameters and GMACs at 3x224x224, 1000 classes");
  ls->add_option("--format", o->format, "table, json or csv (keys: name, family, params, macs, summary)")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  ls->callback([o, exit_code] { *exit_code = run_ls(*o); });

  auto* info = models->add_subcommand("info", "Parameters and MACs per image of one model for an input shape");
  info->add_option("NAME", o->name, "Model, as `wattlab models ls` lists it")->required();
  info->add_option("--input", o->input, "Image shape CHANNELSxHEIGHTxWIDTH")->capture_default_str();
  info->add_option("--classes", o->classes, "Number of classes")->capture_default_str();
  info->add_option("--width-multiplier", o->width_multiplier, "Scales every layer's channels")->capture_default_str();
  info->add_option("--format", o->format, "table or json (keys: params, macs, ...)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  info->add_option("--kernels", o->kernels,
                   "Also print the kernel each convolution and batch norm runs per pass for a training step on this "
                   "CPU: auto (measured, or from the cache), libtorch or wattlab")
      ->check(CLI::IsMember({"auto", "libtorch", "wattlab"}));
  info->add_option("--batch-size", o->batch_size, "With --kernels: images per step")->capture_default_str();
  info->add_option("--threads", o->threads, "With --kernels: LibTorch intra-op threads")->capture_default_str();
  info->callback([o, exit_code] { *exit_code = run_info(*o); });
  info->footer(
      "Examples:\n"
      "  wattlab models info resnet18 --input 1x28x28 --classes 10\n"
      "  wattlab models info resnet18 --input 1x28x28 --classes 10 --kernels auto   # which kernels train uses here");
}

}  // namespace wattlab::cli
