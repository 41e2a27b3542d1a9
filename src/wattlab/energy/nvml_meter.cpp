#include "wattlab/energy/nvml_meter.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace wattlab {
namespace {

// The parts of nvml.h that wattlab uses, declared here so that the build
// needs no NVIDIA headers. Layouts as in nvml.h (API 12).
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_INSUFFICIENT_SIZE = 7;
constexpr int NVML_TEMPERATURE_GPU = 0;
constexpr unsigned kNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned long long NVML_VALUE_NOT_AVAILABLE = ~0ULL;

struct nvmlUtilization_t {
  unsigned int gpu;     // percent of time a kernel ran
  unsigned int memory;  // percent of time memory was read or written
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlProcessInfo_v1_t {  // for nvmlDeviceGetComputeRunningProcesses (v1)
  unsigned int pid;
  unsigned long long usedGpuMemory;
};
struct nvmlProcessInfo_v2_t {  // for nvmlDeviceGetComputeRunningProcesses_v2/_v3
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

}  // namespace

struct NvmlMeter::Library {
  void* handle = nullptr;
  bool initialised = false;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*get_count)(unsigned*) = nullptr;
  nvmlReturn_t (*get_handle)(unsigned, nvmlDevice_t*) = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*get_power)(nvmlDevice_t, unsigned*) = nullptr;
  // Optional: missing in old drivers, or only telemetry.
  nvmlReturn_t (*get_name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*get_energy)(nvmlDevice_t, unsigned long long*) = nullptr;
  nvmlReturn_t (*get_utilisation)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*get_memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*get_temperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*get_power_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*get_processes_v3)(nvmlDevice_t, unsigned*, nvmlProcessInfo_v2_t*) = nullptr;
  nvmlReturn_t (*get_processes_v1)(nvmlDevice_t, unsigned*, nvmlProcessInfo_v1_t*) = nullptr;

  ~Library() {
    if (initialised && shutdown) shutdown();
    if (handle) dlclose(handle);
  }
  std::string error(nvmlReturn_t code) const {
    const char* text = error_string ? error_string(code) : nullptr;
    return (text ? std::string(text) : std::string("NVML error")) + " (NVML code " + std::to_string(code) + ")";
  }
  template <class F>
  void bind(F* fn, const char* symbol) {
    *fn = reinterpret_cast<F>(dlsym(handle, symbol));
  }
};

std::string default_nvml_library() {
  const char* env = std::getenv("WATTLAB_NVML_LIBRARY");
  return env && *env ? env : "libnvidia-ml.so.1";
}

Result<std::unique_ptr<NvmlMeter>> NvmlMeter::create(Env& env, const NvmlOptions& options) {
  if (!(options.counter_read_interval_ms >= 0 && std::isfinite(options.counter_read_interval_ms))) {
    return Status::invalid_argument("nvml: counter_read_interval_ms must be a number of milliseconds >= 0, got " +
                                    std::to_string(options.counter_read_interval_ms));
  }
  const std::string path = options.library.empty() ? default_nvml_library() : options.library;
  auto lib = std::make_unique<Library>();
  dlerror();
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle == nullptr) {
    const char* error = dlerror();
    return Status::unavailable(path + " not found (no NVIDIA driver)" + (error ? std::string(": ") + error : "") +
                               "; set WATTLAB_NVML_LIBRARY if NVML is installed elsewhere");
  }
  lib->bind(&lib->init, "nvmlInit_v2");
  lib->bind(&lib->shutdown, "nvmlShutdown");
  lib->bind(&lib->get_count, "nvmlDeviceGetCount_v2");
  lib->bind(&lib->get_handle, "nvmlDeviceGetHandleByIndex_v2");
  lib->bind(&lib->error_string, "nvmlErrorString");
  lib->bind(&lib->get_power, "nvmlDeviceGetPowerUsage");
  lib->bind(&lib->get_name, "nvmlDeviceGetName");
  lib->bind(&lib->get_energy, "nvmlDeviceGetTotalEnergyConsumption");
  lib->bind(&lib->get_utilisation, "nvmlDeviceGetUtilizationRates");
  lib->bind(&lib->get_memory, "nvmlDeviceGetMemoryInfo");
  lib->bind(&lib->get_temperature, "nvmlDeviceGetTemperature");
  lib->bind(&lib->get_power_limit, "nvmlDeviceGetEnforcedPowerLimit");
  lib->bind(&lib->get_processes_v3, "nvmlDeviceGetComputeRunningProcesses_v3");
  lib->bind(&lib->get_processes_v1, "nvmlDeviceGetComputeRunningProcesses");
  const std::pair<bool, const char*> required[] = {
      {lib->init != nullptr, "nvmlInit_v2"},
      {lib->shutdown != nullptr, "nvmlShutdown"},
      {lib->get_count != nullptr, "nvmlDeviceGetCount_v2"},
      {lib->get_handle != nullptr, "nvmlDeviceGetHandleByIndex_v2"},
      {lib->error_string != nullptr, "nvmlErrorString"},
      {lib->get_power != nullptr, "nvmlDeviceGetPowerUsage"},
  };
  for (const auto& [present, symbol] : required) {
    if (!present) {
      return Status::unavailable(path + " lacks " + symbol + " (NVIDIA driver too old; wattlab needs R418 or newer)");
    }
  }

  if (nvmlReturn_t rc = lib->init(); rc != NVML_SUCCESS) {
    return Status::unavailable("nvmlInit failed: " + lib->error(rc) +
                               " (is the NVIDIA kernel driver loaded? try nvidia-smi)");
  }
  lib->initialised = true;
  unsigned count = 0;
  if (nvmlReturn_t rc = lib->get_count(&count); rc != NVML_SUCCESS) {
    return Status::unavailable("nvmlDeviceGetCount failed: " + lib->error(rc));
  }
  if (count == 0) return Status::unavailable("NVML found no GPU");

  std::unique_ptr<NvmlMeter> meter(new NvmlMeter(env, std::move(lib), options.counter_read_interval_ms));
  Library& l = *meter->library_;
  meter->last_read_ms_ = env.clock().monotonic_ms();
  meter->last_counter_read_ms_ = meter->last_read_ms_;
  meter->last_sample_ms_ = meter->last_read_ms_;
  for (unsigned i = 0; i < count; ++i) {
    Gpu gpu;
    gpu.index = static_cast<int>(i);
    GpuState state;
    state.counter_span_start_ms = meter->last_read_ms_;
    if (nvmlReturn_t rc = l.get_handle(i, &state.handle); rc != NVML_SUCCESS) {
      return Status::unavailable("gpu-" + std::to_string(i) + ": nvmlDeviceGetHandleByIndex failed: " + l.error(rc));
    }
    char name[kNameBufferSize] = {};
    if (l.get_name && l.get_name(state.handle, name, kNameBufferSize) == NVML_SUCCESS) {
      name[kNameBufferSize - 1] = '\0';
      gpu.name = name;
    } else {
      gpu.name = "unknown NVIDIA GPU";
    }
    unsigned long long counter_mj = 0;
    nvmlReturn_t energy_rc = l.get_energy ? l.get_energy(state.handle, &counter_mj) : -1;
    meter->counter_reads_.fetch_add(l.get_energy ? 1 : 0, std::memory_order_relaxed);
    if (energy_rc == NVML_SUCCESS && !options.integrate_power) {
      gpu.has_energy_counter = true;
      state.last_counter_mj = counter_mj;
      unsigned mw = 0;
      state.has_last_power = l.get_power(state.handle, &mw) == NVML_SUCCESS;
      state.last_power_w = mw / 1000.0;
    } else {
      gpu.counter_ignored = energy_rc == NVML_SUCCESS;
      unsigned mw = 0;
      if (nvmlReturn_t rc = l.get_power(state.handle, &mw); rc != NVML_SUCCESS) {
        return Status::unavailable("gpu-" + std::to_string(i) + " (" + gpu.name +
                                   ") reports neither an energy counter nor its power: " + l.error(rc));
      }
      state.has_last_power = true;
      state.last_power_w = mw / 1000.0;
    }
    EnergyDomain domain;
    domain.name = "gpu-" + std::to_string(i);
    meter->domains_.push_back(std::move(domain));
    meter->gpus_.push_back(std::move(gpu));
    meter->state_.push_back(state);
  }
  meter->fresh_.resize(count);
  return meter;
}

NvmlMeter::NvmlMeter(Env& env, std::unique_ptr<Library> library, double counter_read_interval_ms)
    : env_(env), library_(std::move(library)), counter_read_interval_ms_(counter_read_interval_ms) {}

NvmlMeter::~NvmlMeter() = default;

Status NvmlMeter::read_counter_mj(size_t i, uint64_t* mj) {
  unsigned long long value = 0;
  nvmlReturn_t rc = library_->get_energy(state_[i].handle, &value);
  counter_reads_.fetch_add(1, std::memory_order_relaxed);
  if (rc != NVML_SUCCESS) {
    return Status::unavailable("nvml: gpu-" + std::to_string(i) + ": nvmlDeviceGetTotalEnergyConsumption failed: " +
                               library_->error(rc));
  }
  *mj = value;
  return Status();
}

Status NvmlMeter::read_power_w(size_t i, double* watts) {
  unsigned mw = 0;
  nvmlReturn_t rc = library_->get_power(state_[i].handle, &mw);
  if (rc != NVML_SUCCESS) {
    return Status::unavailable("nvml: gpu-" + std::to_string(i) + ": nvmlDeviceGetPowerUsage failed: " +
                               library_->error(rc));
  }
  *watts = mw / 1000.0;
  return Status();
}

Status NvmlMeter::read_energy_j(std::vector<double>* energy_j) { return read(/*exact=*/true, energy_j); }

Status NvmlMeter::sample_energy_j(std::vector<double>* energy_j) { return read(/*exact=*/false, energy_j); }

Status NvmlMeter::read(bool exact, std::vector<double>* energy_j) {
  const double now_ms = env_.clock().monotonic_ms();
  const bool counter_due = exact || now_ms - last_counter_read_ms_ >= counter_read_interval_ms_;
  // Read everything first so that a failure leaves every GPU untouched.
  bool read_counters = false;
  for (size_t i = 0; i < gpus_.size(); ++i) {
    Fresh& f = fresh_[i];
    f = Fresh{};
    if (!gpus_[i].has_energy_counter) {
      if (Status status = read_power_w(i, &f.power_w); !status.ok()) return status;
      f.has_power = true;
      continue;
    }
    // The power reading is the trapezoid's next point; a counter GPU whose
    // power cannot be read is read by its counter every time.
    f.has_power = read_power_w(i, &f.power_w).ok();
    if (counter_due || !f.has_power || !state_[i].has_last_power) {
      if (Status status = read_counter_mj(i, &f.counter_mj); !status.ok()) return status;
      f.has_counter = true;
      read_counters |= counter_due;
    }
  }
  const double elapsed_s = std::max(0.0, now_ms - last_read_ms_) / 1000.0;
  const double since_sample_ms = std::max(0.0, now_ms - last_sample_ms_);
  for (size_t i = 0; i < gpus_.size(); ++i) {
    GpuState& s = state_[i];
    const Fresh& f = fresh_[i];
    const double power_j = s.has_last_power && f.has_power ? (s.last_power_w + f.power_w) / 2.0 * elapsed_s : 0.0;
    s.pending_j += power_j;
    if (f.has_counter) {  // re-anchor to the counter
      if (f.counter_mj >= s.last_counter_mj) {
        s.counter_energy_j += static_cast<double>(f.counter_mj - s.last_counter_mj) / 1000.0;
      }
      s.last_counter_mj = f.counter_mj;
      s.gap_j += s.counter_energy_j - (s.energy_j + power_j);
      s.energy_j = s.counter_energy_j;
      if (now_ms - s.counter_span_start_ms >= kCounterPowerSpanMs) {
        s.counter_power_w = (s.energy_j - s.counter_span_start_j) / ((now_ms - s.counter_span_start_ms) / 1000.0);
        s.counter_span_start_ms = now_ms;
        s.counter_span_start_j = s.energy_j;
      }
    } else {
      s.energy_j += power_j;
    }
    if (!exact) advance_timeline(s, f.has_power ? f.power_w : -1.0, since_sample_ms);
    s.has_last_power = f.has_power;
    s.last_power_w = f.power_w;
  }
  last_read_ms_ = std::max(last_read_ms_, now_ms);
  if (read_counters) last_counter_read_ms_ = last_read_ms_;
  if (!exact) last_sample_ms_ = last_read_ms_;
  energy_j->resize(gpus_.size());
  for (size_t i = 0; i < gpus_.size(); ++i) (*energy_j)[i] = exact ? state_[i].energy_j : state_[i].timeline_j;
  return Status();
}

void NvmlMeter::advance_timeline(GpuState& s, double power_w, double since_sample_ms) const {
  // Without a power reading the counter is all there is: hand it over at once.
  const double share = power_w < 0 || counter_read_interval_ms_ <= 0
                           ? 1.0
                           : std::min(1.0, since_sample_ms / counter_read_interval_ms_);
  const double pay_j = s.gap_j * share;
  double step_j = s.pending_j + pay_j;
  if (pay_j > 0 && power_w >= 0) {
    const double cap_w = std::max({s.counter_power_w, power_w, s.last_power_w});
    step_j = std::min(step_j, std::max(s.pending_j, cap_w * since_sample_ms / 1000.0));
  }
  step_j = std::max(0.0, step_j);
  s.gap_j -= step_j - s.pending_j;
  s.pending_j = 0;
  s.timeline_j += step_j;
}

double NvmlMeter::max_read_interval_ms() const {
  for (const Gpu& gpu : gpus_) {
    if (!gpu.has_energy_counter) return kPowerSampledReadIntervalMs;
  }
  return 60'000.0;
}

std::vector<GpuTelemetry> NvmlMeter::telemetry() {
  const Library& l = *library_;
  std::vector<GpuTelemetry> out;
  for (size_t i = 0; i < gpus_.size(); ++i) {
    nvmlDevice_t device = state_[i].handle;
    GpuTelemetry t;
    t.index = gpus_[i].index;
    t.name = gpus_[i].name;
    t.has_energy_counter = gpus_[i].has_energy_counter;
    unsigned value = 0;
    if (l.get_power(device, &value) == NVML_SUCCESS) t.power_w = value / 1000.0;
    if (l.get_power_limit && l.get_power_limit(device, &value) == NVML_SUCCESS) t.power_limit_w = value / 1000.0;
    if (l.get_temperature && l.get_temperature(device, NVML_TEMPERATURE_GPU, &value) == NVML_SUCCESS) {
      t.temperature_c = value;
    }
    nvmlUtilization_t utilisation{};
    if (l.get_utilisation && l.get_utilisation(device, &utilisation) == NVML_SUCCESS) {
      t.utilisation_gpu = utilisation.gpu / 100.0;
      t.utilisation_memory = utilisation.memory / 100.0;
    }
    nvmlMemory_t memory{};
    if (l.get_memory && l.get_memory(device, &memory) == NVML_SUCCESS) {
      t.memory_used_bytes = memory.used;
      t.memory_total_bytes = memory.total;
    }
    // Ask for the count first, then the list; processes may come and go in
    // between, so allow for a few more.
    auto used = [](unsigned long long bytes) {
      return bytes == NVML_VALUE_NOT_AVAILABLE ? std::nullopt : std::optional<uint64_t>(bytes);
    };
    if (l.get_processes_v3) {
      unsigned n = 0;
      nvmlReturn_t rc = l.get_processes_v3(device, &n, nullptr);
      if (rc == NVML_SUCCESS || rc == NVML_ERROR_INSUFFICIENT_SIZE) {
        std::vector<nvmlProcessInfo_v2_t> infos(n + 8);
        n = static_cast<unsigned>(infos.size());
        if (l.get_processes_v3(device, &n, infos.data()) == NVML_SUCCESS) {
          for (unsigned k = 0; k < n && k < infos.size(); ++k) t.processes.push_back({infos[k].pid, used(infos[k].usedGpuMemory)});
        }
      }
    } else if (l.get_processes_v1) {
      unsigned n = 0;
      nvmlReturn_t rc = l.get_processes_v1(device, &n, nullptr);
      if (rc == NVML_SUCCESS || rc == NVML_ERROR_INSUFFICIENT_SIZE) {
        std::vector<nvmlProcessInfo_v1_t> infos(n + 8);
        n = static_cast<unsigned>(infos.size());
        if (l.get_processes_v1(device, &n, infos.data()) == NVML_SUCCESS) {
          for (unsigned k = 0; k < n && k < infos.size(); ++k) t.processes.push_back({infos[k].pid, used(infos[k].usedGpuMemory)});
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string NvmlMeter::describe() const {
  std::string out;
  for (const Gpu& gpu : gpus_) {
    if (!out.empty()) out += "; ";
    out += "gpu-" + std::to_string(gpu.index) + ": " + gpu.name +
           (gpu.has_energy_counter ? " (energy counter)"
            : gpu.counter_ignored  ? " (energy counter ignored as asked: power sampled and integrated)"
                                   : " (no energy counter: power sampled and integrated)");
  }
  return out;
}

}  // namespace wattlab
