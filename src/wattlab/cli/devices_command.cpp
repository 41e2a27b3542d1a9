// `wattlab devices`: which energy sources work here, and why the others do not.
#include <iostream>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"
#include "wattlab/energy/meters.h"

namespace wattlab::cli {

namespace {

struct DevicesOptions {
  std::string format = "table";
  ProbeOptions probe;
};

int run_devices(const DevicesOptions& o) {
  auto probes = probe_meters(Env::system(), o.probe);
  if (o.format == "json") {
    auto out = nlohmann::json::array();
    for (const auto& p : probes) {
      auto domains = nlohmann::json::array();
      for (const auto& d : p.domains) domains.push_back({{"name", d.name}, {"estimated", d.estimated}});
      out.push_back({{"meter", p.kind}, {"available", p.available}, {"estimated", p.estimated},
                     {"domains", domains}, {"reason", p.reason}, {"detail", p.detail}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  TextTable table({"meter", "status", "figures", "domains", "details"});
  for (const auto& p : probes) {
    std::string domains;
    for (const auto& d : p.domains) domains += (domains.empty() ? "" : ", ") + d.name;
    table.add_row({p.kind, p.available ? "available" : "not available",
                   p.estimated ? "estimated" : "measured", domains.empty() ? "-" : domains,
                   p.available ? p.detail : p.reason});
  }
  table.print(std::cout);
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
  cmd->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->probe.estimator.cpu_tdp_w, "CPU TDP in watts for the estimator");
  cmd->callback([o, exit_code] { *exit_code = run_devices(*o); });
}

}  // namespace wattlab::cli
