#include "wattlab/energy/meters.h"

#include <cstdio>

#include "wattlab/energy/rapl_meter.h"

namespace wattlab {
namespace {

bool has_dram(const RaplPowercapMeter& rapl) {
  for (const EnergyDomain& domain : rapl.domains()) {
    const std::string& n = domain.name;
    if (n == "dram" || (n.size() >= 5 && n.compare(n.size() - 5, 5, "/dram") == 0) ||
        n.find("/dram@") != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The error for a source the user asked for by name: the source's own
// reason (a permission error already carries its fix), and the alternatives.
Status explicit_error(const std::string& kind, const Status& status) {
  if (status.code() == Status::Code::kPermissionDenied) return status.with_context("--meter " + kind);
  return Status::unavailable("--meter " + kind + ": " + status.message() +
                             "; use --meter auto (which falls back to the estimator) or --meter estimate");
}

Result<std::vector<std::unique_ptr<Meter>>> make_auto(Env& env, const MeterOptions& options,
                                                      std::vector<std::string>* notes) {
  std::vector<std::unique_ptr<Meter>> meters;
  std::vector<std::string> reasons;
  auto note = [&](const std::string& line) {
    reasons.push_back(line);
    if (notes) notes->push_back(line);
  };

  bool cpu_measured = false;
  bool ram_measured = false;
  auto rapl = RaplPowercapMeter::create(env);
  if (rapl.ok()) {
    cpu_measured = true;
    ram_measured = has_dram(**rapl);
    meters.push_back(std::move(rapl).value());
  } else {
    note("rapl: " + rapl.status().message() + "; CPU energy is estimated");
  }
  auto nvml = NvmlMeter::create(env, options.nvml);
  if (nvml.ok()) {
    meters.push_back(std::move(nvml).value());
  } else {
    note("nvml: " + nvml.status().message());
  }
  const bool estimate_ram = !ram_measured && options.estimate_missing_ram;
  if (!cpu_measured || estimate_ram) {
    EstimatorOptions estimator_options = options.estimator;
    estimator_options.include_cpu = !cpu_measured;
    estimator_options.include_ram = estimate_ram;
    auto estimator = CpuRamEstimatorMeter::create(env, estimator_options);
    if (estimator.ok()) {
      meters.push_back(std::move(estimator).value());
    } else if (meters.empty()) {
      return estimator.status();
    } else {
      note("estimator: " + estimator.status().message());
    }
  }
  if (meters.empty()) {
    std::string all;
    for (const std::string& r : reasons) all += (all.empty() ? "" : "; ") + r;
    return Status::unavailable("no energy source works here: " + all);
  }
  return meters;
}

MeterProbe probe_rapl(Env& env) {
  MeterProbe probe;
  probe.kind = "rapl";
  auto meter = RaplPowercapMeter::create(env);
  if (meter.ok()) {
    probe.available = true;
    probe.domains = (*meter)->domains();
    probe.detail = (*meter)->describe();
    return probe;
  }
  probe.reason = meter.status().message();
  // Say what is there even when it cannot be read.
  const auto powercap = env.sysfs_path("class/powercap");
  if (auto entries = Env::list_dir(powercap); entries.ok()) {
    std::string names;
    for (const std::string& entry : *entries) {
      if (entry.find("rapl") == std::string::npos || entry.find(':') == std::string::npos) continue;
      auto name = Env::read_file(powercap / entry / "name");
      std::string domain = name.ok() ? *name : entry;
      while (!domain.empty() && (domain.back() == '\n' || domain.back() == ' ')) domain.pop_back();
      names += (names.empty() ? "" : ", ") + entry + " (" + domain + ")";
    }
    if (!names.empty()) probe.detail = "powercap zones: " + names;
  }
  return probe;
}

MeterProbe probe_nvml(Env& env, const std::string& library) {
  MeterProbe probe;
  probe.kind = "nvml";
  NvmlOptions options;
  options.library = library;
  auto meter = NvmlMeter::create(env, options);
  if (!meter.ok()) {
    probe.reason = meter.status().message();
    return probe;
  }
  probe.available = true;
  probe.domains = (*meter)->domains();
  probe.detail = (*meter)->describe();
  probe.gpus = (*meter)->telemetry();
  return probe;
}

MeterProbe probe_estimator(Env& env, const EstimatorOptions& options) {
  MeterProbe probe;
  probe.kind = "estimator";
  probe.estimated = true;
  auto meter = CpuRamEstimatorMeter::create(env, options);
  if (!meter.ok()) {
    probe.domains = {{"cpu-estimated", true}, {"ram-estimated", true}};
    probe.reason = meter.status().message();
    return probe;
  }
  probe.available = true;
  probe.domains = (*meter)->domains();
  probe.detail = (*meter)->describe();
  return probe;
}

}  // namespace

Result<std::vector<std::unique_ptr<Meter>>> make_meters(Env& env, const MeterOptions& options,
                                                        std::vector<std::string>* notes) {
  std::vector<std::unique_ptr<Meter>> meters;
  if (options.kind == "auto") return make_auto(env, options, notes);
  if (options.kind == "estimate") {
    auto estimator = CpuRamEstimatorMeter::create(env, options.estimator);
    if (!estimator.ok()) return estimator.status();
    meters.push_back(std::move(estimator).value());
    return meters;
  }
  if (options.kind == "rapl") {
    auto rapl = RaplPowercapMeter::create(env);
    if (!rapl.ok()) return explicit_error("rapl", rapl.status());
    meters.push_back(std::move(rapl).value());
    return meters;
  }
  if (options.kind == "nvml") {
    auto nvml = NvmlMeter::create(env, options.nvml);
    if (!nvml.ok()) return explicit_error("nvml", nvml.status());
    meters.push_back(std::move(nvml).value());
    return meters;
  }
  return Status::invalid_argument("unknown meter kind \"" + options.kind + "\": use auto, rapl, nvml or estimate");
}

std::vector<MeterProbe> probe_meters(Env& env, const ProbeOptions& options) {
  return {probe_rapl(env), probe_nvml(env, options.nvml_library), probe_estimator(env, options.estimator)};
}

std::map<std::string, std::string> meter_assumptions(const std::vector<std::unique_ptr<Meter>>& meters) {
  std::map<std::string, std::string> out;
  auto number = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf);
  };
  for (const auto& meter : meters) {
    const auto* estimator = dynamic_cast<const CpuRamEstimatorMeter*>(meter.get());
    if (estimator == nullptr) continue;
    const CpuRamModel& m = estimator->model();
    bool cpu = false, ram = false;
    for (const auto& d : estimator->domains()) {
      cpu |= d.name == "cpu-estimated";
      ram |= d.name == "ram-estimated";
    }
    if (cpu) {
      out["estimator_cpu_model"] = m.cpu_model_name;
      out["estimator_cpu_tdp_w"] = number(m.tdp_w);
      switch (m.tdp_source) {
        case CpuRamModel::TdpSource::kUser: out["estimator_cpu_tdp_source"] = "user"; break;
        case CpuRamModel::TdpSource::kTable: out["estimator_cpu_tdp_source"] = "table: " + m.tdp_table_name; break;
        case CpuRamModel::TdpSource::kPerThreadFallback:
          out["estimator_cpu_tdp_source"] = "4 W per logical CPU (unknown CPU)";
          break;
      }
      out["estimator_cpu_package_share"] = number(m.package_share);
      out["estimator_cpu_idle_w"] = number(m.cpu_idle_w());
      out["estimator_cpu_max_w"] = number(m.cpu_max_w());
      out["estimator_utilisation_source"] = cpu_busy_source_name(estimator->busy_source());
    }
    if (ram) {
      out["estimator_ram_gib"] = number(m.ram_gib);
      out["estimator_ram_w_per_gib"] = number(m.ram_w_per_gib);
      out["estimator_ram_w"] = number(m.ram_power_w());
    }
  }
  return out;
}

}  // namespace wattlab
