// The environment snapshot stored with every run, so that runs can be
// reproduced and grouped by where and how they ran.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/env.h"

namespace wattlab {

struct EnvironmentExtras {
  // The command being recorded; when empty, /proc/self/cmdline (under the
  // Env's proc root) is used.
  std::vector<std::string> command_line;
  std::optional<uint64_t> seed;
  // Folder whose git commit is recorded; empty means the working directory.
  std::filesystem::path git_work_dir;
  // Where the distribution's name is read (PRETTY_NAME).
  std::filesystem::path os_release_path = "/etc/os-release";
  // Further keys ("libtorch_version", "threads", "gpu_model"...), merged in
  // last: they override collected keys of the same name.
  std::map<std::string, std::string> values;
};

// Collects, best effort (a fact that cannot be read is left out, never an
// error):
//   cpu_model, cpu_count    from <proc>/cpuinfo
//   ram_gib                 MemTotal of <proc>/meminfo, GiB with 1 decimal
//   os                      "<PRETTY_NAME> (kernel <release>)", release from
//                           <proc>/sys/kernel/osrelease
//   hostname                <proc>/sys/kernel/hostname, else gethostname()
//   compiler                the compiler that built wattlab ("gcc 12.2.0")
//   wattlab_version
//   git_commit, git_dirty   ("true"/"false") when git_work_dir is in a git
//                           work tree; absent otherwise
//   command_line            arguments joined by spaces, shell-quoted as needed
//   seed                    when given
// plus extras.values.
std::map<std::string, std::string> collect_environment(Env& env, const EnvironmentExtras& extras);

}  // namespace wattlab
