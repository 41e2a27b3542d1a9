#include "wattlab/cli/libtorch_binary.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace wattlab::cli {

const std::vector<TorchCommand>& torch_commands() {
  static const std::vector<TorchCommand> commands = {
      {"", "train", "Train a model, metered and tracked"},
      {"", "quickstart", "The built-in study on Fashion-MNIST"},
      {"", "models", "The model zoo: architectures, parameters and MACs"},
      {"", "infer", "Evaluate the model a training run saved"},
      {"", "infer-bench", "Latency, throughput and energy of a saved model's inference"},
      {"study", "run", "Run every unfinished trial of a study spec"},
      {"study", "trial", "Run one trial of a study"},
      {"study", "status", "Trials done, running, failed and pending"},
      {"study", "ls", "The studies in the store"},
      {"study", "cancel", "Stop a running study"},
      {"study", "example", "Print the built-in study spec"},
      {"chess", "train", "Train the square classifier on rendered boards"},
      {"chess", "recognise", "Read the position from a board image (FEN)"},
      {"chess", "study", "The recognition experiment: decoders x difficulty levels"},
  };
  return commands;
}

bool needs_libtorch(int argc, char** argv) {
  std::vector<std::string_view> words;  // the command's path: "study", "run"
  for (int i = 1; i < argc && words.size() < 2; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--store") {
      ++i;  // its value
      continue;
    }
    if (arg.starts_with("-")) continue;
    words.push_back(arg);
    if (words.size() == 1 && arg != "study" && arg != "chess") break;
  }
  for (const TorchCommand& c : torch_commands()) {
    if (*c.parent == '\0' ? words.size() >= 1 && words[0] == c.name
                          : words.size() == 2 && words[0] == c.parent && words[1] == c.name) {
      return true;
    }
  }
  return false;
}

std::string libtorch_binary_path() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "";
  const auto path = self.parent_path() / "wattlab-torch";
  return std::filesystem::exists(path, error) ? path.string() : "";
}

void exec_libtorch_binary(char** argv) {
  const std::string path = libtorch_binary_path();
  if (path.empty()) return;
  execv(path.c_str(), argv);
  std::fprintf(stderr, "wattlab: error: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
  std::exit(127);
}

}  // namespace wattlab::cli
