// Devices, contexts and "device" memory (host memory) of the fake libcuda.so.1. Work calls
// (synchronize, alloc, free, copies) block while the process is LOCKED or CHECKPOINTED, as real
// CUDA calls do; the device behind an ordinal is read from the process's state each time, so it
// changes after a remapping restore.
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "cuda_abi.h"
#include "cuda_app.h"
#include "fakecuda.h"

#define EXPORT __attribute__((visibility("default")))
#define ALLOC_HEADER 4096  // the allocation's size is stored in front of it

static int initialized(void) { return fakecuda_caller_initialized(); }

// Blocks while the process is locked or checkpointed, like any real CUDA work call; also while
// it is a criu-restored incarnation the checkpoint API has not adopted yet (cuda_init.c).
static CUresult wait_running(void) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  for (;;) {
    fc_state st;
    if (fc_state_read(fc_app_token(), &st) != 0) return CUDA_ERROR_UNKNOWN;
    if (st.state == FC_RUNNING && fc_app_current(&st)) return CUDA_SUCCESS;
    if (st.state == FC_FAILED) return CUDA_ERROR_UNKNOWN;
    fc_sleep_ms(5);
  }
}

// The GPU behind device ordinal `dev` now (after a remap, a different one).
static CUresult device_gpu(CUdevice dev, fc_gpu* out) {
  fc_state st;
  fc_gpu_list all;
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (fc_state_read(fc_app_token(), &st) != 0 || fc_read_gpus_of(st.machine, &all) != 0) return CUDA_ERROR_UNKNOWN;
  if (dev < 0 || dev >= st.ngpus) return CUDA_ERROR_INVALID_DEVICE;
  const fc_gpu* gpu = fc_find_gpu(&all, st.gpus[dev]);
  if (gpu) *out = *gpu;
  else *out = (fc_gpu){.memory = 0};
  snprintf(out->uuid, sizeof out->uuid, "%s", st.gpus[dev]);
  return CUDA_SUCCESS;
}

static void set_ctx(void) { fc_app_account(1, 0); }

EXPORT CUresult cuDeviceGetCount(int* count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  *count = fc_app_device_count();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* dev, int ordinal) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  if (ordinal < 0 || ordinal >= fc_app_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  *dev = ordinal;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = name && len > 0 ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) snprintf(name, (size_t)len, "%s", gpu.name);
  return r;
}

EXPORT CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = uuid ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS && fc_uuid_parse(gpu.uuid, uuid->bytes) != 0) r = CUDA_ERROR_UNKNOWN;
  return r;
}

EXPORT CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice dev) { return cuDeviceGetUuid(uuid, dev); }

EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = bytes ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) *bytes = gpu.memory;
  return r;
}

EXPORT CUresult cuDeviceGetPCIBusId(char* out, int len, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = out && len > 0 ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) snprintf(out, (size_t)len, "%s", strlen(gpu.pci) > 4 ? gpu.pci + 4 : "");
  return r;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  if (dev < 0 || dev >= fc_app_device_count()) return CUDA_ERROR_INVALID_DEVICE;
  set_ctx();
  *ctx = (CUcontext)&initialized;  // any non-NULL handle
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return dev >= 0 && dev < fc_app_device_count() ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

EXPORT CUresult cuCtxCreate_v2(CUcontext* ctx, unsigned int flags, CUdevice dev) {
  (void)flags;
  return cuDevicePrimaryCtxRetain(ctx, dev);
}

EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx) set_ctx();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext* ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  *ctx = fc_app_has_ctx() ? (CUcontext)&initialized : NULL;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice* dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  *dev = 0;  // the fake has one current device: ordinal 0
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) set_ctx();
  return r;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  fc_gpu gpu;
  CUresult r = wait_running();
  if (r != CUDA_SUCCESS) return r;
  if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if ((r = device_gpu(0, &gpu)) != CUDA_SUCCESS) return r;
  if (fc_app_mem() + bytes > gpu.memory) return CUDA_ERROR_OUT_OF_MEMORY;
  char* base = mmap(NULL, bytes + ALLOC_HEADER, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
  if (base == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  memcpy(base, &bytes, sizeof bytes);
  *dptr = (CUdeviceptr)(base + ALLOC_HEADER);
  fc_app_account(1, (long long)bytes);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
  CUresult r = wait_running();
  if (r != CUDA_SUCCESS) return r;
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  char* base = (char*)dptr - ALLOC_HEADER;
  size_t bytes;
  memcpy(&bytes, base, sizeof bytes);
  munmap(base, bytes + ALLOC_HEADER);
  fc_app_account(0, -(long long)bytes);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) memcpy((void*)dst, src, bytes);
  return r;
}

EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) memcpy(dst, (const void*)src, bytes);
  return r;
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  fc_gpu gpu;
  CUresult r = free_bytes && total_bytes ? device_gpu(0, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r != CUDA_SUCCESS) return r;
  *total_bytes = gpu.memory;
  *free_bytes = gpu.memory > fc_app_mem() ? gpu.memory - fc_app_mem() : 0;
  return CUDA_SUCCESS;
}

// Not in NVIDIA's ABI: counts `bytes` more device memory for this process (NVML's usedGpuMemory,
// what gpucr sizes a checkpoint by) without backing it with host memory, so a test can make a
// process look bigger than the host's free memory. 2 when the GPU is full.
EXPORT CUresult fakecuda_claim_device_memory(unsigned long long bytes) {
  fc_gpu gpu;
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) r = device_gpu(0, &gpu);
  if (r != CUDA_SUCCESS) return r;
  if (fc_app_mem() + bytes > gpu.memory) return CUDA_ERROR_OUT_OF_MEMORY;
  fc_app_account(1, (long long)bytes);
  return CUDA_SUCCESS;
}

// Not in NVIDIA's ABI: the calling process's own checkpoint state (-1 before cuInit), for the
// fake workload's status line.
EXPORT int fakecuda_self_state(void) {
  fc_state st;
  return initialized() && fc_state_read(fc_app_token(), &st) == 0 ? st.state : -1;
}
