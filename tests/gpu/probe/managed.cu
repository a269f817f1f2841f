// Probe: does a process using managed memory (cudaMallocManaged) look different in /proc/PID/maps
// or fds from one that does not? Prints its pid and waits.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <cuda_runtime.h>
int main(int argc, char** argv) {
  void* p;
  if (argc > 1) cudaMallocManaged(&p, 256 << 20); else cudaMalloc(&p, 256 << 20);
  cudaMemset(p, 1, 256 << 20); cudaDeviceSynchronize();
  printf("ready %d\n", getpid()); fflush(stdout);
  for (;;) sleep(1);
}
