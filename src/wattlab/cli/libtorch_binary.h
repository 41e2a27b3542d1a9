// The commands that need LibTorch, and how the torch-free `wattlab` binary
// hands them over. LibTorch's start-up costs most of a second (its static
// initialisers, whatever the command), so `wattlab` links no LibTorch: the
// commands below run in `wattlab-torch`, built beside it, which `wattlab`
// becomes (exec, same arguments, same process) before parsing anything. In a
// build without LibTorch there is no `wattlab-torch` and these commands say
// how to get it (no_torch_commands.cpp).
#pragma once

#include <string>
#include <vector>

namespace wattlab::cli {

struct TorchCommand {
  const char* parent;  // "" for a top-level command, else "study" or "chess"
  const char* name;
  const char* description;
};

// Every command that needs LibTorch.
const std::vector<TorchCommand>& torch_commands();

// True when argv (as main received it) runs one of torch_commands(): its
// first word that is neither an option nor --store's value names a top-level
// one, or names its parent and the next such word names it.
bool needs_libtorch(int argc, char** argv);

// `wattlab-torch` in the running binary's folder (/proc/self/exe); "" when it
// is not there.
std::string libtorch_binary_path();

// Replaces this process with libtorch_binary_path() run with argv. Returns
// only when there is none; when exec fails, says why on stderr and exits 127.
void exec_libtorch_binary(char** argv);

}  // namespace wattlab::cli
