// wattlab runs as CodeCarbon's emissions.csv, so that dashboards and
// notebooks built on CodeCarbon's output read them unchanged
// (`wattlab runs emissions`).
//
// The columns are CodeCarbon's (EmissionsData, codecarbon/output_methods/
// emissions_data.py, as written by its 2.x trackers and read by its
// dashboard), in its order and units: duration s, emissions kg CO2eq,
// emissions_rate kg/s, *_power W (means over the run), *_energy and
// energy_consumed kWh, ram_total_size GB. A run becomes one row:
//   timestamp         the run's end (else start), local time, ISO 8601 to the second
//   project_name      the experiment's name; experiment_id its id
//   run_id            the run id as a UUID (8-4-4-4-12)
//   cpu/gpu/ram_*     the "run" energy window's domains that count in its total:
//                     gpu-* as GPU, dram* and ram-* as RAM, the rest (packages,
//                     cpu-estimated, psys) as CPU
//   energy_consumed   the energy_j metric; emissions the co2e_g metric / 1000
//   country_*, cloud_* from the carbon_source param (a country code or a
//                     provider:region and its country); region left empty
//   os, cpu_count, cpu_model, ram_total_size  from the environment snapshot;
//                     gpu_count / gpu_model from it, else the GPU domains
//   python_version, codecarbon_version, longitude, latitude: empty
//   tracking_mode     "machine" (wattlab meters the whole machine); on_cloud
//                     "Y" for a cloud region; pue the pue param, else 1
// A figure the run lacks is an empty field.
#pragma once

#include <string>
#include <vector>

#include "wattlab/track/entities.h"

namespace wattlab::cli {

const std::vector<std::string>& codecarbon_columns();

// The run's row, one field per column (not yet CSV-quoted). `run` is
// RunCatalog::get_run's (with energy windows and environment).
std::vector<std::string> codecarbon_row(const RunData& run, const std::string& experiment_name);

}  // namespace wattlab::cli
