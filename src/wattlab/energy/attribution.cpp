#include "wattlab/energy/attribution.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace wattlab {
namespace {

// The number of kB on the line of `text` that starts with `key` ("VmRSS:  1234 kB"), in bytes.
bool kilobytes_of(std::string_view text, std::string_view key, double* bytes) {
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(key)) continue;
    line.remove_prefix(key.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    int64_t kb = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kb);
    if (ec != std::errc() || kb < 0) return false;
    *bytes = static_cast<double>(kb) * 1024.0;
    return true;
  }
  return false;
}

}  // namespace

DomainKind domain_kind(const std::string& name) {
  if (name == "ram-estimated" || name == "dram" || name.ends_with("/dram")) return DomainKind::kRam;
  if (name.starts_with("gpu-")) return DomainKind::kGpu;
  return DomainKind::kCpu;
}

AttributedEnergy attribute_energy(const EnergyWindow& window, const AttributionShares& shares) {
  AttributedEnergy out;
  for (const DomainEnergy& d : window.domains) {
    if (!d.counts_in_total) continue;
    switch (domain_kind(d.name)) {
      case DomainKind::kCpu: out.cpu_j += d.energy_j * std::clamp(shares.cpu_busy_share, 0.0, 1.0); break;
      case DomainKind::kRam: out.ram_j += d.energy_j * std::clamp(shares.ram_share, 0.0, 1.0); break;
      case DomainKind::kGpu: out.gpu_j += d.energy_j; break;
    }
  }
  return out;
}

Result<double> read_resident_bytes(Env& env, int pid) {
  const auto path = env.proc_path(std::to_string(pid) + "/status");
  auto text = Env::read_file(path);
  if (!text.ok()) {
    return Status::not_found("resident memory: process " + std::to_string(pid) + " not found (" + path.string() + ")");
  }
  double bytes = 0;
  if (!kilobytes_of(*text, "VmRSS:", &bytes)) return Status::corrupt("resident memory: no VmRSS line in " + path.string());
  return bytes;
}

Result<double> read_installed_memory_bytes(Env& env) {
  const auto path = env.proc_path("meminfo");
  auto text = Env::read_file(path);
  if (!text.ok()) return text.status().with_context("installed memory");
  double bytes = 0;
  if (!kilobytes_of(*text, "MemTotal:", &bytes) || bytes <= 0) {
    return Status::corrupt("installed memory: no MemTotal line in " + path.string());
  }
  return bytes;
}

void TimeWeightedMean::add(double monotonic_ms, double value) {
  if (samples_ == 0) {
    first_ms_ = monotonic_ms;
  } else {
    area_ += (monotonic_ms - last_ms_) * (value + last_value_) / 2;
  }
  last_ms_ = monotonic_ms;
  last_value_ = value;
  ++samples_;
}

double TimeWeightedMean::mean() const {
  if (samples_ == 0) return 0;
  const double span_ms = last_ms_ - first_ms_;
  return span_ms > 0 ? area_ / span_ms : last_value_;
}

}  // namespace wattlab
