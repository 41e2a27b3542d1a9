// Choosing meters: make_meters() builds the meters a run uses, probe_meters()
// explains which sources work on this machine and why the others do not
// (`wattlab devices`).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/estimator_meter.h"
#include "wattlab/energy/meter.h"
#include "wattlab/energy/nvml_meter.h"

namespace wattlab {

struct MeterOptions {
  // "auto"     RAPL when readable, plus NVML when a GPU is there; what RAPL
  //            does not measure is estimated: the CPU when RAPL is
  //            unavailable, the RAM when RAPL has no DRAM zone (see
  //            estimate_missing_ram). Estimated domains stay flagged.
  // "rapl"     RAPL only; "nvml": NVML only; an error with the reason and
  //            the fix when the source is unavailable.
  // "estimate" the CPU/RAM estimator only.
  std::string kind = "auto";
  EstimatorOptions estimator;  // its include_cpu/include_ram are set by "auto"
  NvmlOptions nvml;
  // "auto" only: estimate RAM energy when no DRAM counter measures it.
  bool estimate_missing_ram = true;
};

// The meters for `options.kind`. InvalidArgument for an unknown kind (the
// message lists the valid ones). "auto" fails only when no source at all
// works (the message gives every reason); otherwise each source it could not
// use adds a line to `*notes` (when not null), e.g. "rapl: cannot read
// .../energy_uj: permission denied — run `sudo chmod ...`; CPU energy is
// estimated", for the CLI to show.
Result<std::vector<std::unique_ptr<Meter>>> make_meters(Env& env, const MeterOptions& options = {},
                                                        std::vector<std::string>* notes = nullptr);

// The assumptions behind modelled figures, for the run's environment
// snapshot, so that an estimate can be re-judged later. For an estimator
// among `meters` (empty map otherwise), with the CPU domain:
//   estimator_cpu_model, estimator_cpu_tdp_w (per package),
//   estimator_cpu_tdp_source ("user", "table: <row>", or "4 W per logical
//   CPU (unknown CPU)"), estimator_cpu_package_share, estimator_cpu_idle_w,
//   estimator_cpu_max_w, estimator_utilisation_source;
// with the RAM domain: estimator_ram_gib, estimator_ram_w_per_gib,
//   estimator_ram_w.
// Numbers are printed with up to 6 significant digits.
std::map<std::string, std::string> meter_assumptions(const std::vector<std::unique_ptr<Meter>>& meters);

struct MeterProbe {
  std::string kind;                  // "rapl", "nvml", "estimator"
  bool available = false;            // make_meters() can use it here
  bool estimated = false;            // its domains are modelled
  std::vector<EnergyDomain> domains; // what it reports (or would report)
  std::string reason;                // why not available; empty when available
  std::string detail;                // what it found: zones, GPUs and how each is metered, the model
  std::vector<GpuTelemetry> gpus;    // nvml only: a snapshot of each GPU
};

struct ProbeOptions {
  std::string nvml_library;  // the name passed to dlopen(); empty: default_nvml_library()
  EstimatorOptions estimator;
};

// One probe per known meter kind, in the order rapl, nvml, estimator. Never
// fails: a source that cannot be used says why in `reason` (no powercap,
// permission denied with the fix, no NVML library, NVML init failed...).
std::vector<MeterProbe> probe_meters(Env& env, const ProbeOptions& options = {});

}  // namespace wattlab
