#include "wattlab/cli/meter_notes.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace wattlab::cli {

namespace {

// Empty when no folder can be named.
std::filesystem::path notes_file() {
  if (const char* dir = std::getenv("WATTLAB_STATE_DIR"); dir && *dir) return std::filesystem::path(dir) / "notes-shown";
  if (const char* dir = std::getenv("XDG_STATE_HOME"); dir && *dir) {
    return std::filesystem::path(dir) / "wattlab" / "notes-shown";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".local" / "state" / "wattlab" / "notes-shown";
  }
  return {};
}

// FNV-1a, in hex: a stable name for a note's text.
std::string note_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

void print_meter_notes_once(const std::vector<std::string>& notes, bool quiet) {
  if (quiet || notes.empty()) return;
  const std::filesystem::path file = notes_file();
  std::set<std::string> shown;
  if (!file.empty()) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) shown.insert(line);
  }
  std::vector<std::string> fresh;
  for (const auto& note : notes) {
    if (shown.count(note_hash(note))) continue;
    std::fprintf(stderr, "wattlab: note: %s\n", note.c_str());
    fresh.push_back(note_hash(note));
  }
  if (fresh.empty() || file.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::app);
  for (const auto& hash : fresh) out << hash << "\n";
  if (out) std::fprintf(stderr, "wattlab: note: shown once; `wattlab devices` explains every energy source\n");
}

void forget_meter_notes() {
  const std::filesystem::path file = notes_file();
  std::error_code ec;
  if (!file.empty()) std::filesystem::remove(file, ec);
}

Result<CommandMonitor> open_command_monitor(Env& env, const MeterOptions& meter, bool quiet,
                                            const MonitorOptions& options) {
  std::vector<std::string> notes;
  auto meters = make_meters(env, meter, &notes);
  if (!meters.ok()) return meters.status();
  print_meter_notes_once(notes, quiet);
  CommandMonitor out;
  out.assumptions = meter_assumptions(*meters);
  auto monitor = Monitor::create(env, std::move(*meters), options);
  if (!monitor.ok()) return monitor.status();
  out.monitor = std::move(*monitor);
  return out;
}

}  // namespace wattlab::cli
