#include "wattlab/energy/rapl_meter.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>

namespace wattlab {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.pop_back();
  }
  size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
  return text.substr(start);
}

// A powercap entry such as "intel-rapl:0" or "intel-rapl-mmio:1:2".
struct Entry {
  std::string zone;
  std::string type;  // "intel-rapl", "intel-rapl-mmio", "amd-rapl"
  bool mmio = false;
  int package = 0;    // N
  int sub = -1;       // M, or -1 for a top-level zone
  std::string name;   // contents of the zone's `name` file
  uint64_t max_energy_range_uj = 0;
};

bool parse_int(std::string_view text, int* value) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size() && *value >= 0;
}

bool parse_entry(const std::string& zone, Entry* entry) {
  const size_t first = zone.find(':');
  if (first == std::string::npos) return false;  // a control type, not a zone
  entry->zone = zone;
  entry->type = zone.substr(0, first);
  if (entry->type.find("rapl") == std::string::npos) return false;
  entry->mmio = entry->type.size() >= 5 && entry->type.compare(entry->type.size() - 5, 5, "-mmio") == 0;
  const std::string rest = zone.substr(first + 1);
  const size_t second = rest.find(':');
  if (second == std::string::npos) {
    entry->sub = -1;
    return parse_int(rest, &entry->package);
  }
  return parse_int(std::string_view(rest).substr(0, second), &entry->package) &&
         parse_int(std::string_view(rest).substr(second + 1), &entry->sub);
}

Result<uint64_t> read_uint64(const std::filesystem::path& path) {
  auto text = Env::read_file(path);
  if (!text.ok()) return text.status();
  const std::string value = trimmed(*text);
  uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
    return Status::corrupt("cannot parse " + path.string() + ": expected a non-negative integer, got \"" + value +
                           "\"");
  }
  return number;
}

}  // namespace

namespace internal {
Status rapl_read_error(const std::filesystem::path& path, const Status& status) {
  if (status.code() != Status::Code::kPermissionDenied) return status;
  const std::string glob = (path.parent_path().parent_path() / "*" / "energy_uj").string();
  return Status::permission_denied(
      "cannot read " + path.string() +
      ": permission denied \u2014 RAPL energy counters are readable by root only since CVE-2020-8694; run `sudo "
      "chmod o+r " + glob +
      "` (until the next reboot; a udev rule or a systemd-tmpfiles entry makes it permanent), or use --meter "
      "estimate");
}
}  // namespace internal

Result<std::unique_ptr<RaplPowercapMeter>> RaplPowercapMeter::create(Env& env) {
  const std::filesystem::path powercap = env.sysfs_path("class/powercap");
  auto listing = Env::list_dir(powercap);
  std::vector<Entry> entries;
  if (listing.ok()) {
    for (const std::string& zone : *listing) {
      Entry entry;
      if (parse_entry(zone, &entry)) entries.push_back(std::move(entry));
    }
  }
  if (entries.empty()) {
    return Status::unavailable("no powercap zones under " + powercap.string() + " (VM or container without RAPL)");
  }
  for (Entry& entry : entries) {
    auto name = Env::read_file(powercap / entry.zone / "name");
    if (!name.ok()) return name.status().with_context("rapl: zone " + entry.zone + " has no readable name");
    entry.name = trimmed(*name);
    if (entry.name.empty()) entry.name = entry.zone;
    auto range = read_uint64(powercap / entry.zone / "max_energy_range_uj");
    if (!range.ok()) return range.status().with_context("rapl");
    entry.max_energy_range_uj = *range;
  }

  // Top-level zones, MSR before MMIO, by number; each followed by its sub-zones.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.mmio != b.mmio) return !a.mmio;
    if (a.type != b.type) return a.type < b.type;
    if (a.package != b.package) return a.package < b.package;
    return a.sub < b.sub;
  });
  std::set<std::string> msr_names;
  bool any_package = false;
  for (const Entry& entry : entries) {
    if (entry.sub >= 0) continue;
    if (!entry.mmio) msr_names.insert(entry.name);
    if (entry.name.rfind("package", 0) == 0) any_package = true;
  }

  std::vector<RaplZone> zones;
  std::string dropped;
  std::set<std::string> domain_names;
  std::map<std::string, std::string> parent_domain;  // "<type>:N" → its domain name, for kept parents
  for (const Entry& entry : entries) {
    const std::string parent_zone = entry.type + ":" + std::to_string(entry.package);
    if (entry.sub < 0) {
      if (entry.mmio && msr_names.count(entry.name)) {
        dropped += (dropped.empty() ? "" : ", ") + entry.zone + " (duplicates " + entry.name + ")";
        continue;
      }
    } else if (!parent_domain.count(parent_zone)) {
      continue;  // its parent was dropped, or is missing
    }
    RaplZone zone;
    zone.zone = entry.zone;
    zone.mmio = entry.mmio;
    zone.max_energy_range_uj = entry.max_energy_range_uj;
    if (entry.sub < 0) {
      zone.domain = entry.name;
      zone.counts_in_total = entry.name != "psys" || !any_package;
    } else {
      zone.domain = parent_domain[parent_zone] + "/" + entry.name;
      zone.counts_in_total = entry.name == "dram";
    }
    if (!domain_names.insert(zone.domain).second) {
      zone.domain += "@" + entry.zone;
      domain_names.insert(zone.domain);
    }
    if (entry.sub < 0) parent_domain[parent_zone] = zone.domain;
    zones.push_back(std::move(zone));
  }

  std::unique_ptr<RaplPowercapMeter> meter(new RaplPowercapMeter(powercap, std::move(zones), std::move(dropped)));
  auto first = meter->read_counters_uj();
  if (!first.ok()) return first.status();
  meter->last_uj_ = std::move(first).value();
  return meter;
}

RaplPowercapMeter::RaplPowercapMeter(std::filesystem::path powercap, std::vector<RaplZone> zones,
                                     std::string dropped)
    : powercap_(std::move(powercap)), zones_(std::move(zones)), dropped_(std::move(dropped)) {
  max_read_interval_ms_ = std::numeric_limits<double>::infinity();
  for (const RaplZone& zone : zones_) {
    EnergyDomain domain;
    domain.name = zone.domain;
    domain.counts_in_total = zone.counts_in_total;
    domains_.push_back(std::move(domain));
    if (zone.max_energy_range_uj > 0) {
      // range µJ / P W = range / P µs = range / (1000 P) ms.
      const double ms = static_cast<double>(zone.max_energy_range_uj) / (1000.0 * kMaxPlausibleZonePowerW);
      max_read_interval_ms_ = std::min(max_read_interval_ms_, ms);
    }
  }
  if (max_read_interval_ms_ == std::numeric_limits<double>::infinity()) max_read_interval_ms_ = 1000.0;
  total_uj_.assign(zones_.size(), 0);
}

Result<std::vector<uint64_t>> RaplPowercapMeter::read_counters_uj() const {
  std::vector<uint64_t> values;
  values.reserve(zones_.size());
  for (const RaplZone& zone : zones_) {
    const auto path = powercap_ / zone.zone / "energy_uj";
    auto value = read_uint64(path);
    if (!value.ok()) return internal::rapl_read_error(path, value.status());
    values.push_back(*value);
  }
  return values;
}

Status RaplPowercapMeter::read_energy_j(std::vector<double>* energy_j) {
  auto now = read_counters_uj();
  if (!now.ok()) return now.status().with_context("rapl");
  for (size_t i = 0; i < zones_.size(); ++i) {
    const uint64_t prev = last_uj_[i];
    const uint64_t cur = (*now)[i];
    uint64_t delta_uj;
    if (cur >= prev) {
      delta_uj = cur - prev;
    } else if (zones_[i].max_energy_range_uj >= prev) {
      delta_uj = zones_[i].max_energy_range_uj - prev + cur;  // wrapped once
    } else {
      delta_uj = cur;  // a counter beyond its stated range went back: treat as a restart from 0
    }
    total_uj_[i] += delta_uj;
  }
  last_uj_ = std::move(now).value();
  energy_j->resize(zones_.size());
  for (size_t i = 0; i < zones_.size(); ++i) (*energy_j)[i] = static_cast<double>(total_uj_[i]) / 1e6;
  return Status();
}

std::string RaplPowercapMeter::describe() const {
  std::string out;
  for (const RaplZone& zone : zones_) {
    if (!out.empty()) out += ", ";
    out += zone.zone + " \u2192 " + zone.domain;
    if (!zone.counts_in_total) out += zone.domain == "psys" ? " (platform, not added to totals)" : " (in package)";
  }
  if (!dropped_.empty()) out += "; dropped " + dropped_;
  return out;
}

}  // namespace wattlab
