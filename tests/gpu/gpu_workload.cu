// GPU test workload: holds GIB GiB of patterned device memory and a device counter; every step
// (about 100 ms) it bumps the counter on the device, checks EVERY word of the pattern on the
// device, reads both back and compares the counter with its own host-side count. It rewrites
// STATUS atomically with
//   counter=N corrupt=C pid=P gpu=UUID bytes=B
// corrupt counts bad words plus device-counter mismatches since start (must stay 0); gpu is the
// UUID of the GPU it runs on now (a --device-map restore moves it).
//
// usage: gpu_workload --gib G --status FILE [--spawn K] [--idle-child]
//   --spawn K: fork+exec K copies (status FILE.0 .. FILE.K-1) and wait: a tree of K CUDA
//              processes under one non-CUDA parent.
//   --idle-child: also keep a non-CUDA child that just sleeps (forked before CUDA starts).
#include <cuda.h>
#include <cuda_runtime.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

__device__ __forceinline__ unsigned pattern(unsigned long long i) {
  return (unsigned)i * 0x9E3779B1u ^ 0x5eed1234u ^ (unsigned)(i >> 32);
}

__global__ void fill(unsigned* p, unsigned long long n) {
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
       i += (unsigned long long)gridDim.x * blockDim.x)
    p[i] = pattern(i);
}

__global__ void verify(const unsigned* p, unsigned long long n, unsigned long long* bad) {
  unsigned long long local = 0;
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
       i += (unsigned long long)gridDim.x * blockDim.x)
    local += p[i] != pattern(i);
  if (local) atomicAdd(bad, local);
}

__global__ void bump(unsigned long long* counter) { *counter += 1; }

#define CHECK(x)                                                                   \
  do {                                                                             \
    cudaError_t e = (x);                                                           \
    if (e != cudaSuccess) {                                                        \
      fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e)); \
      exit(3);                                                                     \
    }                                                                              \
  } while (0)

// Asked of the driver at every step (not cached by the runtime): shows a --device-map move when
// the driver reports the new GPU.
static std::string uuid_of_current() {
  CUdevice dev = 0;
  CUuuid id{};
  if (cuCtxGetDevice(&dev) != CUDA_SUCCESS || cuDeviceGetUuid(&id, dev) != CUDA_SUCCESS) return "unknown";
  char buf[64];
  const unsigned char* u = (const unsigned char*)id.bytes;
  snprintf(buf, sizeof buf, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
           u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return buf;
}

static int spawn(int argc, char** argv, int k, const char* status) {
  std::vector<pid_t> kids;
  for (int i = 0; i < k; ++i) {
    pid_t p = fork();
    if (p == 0) {
      std::vector<char*> args;
      std::string st = std::string(status) + "." + std::to_string(i);
      for (int a = 0; a < argc; ++a) {
        if (!strcmp(argv[a], "--spawn")) { ++a; continue; }
        if (!strcmp(argv[a], "--status")) { args.push_back(argv[a]); args.push_back(strdup(st.c_str())); ++a; continue; }
        args.push_back(argv[a]);
      }
      args.push_back(nullptr);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execv("/proc/self/exe", args.data());
      _exit(127);
    }
    kids.push_back(p);
  }
  int ws;
  while (wait(&ws) > 0) {
  }
  return 0;
}

int main(int argc, char** argv) {
  double gib = 1;
  const char* status = nullptr;
  int k = 0;
  bool idle_child = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--gib") && i + 1 < argc) gib = atof(argv[++i]);
    else if (!strcmp(argv[i], "--status") && i + 1 < argc) status = argv[++i];
    else if (!strcmp(argv[i], "--spawn") && i + 1 < argc) k = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--idle-child")) idle_child = true;
  }
  if (!status) {
    fprintf(stderr, "usage: %s --gib G --status FILE [--spawn K] [--idle-child]\n", argv[0]);
    return 2;
  }
  if (k > 0) return spawn(argc, argv, k, status);
  if (idle_child && fork() == 0) {  // before any CUDA call: a plain non-CUDA process
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) pause();
  }
  unsigned long long n = (unsigned long long)(gib * (1ull << 30)) / 4;
  unsigned *buf;
  unsigned long long *counter, *bad;
  CHECK(cudaMalloc(&buf, n * 4));
  CHECK(cudaMalloc(&counter, 8));
  CHECK(cudaMalloc(&bad, 8));
  CHECK(cudaMemset(counter, 0, 8));
  fill<<<4096, 256>>>(buf, n);
  CHECK(cudaDeviceSynchronize());
  unsigned long long host_count = 0, corrupt = 0;
  std::string tmp = std::string(status) + ".tmp";
  for (;;) {
    ++host_count;
    CHECK(cudaMemset(bad, 0, 8));
    bump<<<1, 1>>>(counter);
    verify<<<4096, 256>>>(buf, n, bad);
    CHECK(cudaDeviceSynchronize());
    unsigned long long dev_count = 0, dev_bad = 0;
    CHECK(cudaMemcpy(&dev_count, counter, 8, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(&dev_bad, bad, 8, cudaMemcpyDeviceToHost));
    corrupt += dev_bad + (dev_count != host_count);
    FILE* f = fopen(tmp.c_str(), "w");
    if (f) {
      fprintf(f, "counter=%llu corrupt=%llu pid=%d gpu=%s bytes=%llu\n", host_count, corrupt, getpid(),
              uuid_of_current().c_str(), n * 4);
      fclose(f);
      rename(tmp.c_str(), status);
    }
    usleep(100000);
  }
}
