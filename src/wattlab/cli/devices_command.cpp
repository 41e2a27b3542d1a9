// `wattlab devices`: which energy sources work here, and why the others do not.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/listing.h"
#include "wattlab/cli/meter_notes.h"
#include "wattlab/core/env.h"
#include "wattlab/energy/meters.h"

namespace wattlab::cli {

namespace {

struct DevicesOptions {
  std::string format = "table";
  ProbeOptions probe;
};

// NVML's optional readings: null where the GPU does not report them.
template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json gpu_json(const GpuTelemetry& g) {
  auto processes = nlohmann::json::array();
  for (const auto& p : g.processes) processes.push_back({{"pid", p.pid}, {"memory_used_bytes", optional_json(p.used_memory_bytes)}});
  return {{"index", g.index},
          {"name", g.name},
          {"energy_counter", g.has_energy_counter},
          {"power_w", optional_json(g.power_w)},
          {"power_limit_w", optional_json(g.power_limit_w)},
          {"temperature_c", optional_json(g.temperature_c)},
          {"utilisation_gpu", optional_json(g.utilisation_gpu)},
          {"utilisation_memory", optional_json(g.utilisation_memory)},
          {"memory_used_bytes", optional_json(g.memory_used_bytes)},
          {"memory_total_bytes", optional_json(g.memory_total_bytes)},
          {"processes", processes}};
}

int run_devices(const DevicesOptions& o) {
  auto probes = probe_meters(Env::system(), o.probe);
  // Everything is explained here: the next command may note it again.
  forget_meter_notes();
  if (o.format == "json") {
    auto out = nlohmann::json::array();
    for (const auto& p : probes) {
      auto domains = nlohmann::json::array();
      for (const auto& d : p.domains) domains.push_back({{"name", d.name}, {"estimated", d.estimated}});
      auto gpus = nlohmann::json::array();
      for (const auto& g : p.gpus) gpus.push_back(gpu_json(g));
      out.push_back({{"meter", p.kind}, {"available", p.available}, {"estimated", p.estimated},
                     {"domains", domains}, {"reason", p.reason}, {"detail", p.detail}, {"gpus", gpus}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Listing listing({{"meter", "meter"},
                   {"available", "status"},
                   {"estimated", "figures"},
                   {"domains", "domains"},
                   {"reason", ""},
                   {"detail", "details"}});
  for (const auto& p : probes) {
    std::string domains;
    for (const auto& d : p.domains) domains += (domains.empty() ? "" : ",") + d.name;
    listing.add_row({text_cell(p.kind),
                     {p.available, p.available ? "available" : "not available"},
                     {p.estimated, p.estimated ? "estimated" : "measured"},
                     {domains, domains.empty() ? "-" : domains},
                     text_cell(p.reason),
                     {p.detail, p.available ? p.detail : p.reason}});
  }
  listing.print(std::cout, o.format);
  if (o.format == "csv") return 0;
  for (const auto& p : probes) {
    for (const auto& g : p.gpus) {
      std::printf("\ngpu-%d  %s: %s", g.index, g.name.c_str(),
                  g.has_energy_counter ? "energy counter" : "power sampled and integrated (no energy counter)");
      if (g.power_w) std::printf(", %.1f W", *g.power_w);
      if (g.power_limit_w) std::printf(" of %.0f W limit", *g.power_limit_w);
      if (g.temperature_c) std::printf(", %.0f C", *g.temperature_c);
      if (g.utilisation_gpu) std::printf(", %.0f %% busy", *g.utilisation_gpu * 100);
      if (g.memory_used_bytes && g.memory_total_bytes)
        std::printf(", %.1f / %.1f GiB", *g.memory_used_bytes / 1073741824.0, *g.memory_total_bytes / 1073741824.0);
      std::printf(", %zu processes\n", g.processes.size());
    }
  }
  bool measured = false;
  for (const auto& p : probes) measured |= p.available && !p.estimated;
  std::cout << (measured ? "\nRuns here use measured energy (--meter auto).\n"
                         : "\nNo hardware energy counter here: runs use the estimator and are labelled estimated.\n");
  return 0;
}

}  // namespace

void add_devices_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand("devices", "List the energy meters that work on this machine, and why others do not");
  auto o = std::make_shared<DevicesOptions>();
  cmd->add_option("--format", o->format, "table, json (with each GPU's readings) or csv")
      ->check(CLI::IsMember(kListingFormats))
      ->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->probe.estimator.cpu_tdp_w, "CPU TDP in watts for the estimator");
  cmd->callback([o, exit_code] { *exit_code = run_devices(*o); });
}

}  // namespace wattlab::cli
