/* A fake NVML shared library for the energy tests: it exports the NVML entry
 * points NvmlMeter uses and answers from a control file that the test rewrites
 * between reads. The file is named by $FAKE_NVML_CONFIG and re-read on every
 * call. Lines ('#' starts a comment):
 *
 *   init_rc N        nvmlInit_v2 returns N (e.g. 9, driver not loaded)
 *   count_rc N       nvmlDeviceGetCount_v2 returns N
 *   gpu KEY=VALUE... one GPU per line, in index order. Keys:
 *     name=NVIDIA_A100   ('_' stands for a space)
 *     energy_mj=N        nvmlDeviceGetTotalEnergyConsumption's value
 *     has_energy_counter=0|1   0: that call returns NVML_ERROR_NOT_SUPPORTED
 *     energy_rc=N power_rc=N   force that call to return N
 *     power_mw=N limit_mw=N temp_c=N util_gpu=N util_mem=N
 *     mem_total=N mem_used=N   bytes
 *     procs=PID:BYTES,PID:-    compute processes ('-': memory not available)
 *
 * If $FAKE_NVML_LOG names a file, "init" and "shutdown" lines are appended to
 * it so tests can check that the meter shuts NVML down.
 *
 * fake_nvml_calls("nvmlDeviceGetTotalEnergyConsumption") says how often an
 * entry point was called since the library was loaded or
 * fake_nvml_reset_calls(); tests find both with dlsym(), so they can assert
 * what metering costs (the energy counter is slow on real GPUs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_GPUS 16
#define FAKE_MAX_PROCS 16

typedef int nvmlReturn_t;
typedef struct FakeGpu* nvmlDevice_t;

typedef struct {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;
typedef struct {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

struct FakeGpu {
  char name[96];
  unsigned long long energy_mj;
  int has_energy_counter;
  int energy_rc;
  int power_rc;
  unsigned int power_mw;
  unsigned int limit_mw;
  unsigned int temp_c;
  unsigned int util_gpu;
  unsigned int util_mem;
  unsigned long long mem_total;
  unsigned long long mem_used;
  int nprocs;
  unsigned int proc_pid[FAKE_MAX_PROCS];
  unsigned long long proc_bytes[FAKE_MAX_PROCS];
};

/* Calls per entry point; bumped atomically, as the meter's sampler thread
 * calls while the test thread reads. */
enum {
  CALL_ENERGY,
  CALL_POWER,
  CALL_COUNT /* how many kinds; keep last */
};
static const char* const g_call_names[CALL_COUNT] = {"nvmlDeviceGetTotalEnergyConsumption",
                                                     "nvmlDeviceGetPowerUsage"};
static unsigned long g_calls[CALL_COUNT];

static void count_call(int which) { __atomic_add_fetch(&g_calls[which], 1, __ATOMIC_RELAXED); }

/* Calls of `function` (an NVML entry point's name) so far; 0 for one the
 * fake does not count. */
unsigned long fake_nvml_calls(const char* function) {
  for (int i = 0; i < CALL_COUNT; ++i) {
    if (strcmp(function, g_call_names[i]) == 0) return __atomic_load_n(&g_calls[i], __ATOMIC_RELAXED);
  }
  return 0;
}

void fake_nvml_reset_calls(void) {
  for (int i = 0; i < CALL_COUNT; ++i) __atomic_store_n(&g_calls[i], 0, __ATOMIC_RELAXED);
}

static struct FakeGpu g_gpus[FAKE_MAX_GPUS];
static int g_count;
static int g_init_rc;
static int g_count_rc;
static int g_initialised;

static void log_call(const char* what) {
  const char* path = getenv("FAKE_NVML_LOG");
  if (!path || !*path) return;
  FILE* f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "%s\n", what);
  fclose(f);
}

static void parse_gpu(char* rest, struct FakeGpu* gpu) {
  memset(gpu, 0, sizeof *gpu);
  strcpy(gpu->name, "Fake GPU");
  gpu->has_energy_counter = 1;
  for (char* token = strtok(rest, " \t\n"); token; token = strtok(NULL, " \t\n")) {
    char* eq = strchr(token, '=');
    if (!eq) continue;
    *eq = '\0';
    const char* key = token;
    const char* value = eq + 1;
    if (strcmp(key, "name") == 0) {
      snprintf(gpu->name, sizeof gpu->name, "%s", value);
      for (char* c = gpu->name; *c; ++c) if (*c == '_') *c = ' ';
    } else if (strcmp(key, "energy_mj") == 0) gpu->energy_mj = strtoull(value, NULL, 10);
    else if (strcmp(key, "has_energy_counter") == 0) gpu->has_energy_counter = atoi(value);
    else if (strcmp(key, "energy_rc") == 0) gpu->energy_rc = atoi(value);
    else if (strcmp(key, "power_rc") == 0) gpu->power_rc = atoi(value);
    else if (strcmp(key, "power_mw") == 0) gpu->power_mw = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "limit_mw") == 0) gpu->limit_mw = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "temp_c") == 0) gpu->temp_c = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "util_gpu") == 0) gpu->util_gpu = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "util_mem") == 0) gpu->util_mem = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "mem_total") == 0) gpu->mem_total = strtoull(value, NULL, 10);
    else if (strcmp(key, "mem_used") == 0) gpu->mem_used = strtoull(value, NULL, 10);
    else if (strcmp(key, "procs") == 0) {
      const char* p = value;
      while (*p && gpu->nprocs < FAKE_MAX_PROCS) {
        char* end;
        gpu->proc_pid[gpu->nprocs] = (unsigned)strtoul(p, &end, 10);
        gpu->proc_bytes[gpu->nprocs] = ~0ULL;
        if (*end == ':') {
          ++end;
          if (*end == '-') ++end;
          else gpu->proc_bytes[gpu->nprocs] = strtoull(end, &end, 10);
        }
        ++gpu->nprocs;
        p = end;
        if (*p == ',') ++p; else break;
      }
    }
  }
}

/* Re-reads the control file; a missing file means no GPU. */
static void load(void) {
  g_count = 0;
  g_init_rc = 0;
  g_count_rc = 0;
  const char* path = getenv("FAKE_NVML_CONFIG");
  FILE* f = path ? fopen(path, "r") : NULL;
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char* hash = strchr(line, '#');
    if (hash) *hash = '\0';
    if (strncmp(line, "init_rc ", 8) == 0) g_init_rc = atoi(line + 8);
    else if (strncmp(line, "count_rc ", 9) == 0) g_count_rc = atoi(line + 9);
    else if (strncmp(line, "gpu", 3) == 0 && g_count < FAKE_MAX_GPUS) parse_gpu(line + 3, &g_gpus[g_count++]);
  }
  fclose(f);
}

static struct FakeGpu* gpu_of(nvmlDevice_t device) {
  load();
  for (int i = 0; i < g_count; ++i) if (device == &g_gpus[i]) return &g_gpus[i];
  return NULL;
}

#define FAKE_CHECK(device, gpu)          \
  if (!g_initialised) return 1;          \
  struct FakeGpu* gpu = gpu_of(device);  \
  if (!gpu) return 2

nvmlReturn_t nvmlInit_v2(void) {
  load();
  log_call("init");
  if (g_init_rc) return g_init_rc;
  g_initialised = 1;
  return 0;
}

nvmlReturn_t nvmlShutdown(void) {
  log_call("shutdown");
  g_initialised = 0;
  return 0;
}

const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 7: return "Insufficient Size";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!g_initialised) return 1;
  load();
  if (g_count_rc) return g_count_rc;
  *count = (unsigned)g_count;
  return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!g_initialised) return 1;
  load();
  if (index >= (unsigned)g_count) return 2;
  *device = &g_gpus[index];
  return 0;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  FAKE_CHECK(device, gpu);
  if (length <= strlen(gpu->name)) return 7;
  strcpy(name, gpu->name);
  return 0;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* energy_mj) {
  count_call(CALL_ENERGY);
  FAKE_CHECK(device, gpu);
  if (gpu->energy_rc) return gpu->energy_rc;
  if (!gpu->has_energy_counter) return 3;
  *energy_mj = gpu->energy_mj;
  return 0;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power_mw) {
  count_call(CALL_POWER);
  FAKE_CHECK(device, gpu);
  if (gpu->power_rc) return gpu->power_rc;
  *power_mw = gpu->power_mw;
  return 0;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* limit_mw) {
  FAKE_CHECK(device, gpu);
  if (!gpu->limit_mw) return 3;
  *limit_mw = gpu->limit_mw;
  return 0;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int* temp_c) {
  FAKE_CHECK(device, gpu);
  if (sensor != 0) return 2;
  *temp_c = gpu->temp_c;
  return 0;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilisation) {
  FAKE_CHECK(device, gpu);
  utilisation->gpu = gpu->util_gpu;
  utilisation->memory = gpu->util_mem;
  return 0;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  FAKE_CHECK(device, gpu);
  memory->total = gpu->mem_total;
  memory->used = gpu->mem_used;
  memory->free = gpu->mem_total - gpu->mem_used;
  return 0;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                     nvmlProcessInfo_t* infos) {
  FAKE_CHECK(device, gpu);
  if (*count < (unsigned)gpu->nprocs || !infos) {
    unsigned needed = (unsigned)gpu->nprocs;
    *count = needed;
    return needed == 0 ? 0 : 7;
  }
  for (int i = 0; i < gpu->nprocs; ++i) {
    infos[i].pid = gpu->proc_pid[i];
    infos[i].usedGpuMemory = gpu->proc_bytes[i];
    infos[i].gpuInstanceId = ~0u;
    infos[i].computeInstanceId = ~0u;
  }
  *count = (unsigned)gpu->nprocs;
  return 0;
}
