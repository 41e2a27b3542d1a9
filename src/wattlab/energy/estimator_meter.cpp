#include "wattlab/energy/estimator_meter.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "wattlab/energy/cpu_tdp.h"

namespace wattlab {
namespace {

constexpr double kFallbackW_PerThread = 4.0;  // CodeCarbon's figure for unknown CPUs
// Enough for /proc/stat's aggregate line ("cpu " and ten 20-digit counters),
// cpuacct.usage, and a root cgroup-v2 cpu.stat.
constexpr size_t kHeadBytes = 512;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

// Three significant digits, no exponent, no trailing zeros: "8.78", "0.375",
// "23.4", "150", "1235".
std::string num(double value) {
  char buf[64];
  if (std::fabs(value) >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", value);
  }
  return buf;
}

struct CpuInfo {
  std::string model_name;
  int processors = 0;
  int packages = 0;  // distinct "physical id"
};

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo info;
  std::set<std::string> physical_ids;
  for (std::string_view line : split_lines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++info.processors;
    } else if (key == "model name" && info.model_name.empty()) {
      info.model_name = std::string(value);
    } else if (key == "physical id") {
      physical_ids.insert(std::string(value));
    }
  }
  info.packages = static_cast<int>(physical_ids.size());
  return info;
}

}  // namespace

const char* cpu_busy_source_name(CpuBusySource source) {
  switch (source) {
    case CpuBusySource::kCgroupV1Cpuacct: return "cgroup-v1 cpuacct.usage";
    case CpuBusySource::kCgroupV2CpuStat: return "cgroup-v2 cpu.stat";
    case CpuBusySource::kProcStat: return "/proc/stat";
  }
  return "?";
}

Result<CpuRamEstimatorMeter::CpuTimes> CpuRamEstimatorMeter::read_cpu_times(double now_ms) {
  if (!busy_file_) {
    auto opened = RereadableFile::open(busy_path_);
    if (!opened.ok()) return opened.status();
    busy_file_ = std::move(opened).value();
  }
  // The sampler calls this every tick: one pread of the head, no allocation.
  auto head = busy_file_->read_head(kHeadBytes);
  if (!head.ok()) return head.status();
  auto corrupt = [&](const std::string& what) {
    const std::string_view text = head->substr(0, std::min(head->find('\n'), size_t{80}));
    return Status::corrupt(busy_file_->path().string() + ": " + what + " (it begins \"" + std::string(text) + "\")");
  };
  CpuTimes times;
  // The cgroup sources count busy nanoseconds; all CPU time is the
  // monotonic time × the online CPUs.
  const auto all_cpu_ns = static_cast<uint64_t>(std::max(0.0, now_ms) * 1e6) * static_cast<uint64_t>(online_cpus_);
  switch (busy_source_) {
    case CpuBusySource::kCgroupV1Cpuacct: {
      const std::string_view text = trim(head->substr(0, head->find('\n')));
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), times.busy);
      if (ec != std::errc() || ptr != text.data() + text.size()) return corrupt("expected one integer (nanoseconds)");
      times.total = all_cpu_ns;
      return times;
    }
    case CpuBusySource::kCgroupV2CpuStat: {
      std::optional<uint64_t> user_us, system_us;
      for (std::string_view rest = *head; !rest.empty();) {  // line by line, allocating nothing
        const size_t eol = std::min(rest.find('\n'), rest.size());
        const std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(std::min(eol + 1, rest.size()));
        const size_t space = line.find(' ');
        if (space == std::string_view::npos) continue;
        const std::string_view key = line.substr(0, space), value = trim(line.substr(space + 1));
        std::optional<uint64_t>* field = key == "user_usec" ? &user_us : key == "system_usec" ? &system_us : nullptr;
        if (field == nullptr) continue;
        uint64_t v = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec == std::errc() && ptr == value.data() + value.size()) *field = v;
      }
      if (!user_us || !system_us) return corrupt("no \"user_usec N\" and \"system_usec N\" lines");
      times.busy = (*user_us + *system_us) * 1000;
      times.total = all_cpu_ns;
      return times;
    }
    case CpuBusySource::kProcStat:
      break;
  }
  const size_t eol = head->find('\n');
  if (eol == std::string_view::npos || head->substr(0, 4) != "cpu ") {
    return corrupt("does not start with the aggregate \"cpu\" line");
  }
  const std::string_view line = head->substr(0, eol);
  // user nice system idle iowait irq softirq steal guest guest_nice; older
  // kernels stop after idle. guest and guest_nice are inside user and nice.
  uint64_t field[8] = {};
  std::string_view rest = line.substr(4);
  int count = 0;
  while (count < 8) {
    rest = trim(rest);
    if (rest.empty()) break;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), field[count]);
    if (ec != std::errc()) break;
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    ++count;
  }
  if (count < 4) return corrupt("cannot parse the aggregate \"cpu\" line");
  times.busy = field[0] + field[1] + field[2] + field[5] + field[6];
  times.total = times.busy + field[3] + field[4] + field[7];
  return times;
}

Result<std::unique_ptr<CpuRamEstimatorMeter>> CpuRamEstimatorMeter::create(Env& env,
                                                                           const EstimatorOptions& options) {
  if (options.cpu_tdp_w && !(std::isfinite(*options.cpu_tdp_w) && *options.cpu_tdp_w > 0)) {
    return Status::invalid_argument("estimator: cpu_tdp_w must be a positive number of watts, got " +
                                    num(*options.cpu_tdp_w));
  }
  if (!(options.cpu_idle_fraction >= 0 && options.cpu_idle_fraction <= 1)) {
    return Status::invalid_argument("estimator: cpu_idle_fraction must be within [0, 1], got " +
                                    num(options.cpu_idle_fraction));
  }
  if (!(std::isfinite(options.ram_w_per_gib) && options.ram_w_per_gib >= 0)) {
    return Status::invalid_argument("estimator: ram_w_per_gib must be a non-negative number, got " +
                                    num(options.ram_w_per_gib));
  }
  if (options.cpu_package_share &&
      !(std::isfinite(*options.cpu_package_share) && *options.cpu_package_share > 0)) {
    return Status::invalid_argument("estimator: cpu_package_share must be positive, got " +
                                    num(*options.cpu_package_share));
  }

  if (!options.include_cpu && !options.include_ram) {
    return Status::invalid_argument("estimator: include_cpu and include_ram are both false: nothing to estimate");
  }

  // /proc/stat first: without it there is no utilisation and no estimator.
  const auto stat_path = env.proc_path("stat");
  auto stat_text = Env::read_file(stat_path);
  if (!stat_text.ok()) {
    return stat_text.status().with_context("the CPU estimator needs " + stat_path.string() +
                                           " for CPU utilisation (set WATTLAB_PROC_ROOT if /proc is elsewhere)");
  }
  int stat_cpus = 0;
  for (std::string_view line : split_lines(*stat_text)) {
    if (line.size() > 3 && line.substr(0, 3) == "cpu" && line[3] >= '0' && line[3] <= '9') ++stat_cpus;
  }

  CpuInfo cpuinfo;
  if (auto text = Env::read_file(env.proc_path("cpuinfo")); text.ok()) cpuinfo = parse_cpuinfo(*text);

  const auto meminfo_path = env.proc_path("meminfo");
  auto meminfo = Env::read_file(meminfo_path);
  if (!meminfo.ok()) {
    return meminfo.status().with_context("the RAM estimator needs " + meminfo_path.string() + " for MemTotal");
  }
  std::optional<double> mem_kib;
  for (std::string_view line : split_lines(*meminfo)) {
    if (line.substr(0, 9) != "MemTotal:") continue;
    std::string_view value = trim(line.substr(9));
    uint64_t kib = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), kib);
    if (ec == std::errc() && trim(std::string_view(ptr, value.data() + value.size() - ptr)) == "kB") {
      mem_kib = static_cast<double>(kib);
    }
    break;
  }
  if (!mem_kib) return Status::corrupt("cannot find \"MemTotal: <n> kB\" in " + meminfo_path.string());

  CpuRamModel model;
  model.cpu_model_name = cpuinfo.model_name.empty() ? "unknown CPU" : cpuinfo.model_name;
  model.logical_cpus = std::max(1, cpuinfo.processors > 0 ? cpuinfo.processors : stat_cpus);
  model.idle_fraction = options.cpu_idle_fraction;
  model.ram_gib = *mem_kib / (1024.0 * 1024.0);
  model.ram_w_per_gib = options.ram_w_per_gib;
  const double packages = std::max(1, cpuinfo.packages);
  std::optional<CpuTdpMatch> match;
  if (options.cpu_tdp_w) {
    model.tdp_source = CpuRamModel::TdpSource::kUser;
    model.tdp_w = *options.cpu_tdp_w;
    model.package_share = packages;
  } else if (!cpuinfo.model_name.empty() && (match = CpuTdpTable::builtin().match(cpuinfo.model_name))) {
    model.tdp_source = CpuRamModel::TdpSource::kTable;
    model.tdp_w = match->tdp_w;
    model.tdp_table_name = match->table_name;
    model.package_share = packages;
  } else {
    model.tdp_source = CpuRamModel::TdpSource::kPerThreadFallback;
    model.tdp_w = kFallbackW_PerThread * model.logical_cpus;
    model.package_share = 1;
  }
  if (options.cpu_package_share) model.package_share = *options.cpu_package_share;

  std::unique_ptr<CpuRamEstimatorMeter> meter(new CpuRamEstimatorMeter(
      env, std::move(model), env.clock().monotonic_ms(), options.include_cpu, options.include_ram));
  // The cheapest source that counts the whole machine (see the header): a
  // hierarchy's root cgroup, whose file must read and parse now.
  struct Candidate {
    CpuBusySource source;
    std::filesystem::path dir;
    const char* file;
  };
  const Candidate candidates[] = {
      {CpuBusySource::kCgroupV1Cpuacct, env.sysfs_path("fs/cgroup/cpuacct"), "cpuacct.usage"},
      {CpuBusySource::kCgroupV2CpuStat, env.sysfs_path("fs/cgroup"), "cpu.stat"},
      {CpuBusySource::kCgroupV2CpuStat, env.sysfs_path("fs/cgroup/unified"), "cpu.stat"},
  };
  std::error_code ec;
  for (const Candidate& candidate : candidates) {
    if (stat_cpus == 0 || !options.include_cpu) break;
    const bool at_root = candidate.source == CpuBusySource::kCgroupV1Cpuacct
                             ? std::filesystem::exists(candidate.dir / "release_agent", ec)
                             : !std::filesystem::exists(candidate.dir / "cgroup.type", ec);
    if (!at_root || !std::filesystem::exists(candidate.dir / candidate.file, ec)) continue;
    meter->busy_source_ = candidate.source;
    meter->busy_path_ = candidate.dir / candidate.file;
    meter->online_cpus_ = stat_cpus;
    if (auto first = meter->read_cpu_times(meter->last_read_ms_); first.ok()) {
      meter->last_times_ = *first;
      return meter;
    }
    meter->busy_file_.reset();
  }
  meter->busy_source_ = CpuBusySource::kProcStat;
  meter->busy_path_ = stat_path;
  auto first = meter->read_cpu_times(meter->last_read_ms_);
  if (!first.ok()) return first.status().with_context("the CPU estimator cannot use " + stat_path.string());
  meter->last_times_ = *first;
  return meter;
}

CpuRamEstimatorMeter::CpuRamEstimatorMeter(Env& env, CpuRamModel model, double now_ms, bool include_cpu,
                                           bool include_ram)
    : env_(env),
      model_(std::move(model)),
      last_read_ms_(now_ms),
      include_cpu_(include_cpu),
      include_ram_(include_ram) {
  if (include_cpu_) domains_.push_back({"cpu-estimated", true});
  if (include_ram_) domains_.push_back({"ram-estimated", true});
}

Status CpuRamEstimatorMeter::read_energy_j(std::vector<double>* energy_j) {
  const double now_ms = env_.clock().monotonic_ms();
  if (include_cpu_) {  // RAM alone needs no utilisation: spare the sampler the read
    auto times = read_cpu_times(now_ms);
    if (!times.ok()) {
      busy_file_.reset();  // opened afresh next time, should the file have been replaced
      return times.status().with_context("estimator");
    }
    // Counters that went backwards (CPU hot-unplug, a replaced fixture) say
    // nothing about this interval: keep the previous utilisation.
    if (times->total > last_times_.total && times->busy >= last_times_.busy) {
      const double busy = static_cast<double>(times->busy - last_times_.busy);
      const double total = static_cast<double>(times->total - last_times_.total);
      utilisation_ = std::clamp(busy / total, 0.0, 1.0);
    }
    last_times_ = *times;
  }
  const double elapsed_s = std::max(0.0, now_ms - last_read_ms_) / 1000.0;
  cpu_energy_j_ += model_.cpu_power_w(utilisation_) * elapsed_s;
  ram_energy_j_ += model_.ram_power_w() * elapsed_s;
  last_read_ms_ = std::max(last_read_ms_, now_ms);
  energy_j->clear();
  if (include_cpu_) energy_j->push_back(cpu_energy_j_);
  if (include_ram_) energy_j->push_back(ram_energy_j_);
  return Status();
}

std::string CpuRamEstimatorMeter::describe() const {
  const CpuRamModel& m = model_;
  std::ostringstream out;
  out << "CPU: " << m.cpu_model_name << ", ";
  switch (m.tdp_source) {
    case CpuRamModel::TdpSource::kPerThreadFallback:
      out << "TDP unknown \u2192 " << num(kFallbackW_PerThread) << " W \u00d7 " << m.logical_cpus
          << (m.logical_cpus == 1 ? " thread" : " threads") << " = " << num(m.tdp_w) << " W";
      if (m.package_share != 1) out << " \u00d7 share " << num(m.package_share) << " = " << num(m.cpu_max_w()) << " W";
      break;
    case CpuRamModel::TdpSource::kTable:
    case CpuRamModel::TdpSource::kUser:
      out << "TDP " << num(m.tdp_w) << " W ("
          << (m.tdp_source == CpuRamModel::TdpSource::kUser ? "user" : "table: " + m.tdp_table_name) << ") \u00d7 "
          << num(m.package_share) << (m.package_share == 1 ? " package" : " packages") << " = "
          << num(m.cpu_max_w()) << " W";
      break;
  }
  out << " at full load, idle " << num(m.idle_fraction * 100) << " % = " << num(m.cpu_idle_w())
      << " W (estimated), utilisation from " << cpu_busy_source_name(busy_source_) << "; RAM " << num(m.ram_gib) << " GiB \u00d7 " << num(m.ram_w_per_gib)
      << " W/GiB = " << num(m.ram_power_w()) << " W (estimated)";
  return out.str();
}

}  // namespace wattlab
