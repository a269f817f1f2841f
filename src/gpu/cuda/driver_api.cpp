#include "gpu/cuda/driver_api.hpp"

#include "util/strings.hpp"

#include <dlfcn.h>

#include <cstring>

namespace gpucr::cuda {

namespace {

// gpucr's own layouts of the 64-byte argument structs; every unused byte stays zero.
struct LockArgs {
  unsigned timeout_ms = 0;
  unsigned reserved0 = 0;
  std::uint64_t reserved1[7] = {};
};
struct PlainArgs {
  std::uint64_t reserved[8] = {};
};
struct RawPair {
  std::uint8_t old_gpu[16];
  std::uint8_t new_gpu[16];
};
struct RestoreArgs {
  RawPair* pairs = nullptr;
  unsigned count = 0;
  unsigned char reserved[52] = {};
};
static_assert(sizeof(LockArgs) == 64 && sizeof(PlainArgs) == 64 && sizeof(RestoreArgs) == 64);
static_assert(sizeof(RawPair) == 32);

template <class F>
F sym(void* h, const char* name, std::vector<std::string>& missing) {
  void* p = ::dlsym(h, name);
  if (!p) missing.push_back(name);
  return reinterpret_cast<F>(p);
}

}  // namespace

Result<DriverApi> DriverApi::load() {
  DriverApi api;
  api.handle_ = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!api.handle_) {
    const char* why = ::dlerror();
    return fail(Error(std::string("cannot load libcuda.so.1: ") + (why ? why : "not found"), Exit::missing_dependency)
                    .with_hint("install the NVIDIA driver (>= 570), or use --cuda-backend tool with cuda-checkpoint"));
  }
  std::vector<std::string> missing;
  api.init_ = sym<InitFn>(api.handle_, "cuInit", missing);
  api.get_state_ = sym<StateFn>(api.handle_, "cuCheckpointProcessGetState", missing);
  api.restore_tid_ = sym<StateFn>(api.handle_, "cuCheckpointProcessGetRestoreThreadId", missing);
  api.lock_ = sym<ArgsFn>(api.handle_, "cuCheckpointProcessLock", missing);
  api.checkpoint_ = sym<ArgsFn>(api.handle_, "cuCheckpointProcessCheckpoint", missing);
  api.restore_ = sym<ArgsFn>(api.handle_, "cuCheckpointProcessRestore", missing);
  api.unlock_ = sym<ArgsFn>(api.handle_, "cuCheckpointProcessUnlock", missing);
  std::vector<std::string> optional;
  api.version_ = sym<VersionFn>(api.handle_, "cuDriverGetVersion", optional);
  api.error_name_ = sym<NameFn>(api.handle_, "cuGetErrorName", optional);
  if (!missing.empty()) {
    return fail(Error("libcuda.so.1 lacks the checkpoint API (" + join(missing, ", ") + ")", Exit::missing_dependency)
                    .with_hint("update the NVIDIA driver to >= 570, or use --cuda-backend tool with cuda-checkpoint"));
  }
  return api;
}

int DriverApi::init() { return init_(0); }

int DriverApi::get_state(int pid, State& out) {
  int s = -1;
  int r = get_state_(pid, &s);
  if (r == cu::success) out = static_cast<State>(s);
  return r;
}

int DriverApi::restore_thread_id(int pid, int& tid) { return restore_tid_(pid, &tid); }

int DriverApi::lock(int pid, unsigned timeout_ms) {
  LockArgs a;
  a.timeout_ms = timeout_ms;
  return lock_(pid, &a);
}

int DriverApi::checkpoint(int pid) {
  PlainArgs a;
  return checkpoint_(pid, &a);
}

int DriverApi::restore(int pid, const std::vector<GpuPair>& pairs) {
  std::vector<RawPair> raw(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::memcpy(raw[i].old_gpu, pairs[i].old_gpu.bytes.data(), 16);
    std::memcpy(raw[i].new_gpu, pairs[i].new_gpu.bytes.data(), 16);
  }
  RestoreArgs a;
  if (!raw.empty()) {
    a.pairs = raw.data();
    a.count = static_cast<unsigned>(raw.size());
  }
  return restore_(pid, &a);
}

int DriverApi::unlock(int pid) {
  PlainArgs a;
  return unlock_(pid, &a);
}

int DriverApi::driver_version(int& out) { return version_ ? version_(&out) : cu::not_supported; }

std::string DriverApi::error_name(int code) {
  const char* name = nullptr;
  if (error_name_ && error_name_(code, &name) == cu::success && name) return name;
  return "CUDA_ERROR_" + std::to_string(code);
}

}  // namespace gpucr::cuda
