// Probe workload: allocates MiB of device memory, optionally forks a child without exec.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <cuda_runtime.h>
__global__ void fill(unsigned* p, size_t n) { size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; if (i < n) p[i] = (unsigned)i * 2654435761u; }
int main(int argc, char** argv) {
  size_t mib = argc > 1 ? atoi(argv[1]) : 64;
  unsigned* d; size_t n = mib << 18;
  cudaMalloc(&d, n * 4); fill<<<(n + 255) / 256, 256>>>(d, n); cudaDeviceSynchronize();
  if (argc > 2) { pid_t k = fork(); if (k == 0) { for (;;) pause(); } printf("child %d\n", k); }
  printf("ready %d\n", getpid()); fflush(stdout);
  for (;;) { sleep(1); }
}
