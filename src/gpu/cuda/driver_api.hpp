// The CUDA driver's checkpoint API, called in-process. Only the `gpucr __cuda-call` helper uses
// this (one call per helper process, so gpucr can kill a call that hangs: the real driver blocks
// indefinitely on a frozen process). libcuda.so.1 is loaded at run time and its symbols resolved
// at run time; the argument structs are gpucr's own 64-byte zeroed layouts (the toolkit header's
// restore struct changed inside its 64 bytes across CUDA 13.x: only the first two fields matter).
#pragma once

#include "gpu/cuda/types.hpp"

#include <utility>
#include <vector>

namespace gpucr::cuda {

struct GpuPair {
  Uuid old_gpu;
  Uuid new_gpu;
};

class DriverApi {
 public:
  // dlopen("libcuda.so.1") and resolve the checkpoint API; the error lists missing symbols.
  static Result<DriverApi> load();

  int init();
  int get_state(int pid, State& out);
  int restore_thread_id(int pid, int& tid);
  int lock(int pid, unsigned timeout_ms);
  int checkpoint(int pid);
  int restore(int pid, const std::vector<GpuPair>& pairs);
  int unlock(int pid);
  int driver_version(int& out);
  // cuGetErrorName, or "CUDA_ERROR_<code>".
  std::string error_name(int code);

 private:
  using StateFn = int (*)(int, int*);
  using ArgsFn = int (*)(int, void*);
  using InitFn = int (*)(unsigned);
  using VersionFn = int (*)(int*);
  using NameFn = int (*)(int, const char**);
  void* handle_ = nullptr;
  InitFn init_ = nullptr;
  StateFn get_state_ = nullptr;
  StateFn restore_tid_ = nullptr;
  ArgsFn lock_ = nullptr;
  ArgsFn checkpoint_ = nullptr;
  ArgsFn restore_ = nullptr;
  ArgsFn unlock_ = nullptr;
  VersionFn version_ = nullptr;
  NameFn error_name_ = nullptr;
};

}  // namespace gpucr::cuda
