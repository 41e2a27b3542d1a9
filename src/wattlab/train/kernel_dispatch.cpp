#include "wattlab/train/kernel_dispatch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

#include <unistd.h>

#include "wattlab/core/env.h"
#include "wattlab/train/models/sgemm.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

std::string key_of(const std::string& shape, const std::string& pass) { return shape + "|" + pass; }

// The key a choice is remembered under across runs (cache) and within the
// process: the candidates it was chosen among too, so that a choice made
// before a kernel existed (an older wattlab) or applied (another mode) is
// measured anew rather than kept.
std::string remembered_key(const std::string& key, const std::vector<KernelCandidate>& candidates) {
  std::string names;
  for (const KernelCandidate& candidate : candidates) names += (names.empty() ? "" : ",") + candidate.name;
  return key + "|" + names;
}

// Choices made in auto mode by earlier runs of this process, by scope then
// key: a second run in the same process (a test, a study of several trials)
// gets the first one's kernels even without a cache file.
struct ProcessChoices {
  std::mutex mutex;
  std::map<std::string, std::map<std::string, std::string>> by_scope;
};

ProcessChoices& process_choices() {
  static ProcessChoices choices;
  return choices;
}

// The cache's lines: scope, key and implementation separated by tabs.
struct CacheLine {
  std::string scope, key, implementation;
};

std::vector<CacheLine> read_cache(const std::string& path) {
  std::vector<CacheLine> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find('\t'), second = line.find('\t', first == std::string::npos ? first : first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;  // not ours: dropped on the next write
    lines.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1), line.substr(second + 1)});
  }
  return lines;
}

// Tabs and newlines would break a cache line; shapes and names hold none, but a CPU's name comes from the OS.
std::string one_field(std::string text) {
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\t' || c == '\n'; }, ' ');
  return text;
}

}  // namespace

Result<KernelMode> parse_kernel_mode(const std::string& text) {
  if (text == "auto") return KernelMode::kAuto;
  if (text == "libtorch") return KernelMode::kLibTorch;
  if (text == "wattlab") return KernelMode::kWattlab;
  return Status::invalid_argument("--kernels must be auto (measure which is faster), libtorch or wattlab (got \"" +
                                  text + "\")");
}

const char* kernel_mode_name(KernelMode mode) {
  switch (mode) {
    case KernelMode::kAuto: return "auto";
    case KernelMode::kLibTorch: return "libtorch";
    case KernelMode::kWattlab: return "wattlab";
  }
  return "auto";
}

std::string format_layer_kernels(const std::vector<LayerKernel>& layers) {
  // Group the passes of each (layer, shape), in the order first seen.
  std::vector<std::pair<std::string, std::string>> order;
  std::map<std::pair<std::string, std::string>, std::string> passes;
  size_t width = 0;
  for (const LayerKernel& l : layers) {
    const auto id = std::make_pair(l.layer, l.shape);
    auto [it, added] = passes.emplace(id, "");
    if (added) order.push_back(id);
    it->second += " " + l.pass + "=" + l.implementation +
                  (l.source == "measured" ? " [" + l.timings + "]" : " (" + l.source + ")");
    width = std::max(width, l.layer.size());
  }
  std::string text;
  for (const auto& id : order) {
    text += id.first + std::string(width - id.first.size() + 2, ' ') + id.second + " " + passes[id] + "\n";
  }
  return text;
}

KernelChooser::KernelChooser(KernelChooserOptions options) : options_(std::move(options)) {
  if (options_.cache_path.empty() || options_.mode != KernelMode::kAuto) return;
  for (const CacheLine& line : read_cache(options_.cache_path)) {
    if (line.scope == options_.cache_scope) cached_.emplace(line.key, line.implementation);
  }
}

size_t KernelChooser::choose(const std::string& layer, const std::string& shape, const std::string& pass,
                             const std::vector<KernelCandidate>& candidates) {
  const std::string key = key_of(shape, pass);
  auto index_of = [&](const std::string& name) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].name == name) return i;
    }
    return candidates.size();
  };
  size_t chosen = candidates.size();
  if (auto it = choices_.find(key); it != choices_.end()) chosen = index_of(it->second);
  if (chosen == candidates.size()) {
    std::string source;
    if (candidates.size() == 1) {
      chosen = 0;
      source = "only";
    } else if (options_.mode != KernelMode::kAuto) {
      chosen = options_.mode == KernelMode::kLibTorch ? 0 : 1;
      source = "mode";
    } else {
      const std::string among = remembered_key(key, candidates);
      auto remembered = [&](const std::map<std::string, std::string>& from, const std::string& by) {
        auto it = from.find(by);
        return it == from.end() ? candidates.size() : index_of(it->second);
      };
      std::map<std::string, std::string> in_process;
      {
        ProcessChoices& process = process_choices();
        std::lock_guard<std::mutex> lock(process.mutex);
        in_process = process.by_scope[options_.cache_scope];
      }
      if ((chosen = remembered(replayed_, key)) < candidates.size()) {
        source = "checkpoint";
      } else if ((chosen = remembered(in_process, among)) < candidates.size()) {
        source = "process";
      } else if ((chosen = remembered(cached_, among)) < candidates.size()) {
        source = "cache";
      } else {
        chosen = measure(candidates, &timings_[key]);
        source = "measured";
        measured_[among] = candidates[chosen].name;
      }
      ProcessChoices& process = process_choices();
      std::lock_guard<std::mutex> lock(process.mutex);
      process.by_scope[options_.cache_scope][among] = candidates[chosen].name;
    }
    choices_[key] = candidates[chosen].name;
    sources_[key] = source;
  }
  if (recorded_.insert(layer + "|" + key).second) {
    layers_.push_back({layer, shape, pass, candidates[chosen].name, timings_[key], sources_[key]});
  }
  return chosen;
}

size_t KernelChooser::measure(const std::vector<KernelCandidate>& candidates, std::string* timings) {
  const std::function<double()> clock = options_.clock_s ? options_.clock_s : thread_cpu_s;
  const double start = clock();
  // One untimed run each: LibTorch builds its oneDNN kernels, ours grow their working memory.
  for (const KernelCandidate& c : candidates) c.run();
  std::vector<double> fastest(candidates.size(), std::numeric_limits<double>::infinity());
  for (int r = 0; r < options_.repetitions; ++r) {
    // Each repetition starts with another candidate, so none always runs first (or after the same one).
    for (size_t step = 0; step < candidates.size(); ++step) {
      const size_t i = (step + static_cast<size_t>(r)) % candidates.size();
      const double before = clock();
      candidates[i].run();
      fastest[i] = std::min(fastest[i], clock() - before);
    }
  }
  measuring_s_ += clock() - start;
  for (size_t i = 0; i < candidates.size(); ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "%s%s %.3g ms", i ? ", " : "", candidates[i].name.c_str(), fastest[i] * 1e3);
    *timings += text;
  }
  return static_cast<size_t>(std::min_element(fastest.begin(), fastest.end()) - fastest.begin());
}

void KernelChooser::replay(const std::map<std::string, std::string>& choices) {
  for (const auto& [key, implementation] : choices) replayed_[key] = implementation;
}

Status KernelChooser::save_cache() const {
  if (options_.cache_path.empty() || measured_.empty()) return Status();
  std::vector<CacheLine> lines = read_cache(options_.cache_path);
  std::set<std::string> present;
  for (const CacheLine& line : lines) present.insert(line.scope + "\t" + line.key);
  for (const auto& [key, implementation] : measured_) {
    if (present.insert(options_.cache_scope + "\t" + key).second) {
      lines.push_back({options_.cache_scope, key, implementation});
    }
  }
  std::error_code ec;
  const fs::path path(options_.cache_path);
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  // A name of this process's own, so that two runs saving at once do not write one temporary file.
  const std::string temp = options_.cache_path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    for (const CacheLine& line : lines) out << line.scope << '\t' << line.key << '\t' << line.implementation << '\n';
    out.flush();
    if (!out) {
      fs::remove(temp, ec);
      return Status::io_error("cannot write the kernel cache " + temp + " (delete " + options_.cache_path +
                              " or make its folder writable)");
    }
  }
  fs::rename(temp, path, ec);
  if (ec) return Status::io_error("cannot rename " + temp + " to " + options_.cache_path + ": " + ec.message());
  return Status();
}

std::string default_kernel_cache_path() { return user_cache_path("kernels.tsv"); }

std::string kernel_cache_scope(int threads, const std::string& libtorch_version) {
  // The first processor's identity; x86 lists vendor_id, cpu family, model, model name and stepping.
  std::map<std::string, std::string> cpu;
  if (Result<std::string> info = Env::read_file("/proc/cpuinfo"); info.ok()) {
    std::istringstream in(*info);
    for (std::string line; std::getline(in, line) && !line.empty();) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      name.erase(name.find_last_not_of(" \t") + 1);
      std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      cpu.emplace(name, value);
    }
  }
  std::string scope = cpu["model name"].empty() ? "unknown CPU" : cpu["model name"];
  scope += " (" + cpu["vendor_id"] + " family " + cpu["cpu family"] + " model " + cpu["model"] + " stepping " +
           cpu["stepping"] + ")";
  const char* isa = zoo::sgemm_available() ? zoo::sgemm_isa_name(zoo::sgemm_isa()) : "no-avx2";
  return one_field(scope + "; sgemm " + isa + "; libtorch " + libtorch_version + "; threads " +
                   std::to_string(threads));
}

}  // namespace wattlab
