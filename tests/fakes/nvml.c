// The fake libnvidia-ml.so.1: devices from $FAKE_CUDA_DIR/gpus and, per device, the live
// fake-CUDA processes that have a context on it (their device 0) and are not checkpointed, with
// the memory they allocated. Struct layouts follow nvml.h (nvmlMemory_t, nvmlPciInfo_t,
// nvmlProcessInfo_v1_t / nvmlProcessInfo_t (= v2, used by the _v2 and _v3 process queries)).
#include <stdio.h>
#include <string.h>

#include "fakecuda.h"

#define EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_UNKNOWN = 999,
};

typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t layout");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t layout");
_Static_assert(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t layout");

typedef const fc_gpu* nvmlDevice_t;  // opaque to callers: points into `gpus`

#ifdef FAKECUDA_NO_CKPT_API
#define FAKE_DRIVER "550.54.15"
#define FAKE_CUDA_VERSION 12040
#else
#define FAKE_DRIVER "580.159.04"
#define FAKE_CUDA_VERSION 13000
#endif

static int init_count;
static fc_gpu_list gpus;

static int valid(nvmlDevice_t d) {
  return init_count > 0 && d >= gpus.gpu && d < gpus.gpu + gpus.count;
}

static nvmlReturn_t copy_string(char* out, unsigned len, const char* s) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(s) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(out, s, strlen(s) + 1);
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void) {
  if (init_count == 0 && fc_read_gpus(&gpus) != 0) return NVML_ERROR_UNKNOWN;
  init_count++;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }
EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags;
  return nvmlInit_v2();
}

EXPORT nvmlReturn_t nvmlShutdown(void) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  init_count--;
  return NVML_SUCCESS;
}

EXPORT const char* nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    default: return "Unknown Error";
  }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  return copy_string(version, length, FAKE_DRIVER);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* version) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  if (!version) return NVML_ERROR_INVALID_ARGUMENT;
  *version = FAKE_CUDA_VERSION;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* v) { return nvmlSystemGetCudaDriverVersion_v2(v); }

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = (unsigned)gpus.count;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) { return nvmlDeviceGetCount_v2(count); }

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* dev) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  if (!dev || index >= (unsigned)gpus.count) return NVML_ERROR_INVALID_ARGUMENT;
  *dev = &gpus.gpu[index];
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int i, nvmlDevice_t* d) {
  return nvmlDeviceGetHandleByIndex_v2(i, d);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* dev) {
  if (init_count <= 0) return NVML_ERROR_UNINITIALIZED;
  if (!uuid || !dev) return NVML_ERROR_INVALID_ARGUMENT;
  *dev = fc_find_gpu(&gpus, uuid);
  return *dev ? NVML_SUCCESS : NVML_ERROR_NOT_FOUND;
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t dev, unsigned int* index) {
  if (!valid(dev) || !index) return init_count > 0 ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_UNINITIALIZED;
  *index = (unsigned)(dev - gpus.gpu);
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t dev, char* uuid, unsigned int length) {
  return valid(dev) ? copy_string(uuid, length, dev->uuid) : NVML_ERROR_INVALID_ARGUMENT;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t dev, char* name, unsigned int length) {
  return valid(dev) ? copy_string(name, length, dev->name) : NVML_ERROR_INVALID_ARGUMENT;
}

EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t dev, unsigned int* minor) {
  if (!valid(dev) || !minor) return NVML_ERROR_INVALID_ARGUMENT;
  *minor = dev->minor;
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned int* current, unsigned int* pending) {
  if (!valid(dev) || !current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
  *current = *pending = dev->mig ? 1 : 0;  // NVML_DEVICE_MIG_ENABLE / _DISABLE
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t dev, nvmlPciInfo_t* pci) {
  if (!valid(dev) || !pci) return NVML_ERROR_INVALID_ARGUMENT;
  memset(pci, 0, sizeof *pci);
  sscanf(dev->pci, "%x:%x:%x", &pci->domain, &pci->bus, &pci->device);
  snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", pci->domain, pci->bus, pci->device);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", pci->domain & 0xffff,
           pci->bus, pci->device);
  pci->pciDeviceId = 0x233010de;  // device 0x2330 (H100 SXM), vendor 0x10de
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t d, nvmlPciInfo_t* p) { return nvmlDeviceGetPciInfo_v3(d, p); }

// The processes with a context on dev: pid (our view), memory. Returns how many; fills max.
static int processes_on(nvmlDevice_t dev, nvmlProcessInfo_t* out, int max) {
  fc_live live[1024];
  int n = fc_live_processes(live, 1024), found = 0;
  for (int i = 0; i < n; i++) {
    fc_record rec;
    fc_state st;
    if (fc_record_read(live[i].token, &rec) != 0 || fc_state_read(live[i].token, &st) != 0) continue;
    if (!rec.ctx || st.state == FC_CHECKPOINTED || st.ngpus == 0) continue;
    if (fc_find_gpu(&gpus, st.gpus[0]) != dev) continue;
    if (found < max) out[found] = (nvmlProcessInfo_t){(unsigned)live[i].pid, rec.mem, 0xFFFFFFFFu, 0xFFFFFFFFu};
    found++;
  }
  return found;
}

static nvmlReturn_t sum_used(nvmlDevice_t dev, unsigned long long* used) {
  nvmlProcessInfo_t p[256];
  int n = processes_on(dev, p, 256);
  *used = 0;
  for (int i = 0; i < n && i < 256; i++) *used += p[i].usedGpuMemory;
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t* mem) {
  if (!valid(dev) || !mem) return NVML_ERROR_INVALID_ARGUMENT;
  mem->total = dev->memory;
  sum_used(dev, &mem->used);
  mem->free = mem->total > mem->used ? mem->total - mem->used : 0;
  return NVML_SUCCESS;
}

// *count = 0 asks for the count (NVML_ERROR_INSUFFICIENT_SIZE when there are processes).
static nvmlReturn_t query(nvmlDevice_t dev, unsigned* count, nvmlProcessInfo_t* infos) {
  if (!valid(dev) || !count || (*count && !infos)) return NVML_ERROR_INVALID_ARGUMENT;
  nvmlProcessInfo_t found[256];
  int n = processes_on(dev, found, 256);
  if ((unsigned)n > *count) {
    *count = (unsigned)n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (int i = 0; i < n; i++) infos[i] = found[i];
  *count = (unsigned)n;
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned* count, nvmlProcessInfo_t* infos) {
  return query(d, count, infos);
}
EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned* count, nvmlProcessInfo_t* infos) {
  return query(d, count, infos);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned* count, nvmlProcessInfo_v1_t* infos) {
  nvmlProcessInfo_t full[256];
  unsigned n = count && *count < 256 ? *count : 256;
  nvmlReturn_t r = query(d, count ? &n : NULL, n && infos ? full : NULL);
  if (count) *count = n;
  for (unsigned i = 0; r == NVML_SUCCESS && i < n; i++)
    infos[i] = (nvmlProcessInfo_v1_t){full[i].pid, full[i].usedGpuMemory};
  return r;
}
