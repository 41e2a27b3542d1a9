// NvmlMeter: NVIDIA GPU energy through NVML, loaded with dlopen() at run time
// so that wattlab has no build dependency on NVIDIA.
//
// Per GPU (domain "gpu-N", N the NVML index):
//   - nvmlDeviceGetTotalEnergyConsumption (mJ since the driver loaded; Volta
//     and newer) when the GPU supports it: energy = counter − counter at
//     creation. The 64-bit counter cannot wrap; should it go back (driver
//     reload), the interval that saw it counts as 0 and counting resumes.
//     That call is costly (on an H100 it spins ~4 ms of CPU), so only exact
//     reads (read_energy_j: window boundaries, the Monitor's baseline and
//     stop) and a sampler read every NvmlOptions::counter_read_interval_ms
//     read it; the sampler's reads in between (sample_energy_j) report the
//     counter's energy at its last read plus the power reading integrated
//     since (trapezoid, as below), re-anchored to the counter at its next
//     read. Window energies thus stay exact counter differences. NVML's power
//     reading lags by about a second (measured on an H100), so a re-anchor can
//     correct hundreds of joules: the timeline takes each correction over the
//     next counter_read_interval_ms, never faster than the GPU's recent power,
//     so that it shows no spike (GpuState::timeline_j).
//   - otherwise nvmlDeviceGetPowerUsage (mW), sampled on every read and
//     integrated by the trapezoid rule over the Env clock:
//     energy += (P_prev + P_now) / 2 × (t_now − t_prev). Exact for power
//     that changes linearly between reads, so such meters ask to be read
//     every kPowerSampledReadIntervalMs (max_read_interval_ms()).
// Telemetry (utilisation, memory, temperature, power limit, processes) is
// read on demand for `wattlab devices`; it never affects the energy figures.
//
// The library: NvmlOptions::library, else $WATTLAB_NVML_LIBRARY, else
// "libnvidia-ml.so.1". Tests load a fake NVML built beside them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wattlab/core/env.h"
#include "wattlab/core/status.h"
#include "wattlab/energy/meter.h"

namespace wattlab {

// How often a power-sampled GPU must be read for the trapezoid to follow it.
inline constexpr double kPowerSampledReadIntervalMs = 100.0;
// Shortest span of counter reads over which a counter GPU's mean power
// (GpuState::counter_power_w) is taken.
inline constexpr double kCounterPowerSpanMs = 200.0;

struct NvmlOptions {
  std::string library;  // dlopen() name or path; empty: default_nvml_library()
  // Integrate sampled power even where the GPU has an energy counter: for
  // comparing the two, or for GPUs whose counter is known to misbehave.
  bool integrate_power = false;
  // Longest gap between two reads of the energy counter by the sampler
  // (sample_energy_j); exact reads always read it. 0 reads it on every
  // sample. At least 0.
  double counter_read_interval_ms = 1000.0;
};

// $WATTLAB_NVML_LIBRARY when set and not empty, else "libnvidia-ml.so.1".
std::string default_nvml_library();

struct GpuProcess {
  unsigned pid = 0;
  std::optional<uint64_t> used_memory_bytes;  // nullopt when NVML cannot tell (e.g. under WDDM or MIG)
};

// A snapshot of one GPU; a field NVML could not read is nullopt (or empty).
struct GpuTelemetry {
  int index = 0;
  std::string name;                      // "NVIDIA GeForce RTX 3090"
  bool has_energy_counter = false;
  std::optional<double> power_w;
  std::optional<double> power_limit_w;   // enforced limit
  std::optional<double> temperature_c;
  std::optional<double> utilisation_gpu;     // fraction of time kernels ran, [0, 1]
  std::optional<double> utilisation_memory;  // fraction of time memory was read or written, [0, 1]
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::vector<GpuProcess> processes;     // compute processes using the GPU
};

class NvmlMeter final : public Meter {
 public:
  struct Gpu {
    int index = 0;
    std::string name;
    bool has_energy_counter = false;  // false: power sampled and integrated
    bool counter_ignored = false;     // it has one, but NvmlOptions::integrate_power was asked
  };

  // Loads the library, initialises NVML, finds every GPU and takes a first
  // reading of each. Unavailable when the library cannot be loaded (naming
  // it), lacks a required function, nvmlInit fails (with NVML's message), or
  // there is no GPU; the error of a failing first read otherwise. `env` (its
  // clock integrates power) must outlive the meter.
  // With options.integrate_power every GPU is power-sampled.
  static Result<std::unique_ptr<NvmlMeter>> create(Env& env, const NvmlOptions& options = {});
  // Shuts NVML down and unloads the library.
  ~NvmlMeter() override;
  NvmlMeter(const NvmlMeter&) = delete;
  NvmlMeter& operator=(const NvmlMeter&) = delete;

  std::string name() const override { return "nvml"; }
  // "gpu-N" per GPU, measured.
  const std::vector<EnergyDomain>& domains() const override { return domains_; }
  // Reads every GPU, counter GPUs by their counter. On an error (naming the
  // GPU and NVML's message) nothing accumulates for any GPU; the next
  // successful read covers the gap.
  Status read_energy_j(std::vector<double>* energy_j) override;
  // For the timeline: counter GPUs integrate their power reading unless
  // counter_read_interval_ms has passed since the last counter read (or
  // their power cannot be read), when the counter is read instead. The
  // figure follows read_energy_j()'s within about counter_read_interval_ms
  // (see GpuState::timeline_j); power-sampled GPUs report the same figure.
  Status sample_energy_j(std::vector<double>* energy_j) override;
  // kPowerSampledReadIntervalMs if any GPU is power-sampled, else 60 s.
  double max_read_interval_ms() const override;

  const std::vector<Gpu>& gpus() const { return gpus_; }
  // Calls of nvmlDeviceGetTotalEnergyConsumption since creation, all GPUs
  // together: what the counter has cost (bench/monitor_overhead prints it).
  uint64_t counter_reads() const { return counter_reads_.load(std::memory_order_relaxed); }
  // Current telemetry of every GPU, in gpus() order. Touches no energy
  // state, so it may run beside the Monitor's reads (NVML is thread-safe).
  std::vector<GpuTelemetry> telemetry();
  // One line for `wattlab devices`, e.g. "gpu-0: NVIDIA A100 (energy
  // counter); gpu-1: Tesla P4 (no energy counter: power sampled and integrated)".
  std::string describe() const;

 private:
  struct Library;  // the dlopen handle and the NVML entry points
  struct GpuState {
    void* handle = nullptr;          // nvmlDevice_t
    uint64_t last_counter_mj = 0;    // counter GPUs: at the latest counter read
    double counter_energy_j = 0;     // counter GPUs: cumulative at the latest counter read
    bool has_last_power = false;     // last_power_w was read at the previous read
    double last_power_w = 0;         // at the previous read
    double energy_j = 0;             // cumulative since creation, as read_energy_j() reports it
    // The sampler's figure (sample_energy_j) trails energy_j by pending_j +
    // gap_j: pending_j is integrated power not yet handed to the timeline,
    // gap_j the counter's corrections of that integration, handed over
    // within counter_read_interval_ms and never faster than the GPU's
    // recent power (counter_power_w, or its power reading), so that NVML's
    // lagging power reading leaves no spike in the timeline when the counter
    // re-anchors it.
    double timeline_j = 0;
    double pending_j = 0;
    double gap_j = 0;
    double counter_power_w = 0;      // counter GPUs: mean power over the latest >= kCounterPowerSpanMs
    double counter_span_start_ms = 0;
    double counter_span_start_j = 0;
  };
  // One GPU's reading in read(): taken for every GPU before any is updated.
  struct Fresh {
    bool has_counter = false;
    uint64_t counter_mj = 0;
    bool has_power = false;
    double power_w = 0;
  };
  NvmlMeter(Env& env, std::unique_ptr<Library> library, double counter_read_interval_ms);
  // read_energy_j() (`exact`) and sample_energy_j().
  Status read(bool exact, std::vector<double>* energy_j);
  // A sample read's step of `s`'s timeline_j, `since_sample_ms` after the
  // previous one; `power_w` is the GPU's power reading now, < 0 if none.
  void advance_timeline(GpuState& s, double power_w, double since_sample_ms) const;
  // One GPU's counter (mJ) or power (W) now.
  Status read_counter_mj(size_t i, uint64_t* mj);
  Status read_power_w(size_t i, double* watts);

  Env& env_;
  std::unique_ptr<Library> library_;
  const double counter_read_interval_ms_;
  std::vector<Gpu> gpus_;
  std::vector<GpuState> state_;
  std::vector<Fresh> fresh_;  // read()'s scratch, kept to spare the sampler an allocation
  std::vector<EnergyDomain> domains_;
  double last_read_ms_ = 0;          // Env clock at the previous read
  double last_sample_ms_ = 0;        // Env clock at the previous sample_energy_j()
  double last_counter_read_ms_ = 0;  // Env clock at the latest read of the counters
  std::atomic<uint64_t> counter_reads_{0};
};

}  // namespace wattlab
