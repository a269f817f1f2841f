// A stand-in for NVIDIA's cuda-checkpoint command-line tool, with the same flags, built on the
// fake libcuda.so.1 (loaded with dlopen, as the real tool loads the driver). It prints nothing on
// success (except the state or tid it was asked for), an error on stderr and exits 1 on failure.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_abi.h"
#include "fakecuda.h"

static const char usage[] =
    "usage: cuda-checkpoint OPERATION --pid PID [OPTIONS]\n"
    "Fake CUDA checkpoint utility for gpucr's tests (same flags as NVIDIA's tool).\n"
    "\n"
    "Operations:\n"
    "  --get-state                  print the CUDA checkpoint state of PID\n"
    "                               (running, locked, checkpointed or failed)\n"
    "  --action ACTION              lock | checkpoint | restore | unlock PID\n"
    "  --toggle                     running -> checkpointed (lock + checkpoint), or\n"
    "                               checkpointed -> running (restore + unlock)\n"
    "  --get-restore-tid            print the tid of PID's CUDA restore thread\n"
    "\n"
    "Options:\n"
    "  --pid, -p PID                the process to act on\n"
    "  --timeout, -t MS             lock timeout in milliseconds (lock, toggle)\n"
    "  --device-map OLD=NEW,...     GPU UUID pairs for restore (every GPU, one-to-one)\n"
    "  --help, -h                   show this text\n";

static struct {
  void* lib;
  cu_init_fn init;
  cu_get_state_fn get_state;
  cu_get_tid_fn get_tid;
  cu_args_fn lock, checkpoint, restore, unlock;
  cu_error_fn error_name;
} cu;

static void* sym(const char* name) {
  void* p = dlsym(cu.lib, name);
  if (!p) {  // a driver without the public checkpoint API: use the fake's private entry points
    char priv[128];
    snprintf(priv, sizeof priv, "fakecuda_%s", name);
    p = dlsym(cu.lib, priv);
  }
  return p;
}

static int load(void) {
  cu.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!cu.lib) {
    fprintf(stderr, "cuda-checkpoint: cannot load libcuda.so.1: %s\n", dlerror());
    return -1;
  }
  cu.init = (cu_init_fn)sym("cuInit");
  cu.get_state = (cu_get_state_fn)sym("cuCheckpointProcessGetState");
  cu.get_tid = (cu_get_tid_fn)sym("cuCheckpointProcessGetRestoreThreadId");
  cu.lock = (cu_args_fn)sym("cuCheckpointProcessLock");
  cu.checkpoint = (cu_args_fn)sym("cuCheckpointProcessCheckpoint");
  cu.restore = (cu_args_fn)sym("cuCheckpointProcessRestore");
  cu.unlock = (cu_args_fn)sym("cuCheckpointProcessUnlock");
  cu.error_name = (cu_error_fn)sym("cuGetErrorName");
  if (!cu.init || !cu.get_state || !cu.get_tid || !cu.lock || !cu.checkpoint || !cu.restore ||
      !cu.unlock || !cu.error_name) {
    fprintf(stderr, "cuda-checkpoint: the driver does not support checkpointing\n");
    return -1;
  }
  return 0;
}

static int check(CUresult r, const char* what, int pid) {
  if (r == CUDA_SUCCESS) return 0;
  const char* name = NULL;
  cu.error_name(r, &name);
  fprintf(stderr, "cuda-checkpoint: %s of pid %d failed: %s (%d)\n", what, pid,
          name ? name : "unknown error", r);
  return -1;
}

// "OLD=NEW,OLD=NEW" with GPU UUIDs ("GPU-" prefix optional).
static int parse_map(const char* text, CUcheckpointGpuPair* pairs, unsigned* n) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", text);
  *n = 0;
  for (char *save, *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char* eq = strchr(item, '=');
    if (!eq || *n == 64) return -1;
    *eq = '\0';
    if (fc_uuid_parse(item, pairs[*n].oldUuid.bytes) != 0 ||
        fc_uuid_parse(eq + 1, pairs[*n].newUuid.bytes) != 0)
      return -1;
    (*n)++;
  }
  return *n ? 0 : -1;
}

typedef struct {
  const char* op;  // get-state | get-restore-tid | toggle | lock | checkpoint | restore | unlock
  int pid;
  unsigned timeout;
  const char* map;
} request;

static int do_restore(const request* rq) {
  CUcheckpointGpuPair pairs[64];
  CUcheckpointRestoreArgs args;
  memset(&args, 0, sizeof args);
  if (rq->map) {
    if (parse_map(rq->map, pairs, &args.gpuPairsCount) != 0) {
      fprintf(stderr, "cuda-checkpoint: bad --device-map '%s' (want OLD=NEW,... GPU UUIDs)\n", rq->map);
      return -1;
    }
    args.gpuPairs = pairs;
  }
  cu.init(0);  // the driver wants cuInit before a restore; its own errors show below
  return check(cu.restore(rq->pid, &args), "restore", rq->pid);
}

static int run(const request* rq) {
  CUcheckpointLockArgs lock = {.timeoutMs = rq->timeout};
  CUcheckpointCheckpointArgs none;
  memset(&none, 0, sizeof none);
  int v = 0, pid = rq->pid;
  const char* op = rq->op;
  if (strcmp(op, "get-state") == 0) {
    static const char* const names[] = {"running", "locked", "checkpointed", "failed"};
    if (check(cu.get_state(pid, &v), "get-state", pid)) return -1;
    printf("%s\n", v >= 0 && v <= 3 ? names[v] : "unknown");
    return 0;
  }
  if (strcmp(op, "get-restore-tid") == 0) {
    if (check(cu.get_tid(pid, &v), "get-restore-tid", pid)) return -1;
    printf("%d\n", v);
    return 0;
  }
  if (strcmp(op, "lock") == 0) return check(cu.lock(pid, &lock), "lock", pid);
  if (strcmp(op, "checkpoint") == 0) return check(cu.checkpoint(pid, &none), "checkpoint", pid);
  if (strcmp(op, "restore") == 0) return do_restore(rq);
  if (strcmp(op, "unlock") == 0) return check(cu.unlock(pid, &none), "unlock", pid);
  // toggle
  if (check(cu.get_state(pid, &v), "get-state", pid)) return -1;
  if (v == CU_PROCESS_STATE_RUNNING)
    return check(cu.lock(pid, &lock), "lock", pid) || check(cu.checkpoint(pid, &none), "checkpoint", pid) ? -1 : 0;
  if (v == CU_PROCESS_STATE_CHECKPOINTED)
    return do_restore(rq) || check(cu.unlock(pid, &none), "unlock", pid) ? -1 : 0;
  return check(CUDA_ERROR_ILLEGAL_STATE, "toggle", pid);
}

static int bad(const char* msg, const char* arg) {
  fprintf(stderr, "cuda-checkpoint: %s%s\n%s", msg, arg ? arg : "", usage);
  return 1;
}

int main(int argc, char** argv) {
  request rq = {0};
  int ops = 0;
  for (int i = 1; i < argc; i++) {
    char* a = argv[i];
    char* val = strchr(a, '=');
    if (val && strncmp(a, "--", 2) == 0) *val++ = '\0';
    int takes = !strcmp(a, "--action") || !strcmp(a, "--pid") || !strcmp(a, "-p") ||
                !strcmp(a, "--timeout") || !strcmp(a, "-t") || !strcmp(a, "--device-map");
    if (takes && !val) {
      if (i + 1 >= argc) return bad("missing value for ", a);
      val = argv[++i];
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (!strcmp(a, "--get-state") || !strcmp(a, "--get-restore-tid") || !strcmp(a, "--toggle")) {
      rq.op = a + 2, ops++;
    } else if (!strcmp(a, "--action")) {
      if (strcmp(val, "lock") && strcmp(val, "checkpoint") && strcmp(val, "restore") && strcmp(val, "unlock"))
        return bad("unknown action ", val);
      rq.op = val, ops++;
    } else if (!strcmp(a, "--pid") || !strcmp(a, "-p")) {
      rq.pid = atoi(val);
    } else if (!strcmp(a, "--timeout") || !strcmp(a, "-t")) {
      rq.timeout = (unsigned)strtoul(val, NULL, 10);
    } else if (!strcmp(a, "--device-map")) {
      rq.map = val;
    } else {
      return bad("unknown argument ", a);
    }
  }
  if (ops != 1) return bad("give exactly one operation", NULL);
  if (rq.pid <= 0) return bad("missing or bad --pid", NULL);
  if (rq.map && strcmp(rq.op, "restore") && strcmp(rq.op, "toggle"))
    return bad("--device-map goes with --action restore or --toggle", NULL);
  if (load() != 0) return 1;
  return run(&rq) == 0 ? 0 : 1;
}
