// The slice of NVIDIA's driver ABI (cuda.h, CUDA 13.0) that the fake libcuda.so.1 implements,
// written from the documented layouts: CUresult is an int, handles are opaque, the checkpoint
// argument structs are 64 bytes each and must be zeroed apart from the named fields.
// Used by the fake library, the fake cuda-checkpoint tool and the fake workload.
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st* CUcontext;
typedef struct {
  unsigned char bytes[16];
} CUuuid;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_OPERATING_SYSTEM = 304,
  CUDA_ERROR_ILLEGAL_STATE = 401,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_NOT_SUPPORTED = 801,
  CUDA_ERROR_TIMEOUT = 909,
  CUDA_ERROR_UNKNOWN = 999,
};

// CUprocessState
enum {
  CU_PROCESS_STATE_RUNNING = 0,
  CU_PROCESS_STATE_LOCKED = 1,
  CU_PROCESS_STATE_CHECKPOINTED = 2,
  CU_PROCESS_STATE_FAILED = 3,
};

typedef struct {
  unsigned int timeoutMs;  // 0: no timeout
  unsigned int reserved0;
  uint64_t reserved1[7];
} CUcheckpointLockArgs;

typedef struct {
  uint64_t reserved[8];
} CUcheckpointCheckpointArgs, CUcheckpointUnlockArgs;

typedef struct {
  CUuuid oldUuid;
  CUuuid newUuid;
} CUcheckpointGpuPair;

typedef struct {
  CUcheckpointGpuPair* gpuPairs;  // offset 0
  unsigned int gpuPairsCount;     // offset 8
  char reserved[44];
  uint64_t reserved1;
} CUcheckpointRestoreArgs;

_Static_assert(sizeof(CUcheckpointLockArgs) == 64, "lock args are 64 bytes");
_Static_assert(sizeof(CUcheckpointCheckpointArgs) == 64, "checkpoint args are 64 bytes");
_Static_assert(sizeof(CUcheckpointRestoreArgs) == 64, "restore args are 64 bytes");
_Static_assert(offsetof(CUcheckpointRestoreArgs, gpuPairsCount) == 8, "count at offset 8");
_Static_assert(sizeof(CUcheckpointGpuPair) == 32, "a pair is two UUIDs");

typedef CUresult (*cu_get_state_fn)(int pid, int* state);
typedef CUresult (*cu_get_tid_fn)(int pid, int* tid);
typedef CUresult (*cu_args_fn)(int pid, void* args);
typedef CUresult (*cu_init_fn)(unsigned int flags);
typedef CUresult (*cu_error_fn)(CUresult error, const char** str);
