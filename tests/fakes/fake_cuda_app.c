// A CUDA workload for tests without a GPU: it dlopens libcuda.so.1 like a CUDA application,
// calls cuInit, allocates --mib N of device memory, fills it with a pattern, then every
// --interval-ms (50): cuCtxSynchronize (which blocks while the process is locked or
// checkpointed), counter++, verifies every word of the pattern, and rewrites --status FILE
// atomically (FILE.tmp + rename) with
//   counter=N corrupt=C pid=P state=running|locked|checkpointed|failed|none gpu=UUID|none err=E
// (pid = getpid() in its own namespace; gpu = the GPU its device 0 is on now, so a remap shows;
// err = the last CUresult of a failed call, 0 if none).
// Options:
//   --children N   fork N non-CUDA children first (before libcuda is loaded); each counts and
//                  writes FILE.child<i> "counter=N pid=P"
//   --fork-child   after cuInit, fork a child that never execs: it holds the fake driver's fds
//                  but has no CUDA context; it counts and writes FILE.forkchild
//   --no-init      load libcuda.so.1 but never call cuInit
//   --claim-mib N  also claim N MiB of device memory not backed by host memory (fake-only:
//                  NVML reports it, nothing checks it)
//   --lib PATH     dlopen PATH instead of libcuda.so.1
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cuda_abi.h"

#define CHUNK (1u << 20)

static struct {
  CUresult (*init)(unsigned);
  CUresult (*device_get)(CUdevice*, int);
  CUresult (*ctx_retain)(CUcontext*, CUdevice);
  CUresult (*ctx_set)(CUcontext);
  CUresult (*sync)(void);
  CUresult (*alloc)(CUdeviceptr*, size_t);
  CUresult (*htod)(CUdeviceptr, const void*, size_t);
  CUresult (*dtoh)(void*, CUdeviceptr, size_t);
  CUresult (*uuid)(CUuuid*, CUdevice);
  int (*self_state)(void);  // fake-only; may be missing
  CUresult (*claim)(unsigned long long);  // fake-only; may be missing
} cu;

static const char* status_path;
static long interval_ms = 50;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void write_status(const char* path, const char* text) {
  if (!path) return;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) return;
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

// A counting process with no CUDA: FILE<suffix> gets "counter=N pid=P".
static void count_forever(const char* suffix) {
  char path[4200], line[128];
  snprintf(path, sizeof path, "%s%s", status_path ? status_path : "", suffix);
  for (unsigned long n = 1;; n++) {
    sleep_ms(interval_ms);
    snprintf(line, sizeof line, "counter=%lu pid=%d\n", n, (int)getpid());
    write_status(status_path ? path : NULL, line);
  }
}

static uint32_t pattern(size_t word) { return (uint32_t)(word * 2654435761u) ^ 0x5eed1234u; }

static CUresult fill(CUdeviceptr mem, size_t bytes, uint32_t* buf) {
  for (size_t off = 0; off < bytes; off += CHUNK) {
    size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    for (size_t i = 0; i < n / 4; i++) buf[i] = pattern(off / 4 + i);
    CUresult r = cu.htod(mem + off, buf, n);
    if (r) return r;
  }
  return CUDA_SUCCESS;
}

static CUresult verify(CUdeviceptr mem, size_t bytes, uint32_t* buf, unsigned long* corrupt) {
  *corrupt = 0;
  for (size_t off = 0; off < bytes; off += CHUNK) {
    size_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    CUresult r = cu.dtoh(buf, mem + off, n);
    if (r) return r;
    for (size_t i = 0; i < n / 4; i++) *corrupt += buf[i] != pattern(off / 4 + i);
  }
  return CUDA_SUCCESS;
}

static int load(const char* lib) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "fake_cuda_app: %s\n", dlerror());
    return -1;
  }
#define LOAD(field, name) \
  if (!(*(void**)&cu.field = dlsym(h, name))) return fprintf(stderr, "missing %s\n", name), -1
  LOAD(init, "cuInit");
  LOAD(device_get, "cuDeviceGet");
  LOAD(ctx_retain, "cuDevicePrimaryCtxRetain");
  LOAD(ctx_set, "cuCtxSetCurrent");
  LOAD(sync, "cuCtxSynchronize");
  LOAD(alloc, "cuMemAlloc_v2");
  LOAD(htod, "cuMemcpyHtoD_v2");
  LOAD(dtoh, "cuMemcpyDtoH_v2");
  LOAD(uuid, "cuDeviceGetUuid");
#undef LOAD
  *(void**)&cu.self_state = dlsym(h, "fakecuda_self_state");
  *(void**)&cu.claim = dlsym(h, "fakecuda_claim_device_memory");
  return 0;
}

static void status_line(char* out, size_t n, unsigned long counter, unsigned long corrupt, int err,
                        int inited) {
  static const char* const names[] = {"running", "locked", "checkpointed", "failed"};
  char gpu[64] = "none";
  const char* state = "none";
  CUuuid u;
  if (inited && cu.uuid(&u, 0) == CUDA_SUCCESS) {
    char* p = gpu + sprintf(gpu, "GPU-");
    for (int i = 0; i < 16; i++) p += sprintf(p, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u.bytes[i]);
  }
  int s = inited && cu.self_state ? cu.self_state() : -1;
  if (s >= 0 && s <= 3) state = names[s];
  snprintf(out, n, "counter=%lu corrupt=%lu pid=%d state=%s gpu=%s err=%d\n", counter, corrupt,
           (int)getpid(), state, gpu, err);
}

int main(int argc, char** argv) {
  unsigned long mib = 0, children = 0, claim_mib = 0;
  int fork_child = 0, no_init = 0;
  const char* lib = "libcuda.so.1";
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--fork-child")) fork_child = 1;
    else if (!strcmp(a, "--no-init")) no_init = 1;
    else if (v && !strcmp(a, "--mib")) mib = strtoul(argv[++i], NULL, 10);
    else if (v && !strcmp(a, "--status")) status_path = argv[++i];
    else if (v && !strcmp(a, "--interval-ms")) interval_ms = strtol(argv[++i], NULL, 10);
    else if (v && !strcmp(a, "--children")) children = strtoul(argv[++i], NULL, 10);
    else if (v && !strcmp(a, "--claim-mib")) claim_mib = strtoul(argv[++i], NULL, 10);
    else if (v && !strcmp(a, "--lib")) lib = argv[++i];
    else {
      fprintf(stderr, "usage: fake_cuda_app [--mib N] [--status FILE] [--interval-ms MS] "
                      "[--children N] [--fork-child] [--no-init] [--claim-mib N] [--lib PATH]\n");
      return 2;
    }
  }
  for (unsigned long c = 0; c < children; c++) {
    if (fork() == 0) {
      char suffix[32];
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      snprintf(suffix, sizeof suffix, ".child%lu", c);
      count_forever(suffix);
    }
  }
  if (load(lib) != 0) return 1;
  CUdeviceptr mem = 0;
  CUcontext ctx;
  CUdevice dev;
  size_t bytes = mib << 20;
  uint32_t* buf = malloc(CHUNK);
  int err = 0;
  if (!no_init) {
    CUresult r = cu.init(0);
    if (!r) r = cu.device_get(&dev, 0);
    if (!r) r = cu.ctx_retain(&ctx, dev);
    if (!r) r = cu.ctx_set(ctx);
    if (!r && bytes) r = cu.alloc(&mem, bytes);
    if (!r && bytes) r = fill(mem, bytes, buf);
    if (!r && claim_mib) r = cu.claim ? cu.claim((unsigned long long)claim_mib << 20) : CUDA_ERROR_NOT_SUPPORTED;
    if (r) {
      fprintf(stderr, "fake_cuda_app: CUDA setup failed: %d\n", r);
      return 1;
    }
  }
  if (fork_child && fork() == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    count_forever(".forkchild");
  }
  unsigned long corrupt = 0;
  char line[512];
  for (unsigned long counter = 1;; counter++) {
    sleep_ms(interval_ms);
    if (!no_init) {
      CUresult r = cu.sync();
      if (!r && bytes) r = verify(mem, bytes, buf, &corrupt);
      if (r) err = r;
    }
    status_line(line, sizeof line, counter, corrupt, err, !no_init);
    write_status(status_path, line);
  }
}
