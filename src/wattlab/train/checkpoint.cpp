#include "wattlab/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

constexpr char kFormat[] = "wattlab-checkpoint-1";

// EpochMetrics' numbers in the order of one row of the "metrics" tensor.
constexpr int kMetricColumns = 18;

void to_row(const EpochMetrics& m, double* row) {
  const double values[kMetricColumns] = {
      static_cast<double>(m.epoch), m.learning_rate,   m.train_loss,    m.test_loss,
      m.accuracy,                   m.top5_accuracy,   m.precision_macro, m.recall_macro,
      m.f1_macro,                   m.val_loss,        m.val_accuracy,  m.val_top5_accuracy,
      static_cast<double>(m.train_images), static_cast<double>(m.val_images), static_cast<double>(m.test_images),
      m.train_time_s,               m.val_time_s,      m.eval_time_s};
  std::copy(values, values + kMetricColumns, row);
}

EpochMetrics from_row(const double* r) {
  EpochMetrics m;
  m.epoch = static_cast<int>(r[0]);
  m.learning_rate = r[1];
  m.train_loss = r[2];
  m.test_loss = r[3];
  m.accuracy = r[4];
  m.top5_accuracy = r[5];
  m.precision_macro = r[6];
  m.recall_macro = r[7];
  m.f1_macro = r[8];
  m.val_loss = r[9];
  m.val_accuracy = r[10];
  m.val_top5_accuracy = r[11];
  m.train_images = static_cast<int64_t>(r[12]);
  m.val_images = static_cast<int64_t>(r[13]);
  m.test_images = static_cast<int64_t>(r[14]);
  m.train_time_s = r[15];
  m.val_time_s = r[16];
  m.eval_time_s = r[17];
  return m;
}

// "key\tvalue\n" lines (settings, kernel choices); keys and values hold
// neither tabs nor newlines.
std::string encode_settings(const std::map<std::string, std::string>& settings) {
  std::string text;
  for (const auto& [key, value] : settings) text += key + "\t" + value + "\n";
  return text;
}

std::map<std::string, std::string> decode_settings(const std::string& text) {
  std::map<std::string, std::string> settings;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) settings[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return settings;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::io_error("cannot sync " + path + ": " + std::strerror(errno));
  return Status();
}

// Writes `archive` to "<path>.tmp", syncs it and renames it over `path`.
Status save_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
  const std::string temp = path + ".tmp";
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Status::io_error("cannot create the folder " + parent.string() + ": " + ec.message());
  try {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::io_error("cannot write " + temp + ": " + std::strerror(errno));
    archive.save_to(out);
    out.flush();
    if (!out) return Status::io_error("cannot write " + temp + " (disk full?)");
  } catch (const c10::Error& e) {
    fs::remove(temp, ec);
    return Status::io_error("cannot write " + path + ": " + first_line(e.what_without_backtrace()));
  }
  WATTLAB_RETURN_IF_ERROR(fsync_path(temp, O_RDONLY));
  fs::rename(temp, path, ec);
  if (ec) return Status::io_error("cannot rename " + temp + " to " + path + ": " + ec.message());
  // The rename itself is durable once the folder is synced.
  return fsync_path(parent.empty() ? "." : parent.string(), O_RDONLY | O_DIRECTORY);
}

// What Module::save writes, with CPU copies of tensors that live elsewhere
// (none made for CPU tensors).
void save_on_cpu(const torch::nn::Module& module, torch::serialize::OutputArchive& archive) {
  torch::NoGradGuard no_grad;
  for (const auto& parameter : module.named_parameters(/*recurse=*/false)) {
    archive.write(parameter.key(), parameter.value().to(torch::kCPU));
  }
  for (const auto& buffer : module.named_buffers(/*recurse=*/false)) {
    archive.write(buffer.key(), buffer.value().to(torch::kCPU), /*is_buffer=*/true);
  }
  for (const auto& child : module.named_children()) {
    if (!child.value()->is_serializable()) continue;
    torch::serialize::OutputArchive child_archive(archive.compilation_unit());
    save_on_cpu(*child.value(), child_archive);
    archive.write(child.key(), child_archive);
  }
}

// Moves the tensors of an optimizer's per-parameter state (SGD's momentum
// buffers, Adam's and AdamW's moments) to `device` for its lifetime, and back
// to where they were when it ends. The trainer makes no other optimizer.
class OptimizerStateOn {
 public:
  OptimizerStateOn(torch::optim::Optimizer& optimizer, const torch::Device& device) {
    for (auto& entry : optimizer.state()) {
      torch::optim::OptimizerParamState* state = entry.second.get();
      if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
        move(sgd->momentum_buffer(), device);
      } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
        move(adam->exp_avg(), device);
        move(adam->exp_avg_sq(), device);
        move(adam->max_exp_avg_sq(), device);
      } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
        move(adamw->exp_avg(), device);
        move(adamw->exp_avg_sq(), device);
        move(adamw->max_exp_avg_sq(), device);
      }
    }
  }
  OptimizerStateOn(const OptimizerStateOn&) = delete;
  OptimizerStateOn& operator=(const OptimizerStateOn&) = delete;
  ~OptimizerStateOn() {
    for (auto& [tensor, device] : moved_) *tensor = tensor->to(device);
  }

 private:
  void move(torch::Tensor& tensor, const torch::Device& device) {
    if (!tensor.defined() || tensor.device() == device) return;
    moved_.emplace_back(&tensor, tensor.device());
    tensor = tensor.to(device);
  }

  std::vector<std::pair<torch::Tensor*, torch::Device>> moved_;  // each moved tensor and where it came from
};

}  // namespace

Status save_checkpoint(const std::string& path, const ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                       const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  try {
    archive.write("format", c10::IValue(std::string(kFormat)));
    archive.write("settings", c10::IValue(encode_settings(state.settings)));
    archive.write("kernels", c10::IValue(encode_settings(state.kernel_choices)));
    torch::serialize::OutputArchive model_archive;
    save_on_cpu(model, model_archive);
    archive.write("model", model_archive);
    torch::serialize::OutputArchive optimizer_archive;
    {
      OptimizerStateOn on_cpu(optimizer, torch::kCPU);
      optimizer.save(optimizer_archive);
    }
    archive.write("optimizer", optimizer_archive);

    const int64_t epochs = static_cast<int64_t>(state.epochs.size());
    torch::Tensor metrics = torch::empty({epochs, kMetricColumns}, torch::kFloat64);
    const int64_t cells = epochs > 0 ? static_cast<int64_t>(state.epochs.front().confusion.size()) : 0;
    torch::Tensor confusion = torch::empty({epochs, cells}, torch::kInt64);
    for (int64_t e = 0; e < epochs; ++e) {
      const EpochMetrics& m = state.epochs[e];
      to_row(m, metrics.data_ptr<double>() + e * kMetricColumns);
      if (static_cast<int64_t>(m.confusion.size()) != cells) {
        return Status::internal("checkpoint " + path + ": epochs with confusion matrices of different sizes");
      }
      std::copy(m.confusion.begin(), m.confusion.end(), confusion.data_ptr<int64_t>() + e * cells);
    }
    archive.write("metrics", metrics);
    archive.write("confusion", confusion);
    archive.write("order", torch::tensor(state.order, torch::kInt64));
    archive.write("shuffle_rng", c10::IValue(state.shuffle_rng));
    archive.write("torch_rng", state.torch_rng);
  } catch (const c10::Error& e) {
    return Status::io_error("cannot write the checkpoint " + path + ": " + first_line(e.what_without_backtrace()));
  }
  return save_atomically(archive, path);
}

Status save_trained_model(const std::string& dir, const ClassifierImpl& model, const SavedModelInfo& info) {
  torch::serialize::OutputArchive archive;
  save_on_cpu(model, archive);  // what torch::save(module, path) writes
  WATTLAB_RETURN_IF_ERROR(save_atomically(archive, (fs::path(dir) / kModelFile).string()));
  const std::string json_path = (fs::path(dir) / kModelInfoFile).string();
  const std::string temp = json_path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << to_json(info);
    out.flush();
    if (!out) return Status::io_error("cannot write " + temp);
  }
  std::error_code ec;
  fs::rename(temp, json_path, ec);
  if (ec) return Status::io_error("cannot rename " + temp + " to " + json_path + ": " + ec.message());
  return Status();
}

std::map<std::string, std::string> with_settings_older_checkpoints_imply(std::map<std::string, std::string> settings) {
  settings.emplace("--precision", "fp32");      // no --precision before then
  settings.emplace("--channels-last", "false");  // no --channels-last flag before then
  settings.emplace("--kernels", "auto");         // no --kernels flag before then
  return settings;
}

Status load_checkpoint(const std::string& path, const std::map<std::string, std::string>& expected,
                       const torch::Device& device, ClassifierImpl& model, torch::optim::Optimizer& optimizer,
                       TrainingState& state) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::not_found("checkpoint " + path + " does not exist");
  auto corrupt = [&](const std::string& why) {
    return Status::corrupt("checkpoint " + path + " is corrupt (" + why +
                           "); it cannot be resumed — start a new run, or restore the file");
  };
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);  // every tensor straight to the device; the few read here come back
    c10::IValue value;
    if (!archive.try_read("format", value) || !value.isString() || value.toStringRef() != kFormat) {
      return corrupt(std::string("not a ") + kFormat + " file");
    }
    if (!archive.try_read("settings", value) || !value.isString()) return corrupt("no settings");
    state.settings = with_settings_older_checkpoints_imply(decode_settings(value.toStringRef()));
    // Older checkpoints hold no kernel choices: the resumed run chooses anew.
    state.kernel_choices = archive.try_read("kernels", value) && value.isString()
                               ? decode_settings(value.toStringRef())
                               : std::map<std::string, std::string>();
    for (const auto& [flag, wanted] : expected) {
      auto it = state.settings.find(flag);
      const std::string stored = it == state.settings.end() ? "(not recorded)" : it->second;
      if (stored != wanted) {
        return Status::invalid_argument("the run was trained with " + flag + " " + stored + ", but " + wanted +
                                        " was asked for; resume with the run's own " + flag +
                                        " (checkpoint " + path + ")");
      }
    }
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);

    torch::Tensor metrics, confusion, order;
    archive.read("metrics", metrics);
    archive.read("confusion", confusion);
    archive.read("order", order);
    if (metrics.dim() != 2 || metrics.size(1) != kMetricColumns || metrics.scalar_type() != torch::kFloat64 ||
        confusion.dim() != 2 || confusion.size(0) != metrics.size(0) || confusion.scalar_type() != torch::kInt64 ||
        order.scalar_type() != torch::kInt64 || metrics.size(0) < 1) {
      return corrupt("metrics of unexpected shape");
    }
    metrics = metrics.to(torch::kCPU).contiguous();
    confusion = confusion.to(torch::kCPU).contiguous();
    order = order.to(torch::kCPU).contiguous();
    state.epochs.clear();
    const int64_t cells = confusion.size(1);
    for (int64_t e = 0; e < metrics.size(0); ++e) {
      EpochMetrics m = from_row(metrics.data_ptr<double>() + e * kMetricColumns);
      if (m.epoch != e + 1) return corrupt("epochs out of order");
      const int64_t* c = confusion.data_ptr<int64_t>() + e * cells;
      m.confusion.assign(c, c + cells);
      state.epochs.push_back(std::move(m));
    }
    state.order.assign(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + order.numel());
    if (!archive.try_read("shuffle_rng", value) || !value.isString()) return corrupt("no shuffling state");
    state.shuffle_rng = value.toStringRef();
    archive.read("torch_rng", state.torch_rng);
    state.torch_rng = state.torch_rng.to(torch::kCPU);
    return Status();
  } catch (const c10::Error& e) {
    return corrupt(first_line(e.what_without_backtrace()));
  }
}

}  // namespace wattlab
