#include "demo/cuda_device.hpp"

#include "demo/cuda_kernels.hpp"

#include <dlfcn.h>

namespace gpucr::demo {

struct CudaDevice::Api {
  int (*init)(unsigned);
  int (*device_get)(int*, int);
  int (*primary_retain)(void**, int);
  int (*ctx_set_current)(void*);
  int (*module_load_data)(void**, const void*);
  int (*module_get_function)(void**, void*, const char*);
  int (*mem_alloc)(std::uint64_t*, size_t);
  int (*memset_d32)(std::uint64_t, unsigned, size_t);
  int (*launch)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**, void**);
  int (*synchronize)();
  int (*memcpy_dtoh)(void*, std::uint64_t, size_t);
};

namespace {

template <class F>
bool bind(void* h, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(h, name));
  return out != nullptr;
}

Status check(int r, const char* what) {
  if (r == 0) return {};
  return fail(Error(std::string("CUDA demo workload: ") + what + " failed with CUresult " + std::to_string(r)));
}

constexpr unsigned kBlocks = 1024, kThreads = 256;
constexpr std::uint32_t kSeed = 0x5eed1234;

}  // namespace

Result<CudaDevice> CudaDevice::open(std::uint64_t bytes) {
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return fail(Error("CUDA demo workload: cannot load libcuda.so.1", Exit::missing_dependency));
  auto* a = new Api{};
  bool ok = bind(h, "cuInit", a->init) && bind(h, "cuDeviceGet", a->device_get) &&
            bind(h, "cuDevicePrimaryCtxRetain", a->primary_retain) && bind(h, "cuCtxSetCurrent", a->ctx_set_current) &&
            bind(h, "cuModuleLoadData", a->module_load_data) &&
            bind(h, "cuModuleGetFunction", a->module_get_function) && bind(h, "cuMemAlloc_v2", a->mem_alloc) &&
            bind(h, "cuMemsetD32_v2", a->memset_d32) && bind(h, "cuLaunchKernel", a->launch) &&
            bind(h, "cuCtxSynchronize", a->synchronize) && bind(h, "cuMemcpyDtoH_v2", a->memcpy_dtoh);
  if (!ok) return fail(Error("CUDA demo workload: libcuda.so.1 lacks driver API functions", Exit::missing_dependency));
  CudaDevice d;
  d.api_ = a;
  d.bytes_ = bytes & ~std::uint64_t{3};
  int dev = 0;
  void* ctx = nullptr;
  void* mod = nullptr;
  GPUCR_TRY(check(a->init(0), "cuInit"));
  GPUCR_TRY(check(a->device_get(&dev, 0), "cuDeviceGet"));
  GPUCR_TRY(check(a->primary_retain(&ctx, dev), "cuDevicePrimaryCtxRetain"));
  GPUCR_TRY(check(a->ctx_set_current(ctx), "cuCtxSetCurrent"));
  GPUCR_TRY(check(a->module_load_data(&mod, kDemoPtx), "cuModuleLoadData (PTX)"));
  GPUCR_TRY(check(a->module_get_function(&d.fill_, mod, "fill"), "cuModuleGetFunction(fill)"));
  GPUCR_TRY(check(a->module_get_function(&d.verify_, mod, "verify"), "cuModuleGetFunction(verify)"));
  GPUCR_TRY(check(a->module_get_function(&d.bump_, mod, "bump"), "cuModuleGetFunction(bump)"));
  GPUCR_TRY(check(a->mem_alloc(&d.buf_, d.bytes_), "cuMemAlloc (pattern)"));
  GPUCR_TRY(check(a->mem_alloc(&d.counter_, 4), "cuMemAlloc (counter)"));
  GPUCR_TRY(check(a->mem_alloc(&d.bad_, 4), "cuMemAlloc (error count)"));
  GPUCR_TRY(check(a->memset_d32(d.counter_, 0, 1), "cuMemsetD32"));
  std::uint64_t words = d.bytes_ / 4;
  std::uint32_t seed = kSeed;
  void* params[] = {&d.buf_, &words, &seed};
  GPUCR_TRY(check(a->launch(d.fill_, kBlocks, 1, 1, kThreads, 1, 1, 0, nullptr, params, nullptr), "fill kernel"));
  GPUCR_TRY(check(a->synchronize(), "cuCtxSynchronize"));
  return d;
}

Result<std::uint64_t> CudaDevice::step(std::uint32_t expected) {
  Api& a = *api_;
  std::uint64_t words = bytes_ / 4;
  std::uint32_t seed = kSeed;
  void* bump_params[] = {&counter_};
  void* verify_params[] = {&buf_, &words, &seed, &bad_};
  GPUCR_TRY(check(a.memset_d32(bad_, 0, 1), "cuMemsetD32"));
  GPUCR_TRY(check(a.launch(bump_, 1, 1, 1, 1, 1, 1, 0, nullptr, bump_params, nullptr), "bump kernel"));
  GPUCR_TRY(check(a.launch(verify_, kBlocks, 1, 1, kThreads, 1, 1, 0, nullptr, verify_params, nullptr), "verify kernel"));
  GPUCR_TRY(check(a.synchronize(), "cuCtxSynchronize"));
  std::uint32_t counter = 0, bad = 0;
  GPUCR_TRY(check(a.memcpy_dtoh(&counter, counter_, 4), "cuMemcpyDtoH"));
  GPUCR_TRY(check(a.memcpy_dtoh(&bad, bad_, 4), "cuMemcpyDtoH"));
  return std::uint64_t{bad} + (counter == expected ? 0 : 1);
}

}  // namespace gpucr::demo
