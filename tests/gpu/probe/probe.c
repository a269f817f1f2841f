// One-off probe of the driver's checkpoint API behaviour (kept for reference: tests/gpu/README.md).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*fn_state)(int, int*);
typedef int (*fn_args)(int, void*);
typedef int (*fn_init)(unsigned);
typedef int (*fn_name)(int, const char**);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char** argv) {
  double t0 = now();
  void* h = dlopen("libcuda.so.1", RTLD_NOW);
  double t1 = now();
  if (!h) { printf("dlopen failed: %s\n", dlerror()); return 1; }
  fn_state get = (fn_state)dlsym(h, "cuCheckpointProcessGetState");
  fn_args lock = (fn_args)dlsym(h, "cuCheckpointProcessLock");
  fn_args ckpt = (fn_args)dlsym(h, "cuCheckpointProcessCheckpoint");
  fn_args rest = (fn_args)dlsym(h, "cuCheckpointProcessRestore");
  fn_args unl = (fn_args)dlsym(h, "cuCheckpointProcessUnlock");
  fn_state tid = (fn_state)dlsym(h, "cuCheckpointProcessGetRestoreThreadId");
  fn_name ename = (fn_name)dlsym(h, "cuGetErrorName");
  fn_init init = (fn_init)dlsym(h, "cuInit");
  printf("dlopen %.3f ms\n", (t1 - t0) * 1e3);
  for (int i = 1; i < argc; i += 2) {
    const char* op = argv[i];
    int pid = atoi(argv[i + 1]);
    unsigned char args[64]; memset(args, 0, 64);
    int st = -1, r = -1;
    double a = now();
    if (!strcmp(op, "init")) r = init(0);
    else if (!strcmp(op, "state")) r = get(pid, &st);
    else if (!strcmp(op, "lock")) { *(unsigned*)args = 3000; r = lock(pid, args); }
    else if (!strcmp(op, "ckpt")) r = ckpt(pid, args);
    else if (!strcmp(op, "restore")) r = rest(pid, args);
    else if (!strcmp(op, "unlock")) r = unl(pid, args);
    else if (!strcmp(op, "tid")) r = tid(pid, &st);
    const char* n = "?"; if (ename) ename(r, &n);
    printf("%s %d -> %d (%s) out=%d  %.3f ms\n", op, pid, r, n, st, (now() - a) * 1e3);
  }
  return 0;
}
