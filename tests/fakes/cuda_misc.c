// Version, error strings and cuGetProcAddress of the fake libcuda.so.1.
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "cuda_abi.h"

#define EXPORT __attribute__((visibility("default")))

#ifdef FAKECUDA_NO_CKPT_API
#define FAKE_DRIVER_VERSION 12040  // a 550 driver: no checkpoint driver API
#else
#define FAKE_DRIVER_VERSION 13000  // the 580 driver the semantics were measured on
#endif

static const struct {
  CUresult code;
  const char* name;
  const char* text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_OPERATING_SYSTEM, "CUDA_ERROR_OPERATING_SYSTEM", "OS call failed or operation not supported on this OS"},
    {CUDA_ERROR_ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE", "the operation cannot be performed in the present state"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_TIMEOUT, "CUDA_ERROR_TIMEOUT", "wait operation timed out"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static int find_error(CUresult code) {
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == code) return (int)i;
  return -1;
}

// Unknown codes: *str = NULL and CUDA_ERROR_INVALID_VALUE, like the real driver.
EXPORT CUresult cuGetErrorName(CUresult error, const char** str) {
  if (!str) return CUDA_ERROR_INVALID_VALUE;
  int i = find_error(error);
  *str = i < 0 ? NULL : errors[i].name;
  return i < 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** str) {
  if (!str) return CUDA_ERROR_INVALID_VALUE;
  int i = find_error(error);
  *str = i < 0 ? NULL : errors[i].text;
  return i < 0 ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int* version) {
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  *version = FAKE_DRIVER_VERSION;
  return CUDA_SUCCESS;
}

// cuGetProcAddress resolves "cuMemAlloc" to the newest exported variant (cuMemAlloc_v2), else
// the plain name. As measured on driver 580, an unknown name still returns CUDA_SUCCESS, with
// *pfn = NULL and symbolStatus 1 (CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND); found: 0.
static void* lookup(const char* symbol) {
  Dl_info info;
  if (!symbol || !dladdr((void*)cuDriverGetVersion, &info) || !info.dli_fname) return NULL;
  void* self = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!self) return NULL;
  char v2[256];
  snprintf(v2, sizeof v2, "%s_v2", symbol);
  void* fn = dlsym(self, v2);
  if (!fn) fn = dlsym(self, symbol);
  dlclose(self);
  return fn;
}

EXPORT CUresult cuGetProcAddress_v2(const char* symbol, void** pfn, int cudaVersion,
                                    unsigned long long flags, int* symbolStatus) {
  (void)cudaVersion, (void)flags;
  if (!pfn) return CUDA_ERROR_INVALID_VALUE;
  *pfn = lookup(symbol);
  if (symbolStatus) *symbolStatus = *pfn ? 0 : 1;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion,
                                 unsigned long long flags) {
  return cuGetProcAddress_v2(symbol, pfn, cudaVersion, flags, NULL);
}
