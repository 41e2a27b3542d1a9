#include "wattlab/energy/process_cpu_share.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace wattlab {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whitespace-separated integer fields of `text` (tty_nr and tpgid may be -1).
std::vector<int64_t> numbers(std::string_view text, size_t max_count) {
  std::vector<int64_t> out;
  while (out.size() < max_count) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    if (text.empty()) break;
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc()) break;
    out.push_back(value);
    text.remove_prefix(static_cast<size_t>(ptr - text.data()));
  }
  return out;
}

struct ProcStat {
  int ppid = 0;
  uint64_t ticks = 0;  // utime + stime + cutime + cstime
};

// "pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17) ..."
// comm may hold spaces and parentheses, so fields are counted after the last ')'.
bool parse_proc_stat(std::string_view text, ProcStat* out) {
  const size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) return false;
  std::string_view rest = text.substr(paren + 1);
  // rest: " state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime"
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return false;
  rest.remove_prefix(1);  // the one-letter state
  std::vector<int64_t> f = numbers(rest, 14);  // ppid (field 4) .. cstime (field 17)
  if (f.size() < 14) return false;
  out->ppid = static_cast<int>(f[0]);
  for (int i = 10; i < 14; ++i) out->ticks += static_cast<uint64_t>(std::max<int64_t>(0, f[i]));
  return true;
}

}  // namespace

Result<CpuTimesSnapshot> read_process_tree_cpu_times(Env& env, int root_pid) {
  CpuTimesSnapshot snapshot;
  const auto stat_path = env.proc_path("stat");
  auto stat = Env::read_file(stat_path);
  if (!stat.ok()) return stat.status().with_context("CPU attribution");
  bool found_cpu = false;
  for (size_t pos = 0; pos < stat->size();) {
    size_t end = stat->find('\n', pos);
    if (end == std::string::npos) end = stat->size();
    std::string_view line(stat->data() + pos, end - pos);
    pos = end + 1;
    if (line.substr(0, 4) != "cpu ") continue;
    std::vector<int64_t> signed_fields = numbers(line.substr(4), 8);
    if (signed_fields.size() < 4) break;
    std::vector<uint64_t> f(8, 0);
    for (size_t i = 0; i < signed_fields.size(); ++i) f[i] = static_cast<uint64_t>(std::max<int64_t>(0, signed_fields[i]));
    snapshot.busy_ticks = f[0] + f[1] + f[2] + f[5] + f[6];
    snapshot.total_ticks = snapshot.busy_ticks + f[3] + f[4] + f[7];
    found_cpu = true;
    break;
  }
  if (!found_cpu) return Status::corrupt("CPU attribution: no parsable aggregate \"cpu\" line in " + stat_path.string());

  auto entries = Env::list_dir(env.proc_root());
  if (!entries.ok()) return entries.status().with_context("CPU attribution");
  std::map<int, ProcStat> processes;
  for (const std::string& entry : *entries) {
    if (!all_digits(entry)) continue;
    auto text = Env::read_file(env.proc_path(entry + "/stat"));
    if (!text.ok()) continue;  // exited meanwhile, or hidden
    ProcStat ps;
    int pid = 0;
    auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), pid);
    if (ec == std::errc() && ptr == entry.data() + entry.size() && parse_proc_stat(*text, &ps)) processes[pid] = ps;
  }
  if (!processes.count(root_pid)) {
    return Status::not_found("CPU attribution: process " + std::to_string(root_pid) + " not found under " +
                             env.proc_root().string() + " (it has exited)");
  }
  std::multimap<int, int> children;  // ppid → pid
  for (const auto& [pid, ps] : processes) children.emplace(ps.ppid, pid);
  std::vector<int> stack = {root_pid};
  std::set<int> seen;
  while (!stack.empty()) {
    const int pid = stack.back();
    stack.pop_back();
    if (!seen.insert(pid).second) continue;
    snapshot.tree_ticks += processes[pid].ticks;
    ++snapshot.processes;
    auto [first, last] = children.equal_range(pid);
    for (auto it = first; it != last; ++it) {
      stack.push_back(it->second);
    }
  }
  return snapshot;
}

namespace {
double ratio(uint64_t tree_before, uint64_t tree_after, uint64_t base_before, uint64_t base_after) {
  if (base_after <= base_before || tree_after <= tree_before) return 0;
  const double share = static_cast<double>(tree_after - tree_before) / static_cast<double>(base_after - base_before);
  return std::clamp(share, 0.0, 1.0);
}
}  // namespace

double cpu_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after) {
  return ratio(before.tree_ticks, after.tree_ticks, before.total_ticks, after.total_ticks);
}

double cpu_busy_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after) {
  return ratio(before.tree_ticks, after.tree_ticks, before.busy_ticks, after.busy_ticks);
}

double other_cpu_share(const CpuTimesSnapshot& before, const CpuTimesSnapshot& after) {
  if (after.total_ticks <= before.total_ticks) return 0;
  const double busy = after.busy_ticks > before.busy_ticks ? static_cast<double>(after.busy_ticks - before.busy_ticks) : 0;
  const double tree = after.tree_ticks > before.tree_ticks ? static_cast<double>(after.tree_ticks - before.tree_ticks) : 0;
  return std::clamp((busy - tree) / static_cast<double>(after.total_ticks - before.total_ticks), 0.0, 1.0);
}

}  // namespace wattlab
