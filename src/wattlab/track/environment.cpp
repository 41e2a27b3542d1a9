#include "wattlab/track/environment.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "wattlab/core/subprocess.h"

#ifndef WATTLAB_VERSION
#define WATTLAB_VERSION "unknown"
#endif

namespace wattlab {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<std::string> read_trimmed(const std::filesystem::path& path) {
  auto text = Env::read_file(path);
  if (!text.ok()) return std::nullopt;
  std::string t = trim(*text);
  if (t.empty()) return std::nullopt;
  return t;
}

// Value of "key : value" lines (cpuinfo, meminfo), first occurrence.
std::optional<std::string> field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return std::nullopt;
}

void collect_cpu(Env& env, std::map<std::string, std::string>* out) {
  auto cpuinfo = Env::read_file(env.proc_path("cpuinfo"));
  if (!cpuinfo.ok()) return;
  // x86 says "model name"; ARM kernels say "Hardware", "Model" or "Processor".
  for (const char* key : {"model name", "Hardware", "Model", "Processor", "cpu model"}) {
    if (auto v = field(*cpuinfo, key); v && !v->empty()) {
      (*out)["cpu_model"] = *v;
      break;
    }
  }
  std::istringstream in(*cpuinfo);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon != std::string::npos && trim(line.substr(0, colon)) == "processor") ++count;
  }
  if (count > 0) (*out)["cpu_count"] = std::to_string(count);
}

void collect_memory(Env& env, std::map<std::string, std::string>* out) {
  auto meminfo = Env::read_file(env.proc_path("meminfo"));
  if (!meminfo.ok()) return;
  auto total = field(*meminfo, "MemTotal");  // "16303412 kB"
  if (!total) return;
  try {
    double kib = std::stod(*total);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", kib / (1024.0 * 1024.0));
    (*out)["ram_gib"] = buf;
  } catch (...) {
    // Not a number: leave ram_gib out.
  }
}

void collect_os(Env& env, const EnvironmentExtras& extras, std::map<std::string, std::string>* out) {
  std::string name;
  if (auto text = Env::read_file(extras.os_release_path); text.ok()) {
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
      name = trim(line.substr(std::string("PRETTY_NAME=").size()));
      if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') && name.back() == name.front()) {
        name = name.substr(1, name.size() - 2);
      }
      break;
    }
  }
  auto release = read_trimmed(env.proc_path("sys/kernel/osrelease"));
  if (name.empty() && !release) return;
  if (name.empty()) name = "Linux";
  (*out)["os"] = release ? name + " (kernel " + *release + ")" : name;
}

void collect_hostname(Env& env, std::map<std::string, std::string>* out) {
  if (auto h = read_trimmed(env.proc_path("sys/kernel/hostname"))) {
    (*out)["hostname"] = *h;
    return;
  }
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) == 0 && buf[0] != '\0') (*out)["hostname"] = buf;
}

std::string compiler_name() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

void collect_git(const EnvironmentExtras& extras, std::map<std::string, std::string>* out) {
  std::vector<std::string> git = {"git"};
  if (!extras.git_work_dir.empty()) {
    git.push_back("-C");
    git.push_back(extras.git_work_dir.string());
  }
  auto with = [&](std::initializer_list<std::string> args) {
    std::vector<std::string> argv = git;
    argv.insert(argv.end(), args);
    return argv;
  };
  auto head = run_and_capture(with({"rev-parse", "HEAD"}));
  if (!head.ok() || head->exit_code != 0) return;  // no git, or not a work tree
  std::string commit = trim(head->stdout_text);
  if (commit.empty()) return;
  (*out)["git_commit"] = commit;
  auto status = run_and_capture(with({"status", "--porcelain"}));
  if (status.ok() && status->exit_code == 0) (*out)["git_dirty"] = trim(status->stdout_text).empty() ? "false" : "true";
}

// Quotes an argument for a POSIX shell when it needs it.
std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                            "_-./=:,+@%") == std::string::npos) {
    return arg;
  }
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void collect_command_line(Env& env, const EnvironmentExtras& extras, std::map<std::string, std::string>* out) {
  std::vector<std::string> args = extras.command_line;
  if (args.empty()) {
    auto cmdline = Env::read_file(env.proc_path("self/cmdline"));  // NUL-separated
    if (!cmdline.ok()) return;
    std::string arg;
    for (char c : *cmdline) {
      if (c == '\0') {
        args.push_back(arg);
        arg.clear();
      } else {
        arg += c;
      }
    }
    if (!arg.empty()) args.push_back(arg);
  }
  if (args.empty()) return;
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + shell_quote(a);
  (*out)["command_line"] = line;
}

}  // namespace

std::map<std::string, std::string> collect_environment(Env& env, const EnvironmentExtras& extras) {
  std::map<std::string, std::string> out;
  collect_cpu(env, &out);
  collect_memory(env, &out);
  collect_os(env, extras, &out);
  collect_hostname(env, &out);
  out["compiler"] = compiler_name();
  out["wattlab_version"] = WATTLAB_VERSION;
  collect_git(extras, &out);
  collect_command_line(env, extras, &out);
  if (extras.seed) out["seed"] = std::to_string(*extras.seed);
  for (const auto& [key, value] : extras.values) out[key] = value;
  return out;
}

}  // namespace wattlab
